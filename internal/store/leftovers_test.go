package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A writer killed between creating its temp file and renaming it leaves a
// whole credentials file behind under a hidden name; the next Update, which
// holds the lock every writer holds, removes it.
func TestUpdateRemovesLeftoverTemps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, s *FileStore)
		fn      func(*State) error
	}{
		{"first write", nil, func(st *State) error { st.Profiles["default"] = sampleProfile(); return nil }},
		{"no-op update", func(t *testing.T, s *FileStore) {
			mustUpdate(t, s, func(st *State) error { st.Profiles["default"] = sampleProfile(); return nil })
		}, func(*State) error { return nil }},
		{"failed update", nil, func(*State) error { return errors.New("fn failed") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := NewFileStore(dir)
			if tc.prepare != nil {
				tc.prepare(t, s)
			}
			leftovers := []string{".credentials.json.tmp-123", ".credentials.json.tmp-4294967295"}
			kept := []string{
				".credentials.json.tmp-notdigits", // not a name Write gives
				".settings.yaml.tmp-77",           // another target's, maybe mid-write
				".credentials.json.tmp-",
			}
			for _, name := range append(append([]string{}, leftovers...), kept...) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(`{"version":2,"profiles":{"default":{"token":"`+secret+`"}}}`), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_ = s.Update(context.Background(), tc.fn)
			for _, name := range leftovers {
				if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("leftover %s still there (err %v)", name, err)
				}
			}
			for _, name := range kept {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Errorf("%s, not a leftover of credentials.json, was removed: %v", name, err)
				}
			}
		})
	}
}

// Load takes no lock, so it must not remove anything: a temp file may be a
// concurrent Update's.
func TestLoadLeavesTemps(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".credentials.json.tmp-123")
	if err := os.WriteFile(tmp, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileStore(dir).Load(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Errorf("Load removed a temp file: %v", err)
	}
}

func TestAcquireWatcherRemovesLeftoverPIDTemps(t *testing.T) {
	dir := t.TempDir()
	locks := ensureLocks(t, dir)
	tmp := filepath.Join(locks, ".watch-default.pid.tmp-42")
	other := filepath.Join(locks, ".watch-other.pid.tmp-42")
	for _, p := range []string{tmp, other} {
		if err := os.WriteFile(p, []byte("1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	release, err := NewFileStore(dir).AcquireWatcher("default")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("leftover %s still there (err %v)", tmp, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another profile's temp file was removed: %v", err)
	}
}
