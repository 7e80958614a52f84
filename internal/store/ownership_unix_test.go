//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/coda-cli/coda/internal/store/ownercheck"
)

// nobody is the uid files are given to play another user's.
const nobody = 65534

// snapshot records every path under dir with its mode, owner and content,
// to show that a refused call changed nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		rec := fmt.Sprintf("%v uid=%d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rec += " " + string(data)
		}
		out[path] = rec
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// populated returns a config dir holding a profile, every lock file and a
// locks dir, all as a store leaves them.
func populated(t *testing.T) *FileStore {
	t.Helper()
	s := NewFileStore(filepath.Join(t.TempDir(), "coda"))
	mustUpdate(t, s, func(st *State) error { st.Profiles["default"] = sampleProfile(); return nil })
	unlock, err := s.LockProfile(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	release, err := s.AcquireWatcher("default")
	if err != nil {
		t.Fatal(err)
	}
	release()
	return s
}

// storeCalls are the store's doors, each run with intent to write (Update
// changes the token).
var storeCalls = map[string]func(s *FileStore) error{
	"Update": func(s *FileStore) error {
		return s.Update(context.Background(), func(st *State) error {
			st.Profiles["default"] = sampleProfile()
			st.Profiles["default"].Token = "dapiNEW"
			return nil
		})
	},
	"Load": func(s *FileStore) error { _, err := s.Load(); return err },
	"LockProfile": func(s *FileStore) error {
		unlock, err := s.LockProfile(context.Background(), "default")
		if err == nil {
			unlock()
		}
		return err
	},
	"AcquireWatcher": func(s *FileStore) error {
		release, err := s.AcquireWatcher("default")
		if err == nil {
			release()
		}
		return err
	},
}

// wantRefused checks that err is an *ownercheck.Error on one line that
// contains every part of want.
func wantRefused(t *testing.T, call string, err error, want ...string) {
	t.Helper()
	var oe *ownercheck.Error
	if !errors.As(err, &oe) {
		t.Errorf("%s: err = %v, want an *ownercheck.Error", call, err)
		return
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("%s: message is not one line: %q", call, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: message %q does not contain %q", call, msg, w)
		}
	}
	if strings.Contains(msg, secret) {
		t.Errorf("%s: message leaks the token", call)
	}
}

// A config or locks dir other users can write is refused, not chmod-ed: it
// may already hold their files. Nothing is written, created or chmod-ed.
func TestRefusesDirsOthersCanWrite(t *testing.T) {
	for _, mode := range []fs.FileMode{0o770, 0o777, 0o720, 0o702, 0o775, 0o777 | fs.ModeSticky} {
		t.Run(fmt.Sprintf("config dir %v", mode), func(t *testing.T) {
			s := populated(t)
			if err := os.Chmod(s.dir, mode); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, s.dir)
			for _, call := range []string{"Update", "LockProfile", "AcquireWatcher"} {
				wantRefused(t, call, storeCalls[call](s),
					"config dir "+s.dir+" is writable by other users",
					"; fix it with: chmod 700 "+s.dir)
			}
			if after := snapshot(t, s.dir); !maps.Equal(before, after) {
				t.Errorf("refused calls changed the store:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	t.Run("locks dir 0777", func(t *testing.T) {
		s := populated(t)
		if err := os.Chmod(s.locksDir(), 0o777); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, s.dir)
		for _, call := range []string{"Update", "LockProfile", "AcquireWatcher"} {
			wantRefused(t, call, storeCalls[call](s), "locks dir "+s.locksDir()+" is writable by other users",
				"chmod 700 "+s.locksDir())
		}
		if after := snapshot(t, s.dir); !maps.Equal(before, after) {
			t.Errorf("refused calls changed the store:\nbefore %v\nafter  %v", before, after)
		}
	})
	t.Run("empty config dir 0770", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "coda dir")
		mkdirMode(dir, 0o770)
		s := NewFileStore(dir)
		wantRefused(t, "Update", storeCalls["Update"](s), "chmod 700 '"+dir+"'")
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 0 {
			t.Errorf("refused Update created %v (err %v)", entries, err)
		}
		if got := perm(t, dir); got != 0o770 {
			t.Errorf("mode changed to %04o", got)
		}
	})
}

// A store another user owns is refused, like ssh refuses keys another user
// owns. Run as root, this is the `sudo -E coda ...` slip: today's code would
// re-own credentials.json to root and lock its owner's helpers out. The test
// needs root to give files away (to nobody); the non-root message is
// covered by package ownercheck's tests.
func TestRefusesAnotherUsersStore(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: giving files to another user needs root; run as root to test the ownership checks on real files")
	}
	locks := locksDirName
	storeLockFile := filepath.Join(locks, storeLock)
	profileLock := filepath.Join(locks, profileLockName("default"))
	watchLock := filepath.Join(locks, watchLockName("default"))
	for _, tc := range []struct {
		name    string
		chown   []string // relative to the config dir; "." is the dir
		named   string   // what the message names: "config dir" and
		rel     string   // its path relative to the config dir
		refused []string // the calls that must refuse
	}{
		{"whole store (sudo -E)", []string{".", locks, FileName, storeLockFile, profileLock, watchLock},
			"config dir", ".", []string{"Update", "LockProfile", "AcquireWatcher"}},
		{"whole store, read", []string{".", locks, FileName}, "credentials file", FileName, []string{"Load"}},
		{"config dir", []string{"."}, "config dir", ".", []string{"Update", "LockProfile", "AcquireWatcher"}},
		{"locks dir", []string{locks}, "coda's locks dir", locks, []string{"Update", "LockProfile", "AcquireWatcher"}},
		{"credentials file", []string{FileName}, "credentials file", FileName, []string{"Update", "Load"}},
		{"store lock", []string{storeLockFile}, "lock file", storeLockFile, []string{"Update"}},
		{"profile lock", []string{profileLock}, "lock file", profileLock, []string{"LockProfile"}},
		{"watcher lock", []string{watchLock}, "lock file", watchLock, []string{"AcquireWatcher"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := populated(t)
			for _, rel := range tc.chown {
				if err := os.Chown(filepath.Join(s.dir, rel), nobody, nobody); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, s.dir)
			for _, call := range tc.refused {
				wantRefused(t, call, storeCalls[call](s), fmt.Sprintf(
					"%s %s belongs to uid %d but coda is running as root; run coda as that user, not with sudo",
					tc.named, filepath.Join(s.dir, tc.rel), nobody))
			}
			if after := snapshot(t, s.dir); !maps.Equal(before, after) {
				t.Errorf("refused calls changed the store:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}
