package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	if err := Write(path, []byte("new"), 0o600, nil); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"f.json"}) {
		t.Errorf("dir holds %v", got)
	}
}

// The names RemoveTemps takes for leftovers are the names Write gives its
// temp files.
func TestRemoveTempsMatchesWritesTempNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	var tmp string
	err := Write(path, []byte("x"), 0o600, func(name string) error {
		tmp = name
		if err := RemoveTemps(path); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	// RemoveTemps removed the temp file under a Write in progress, which is
	// why callers must hold the target's lock: the rename then fails.
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Write after its temp file %s was removed: err = %v", tmp, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("target exists: %v", err)
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	files := map[string]bool{ // name: removed
		"credentials.json":                 false,
		".credentials.json.tmp-123":        true,
		".credentials.json.tmp-4294967295": true,
		".credentials.json.tmp-":           false,
		".credentials.json.tmp-12a":        false,
		".credentials.json.bak":            false,
		".other.json.tmp-123":              false, // another target's, maybe mid-write
		".credentials.json.tmp-1.tmp-2":    false,
		"credentials.json.tmp-123":         false,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("dapiSECRET"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A dir with a temp file's name is not a temp file.
	if err := os.Mkdir(filepath.Join(dir, ".credentials.json.tmp-9"), 0o700); err != nil {
		t.Fatal(err)
	}
	files[".credentials.json.tmp-9"] = false

	if err := RemoveTemps(path); err != nil {
		t.Fatal(err)
	}
	got := names(t, dir)
	for name, removed := range files {
		if slices.Contains(got, name) == removed {
			t.Errorf("%s: removed = %v, want %v", name, !removed, removed)
		}
	}

	if err := RemoveTemps(filepath.Join(dir, "missing-dir", "f")); err != nil {
		t.Errorf("missing dir: %v", err)
	}
}
