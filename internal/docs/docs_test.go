package docs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFilesAreCurrent fails when completions/ or man/ no longer
// match the command tree.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join("..", "..")
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(repo, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run go run ./cmd/gen-docs", name)
		}
	}
	for _, dir := range []string{"man", "completions"} {
		entries, _ := os.ReadDir(filepath.Join(repo, dir))
		for _, e := range entries {
			if _, ok := files[dir+"/"+e.Name()]; !ok {
				t.Errorf("%s/%s is not generated any more: delete it", dir, e.Name())
			}
		}
	}
	if _, ok := files["man/coda-rotate.1"]; !ok {
		t.Error("no man page for coda rotate")
	}
	// zsh autoloads the file named after the #compdef function: the
	// packages install completions/_coda as site-functions/_coda.
	if !bytes.HasPrefix(files["completions/_coda"], []byte("#compdef coda")) {
		t.Error("completions/_coda is not the zsh completion (#compdef coda)")
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	if !strings.Contains(string(a["man/coda.1"]), ".SH EXIT STATUS") {
		t.Error("coda.1 does not document the exit codes")
	}
}
