package configurator_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/coda-cli/coda/pkg/configurator"
)

// remove cleans up after coda and only after coda: a file it deletes
// keeps no .bak; directories it created for its files go once empty, up
// to the first that was there before; a directory holding something else,
// or one the user had, stays.
func TestWriteChangesCleansUpWhatCodaCreated(t *testing.T) {
	home := t.TempDir()
	env := configurator.Env{Home: home, StateDir: filepath.Join(t.TempDir(), "coda")}
	p := func(rel ...string) string { return filepath.Join(append([]string{home}, rel...)...) }
	// The user's own directory, empty, and a user file coda will change.
	if err := os.MkdirAll(p(".config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p(".toolrc"), []byte("user\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(changes ...configurator.Change) {
		t.Helper()
		if err := configurator.WriteChanges(env, configurator.Plan{Plugin: "t", Changes: changes}); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(path string) bool { _, err := os.Lstat(path); return err == nil }

	write(
		configurator.Change{Path: p(".config", "tool", "plugin", "a.js"), New: []byte("a\n")},
		configurator.Change{Path: p(".other", "deep", "b.json"), New: []byte("b\n"), Secret: true},
		configurator.Change{Path: p(".toolrc"), Old: []byte("user\n"), New: []byte("user\ncoda\n"), Backup: true},
		configurator.Change{Path: filepath.Join(env.StateDir, "env", "t.sh"), New: []byte("export X=1\n")},
	)
	if data, _ := os.ReadFile(p(".toolrc.bak")); string(data) != "user\n" {
		t.Errorf("the user's file got no .bak of its content: %q", data)
	}
	// The user drops a file of theirs into a directory coda created.
	if err := os.WriteFile(p(".other", "mine.txt"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	write(
		configurator.Change{Path: p(".config", "tool", "plugin", "a.js"), Old: []byte("a\n"), Backup: true},
		configurator.Change{Path: p(".other", "deep", "b.json"), Old: []byte("b\n"), Backup: true},
		configurator.Change{Path: p(".toolrc"), Old: []byte("user\ncoda\n"), New: []byte("user\n"), Backup: false},
		configurator.Change{Path: filepath.Join(env.StateDir, "env", "t.sh"), Old: []byte("export X=1\n")},
	)
	for path, want := range map[string]bool{
		p(".config", "tool", "plugin", "a.js.bak"): false, // coda's own content
		p(".other", "deep", "b.json.bak"):          false,
		p(".config", "tool"):                       false, // coda created it: gone once empty
		p(".config"):                               true,  // the user's, though empty
		p(".other", "deep"):                        false,
		p(".other"):                                true, // holds the user's file
		p(".toolrc.bak"):                           true,
		filepath.Join(env.StateDir, "env"):         false,
		env.StateDir:                               true, // coda's own dir is never removed
	} {
		if exists(path) != want {
			t.Errorf("%s exists: %v, want %v", path, !want, want)
		}
	}

	// Once the user's file is gone, the next remove in .other takes it.
	if err := os.Remove(p(".other", "mine.txt")); err != nil {
		t.Fatal(err)
	}
	write(configurator.Change{Path: p(".other", "c"), New: []byte("c")})
	write(configurator.Change{Path: p(".other", "c"), Old: []byte("c")})
	if exists(p(".other")) {
		t.Error(".other, which coda created, is left empty")
	}
	entries, _ := os.ReadDir(env.StateDir)
	for _, e := range entries {
		if e.Name() != "locks" {
			t.Errorf("coda's state dir keeps %s once everything is removed", e.Name())
		}
	}
}
