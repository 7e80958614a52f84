package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26\n",
		// syscall.Kill exists on Unix only, and this test file is
		// built everywhere: only the Windows check must fail.
		"kill_test.go": "package m\n\nimport \"syscall\"\n\nvar _ = syscall.Kill\n",
		"m.go":         "package m\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		goos, goarch string
		fails        bool
	}{
		{"darwin", "arm64", false},
		{"windows", "arm64", true},
	} {
		err := check(dir, tt.goos, tt.goarch)
		if (err != nil) != tt.fails {
			t.Errorf("check %s/%s = %v, want failure %v", tt.goos, tt.goarch, err, tt.fails)
		}
	}
}
