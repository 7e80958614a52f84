//go:build unix

package ownercheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// playing makes the checks run as uid for the rest of the test.
func playing(t *testing.T, uid int) {
	t.Helper()
	old := geteuid
	geteuid = func() int { return uid }
	t.Cleanup(func() { geteuid = old })
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func wantMessage(t *testing.T, err error, want string) {
	t.Helper()
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if got := err.Error(); got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
}

func TestOwned(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	me := os.Geteuid()

	t.Run("own files pass", func(t *testing.T) {
		for _, p := range []string{dir, file} {
			if err := Owned("x", p, stat(t, p)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	})

	// The files are the real user's; playing another (non-root) user makes
	// them another user's files.
	t.Run("another user's", func(t *testing.T) {
		other := me + 1000
		playing(t, other)
		wantMessage(t, Owned("credentials file", file, stat(t, file)), fmt.Sprintf(
			"credentials file %s belongs to uid %d, not to you (uid %d); use one of your own, or take it over with: sudo chown %d %s",
			file, me, other, other, file))
		wantMessage(t, Owned("config dir", dir, stat(t, dir)), fmt.Sprintf(
			"config dir %s belongs to uid %d, not to you (uid %d); use one of your own, or take it over with: sudo chown -R %d %s",
			dir, me, other, other, dir))
	})

	// Root over a user's files (sudo -E): the fix is to run as the owner.
	t.Run("root over a user's", func(t *testing.T) {
		owner := me
		if me == 0 {
			owner = 65534
			if err := os.Chown(file, owner, owner); err != nil {
				t.Fatal(err)
			}
		} else {
			playing(t, 0)
		}
		wantMessage(t, Owned("credentials file", file, stat(t, file)), fmt.Sprintf(
			"credentials file %s belongs to uid %d but coda is running as root; run coda as that user, not with sudo",
			file, owner))
	})
}

func TestOwnedPath(t *testing.T) {
	dir := t.TempDir()
	if err := OwnedPath("lock file", filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing path: %v", err)
	}
	if err := OwnedPath("lock file", filepath.Join(dir, "missing", "x")); err != nil {
		t.Errorf("path under a missing dir: %v", err)
	}
	if err := OwnedPath("lock file", dir); err != nil {
		t.Errorf("own dir: %v", err)
	}
	playing(t, os.Geteuid()+1)
	var oe *Error
	if err := OwnedPath("lock file", dir); !errors.As(err, &oe) {
		t.Errorf("another user's dir: err = %v", err)
	}
}

func TestUnshared(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my dir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The path has a space, so the fix quotes it for the shell.
	for _, tc := range []struct {
		what, path string
		mode       os.FileMode
		want       string // "" passes
	}{
		{"config dir", dir, 0o700, ""},
		{"config dir", dir, 0o755, ""}, // readable only: the caller's business
		{"config dir", dir, 0o500, ""},
		{"config dir", dir, 0o770, "config dir " + dir + " is writable by other users (mode 0770); fix it with: chmod 700 '" + dir + "'"},
		{"config dir", dir, 0o702, "config dir " + dir + " is writable by other users (mode 0702); fix it with: chmod 700 '" + dir + "'"},
		{"file", file, 0o644, ""},
		{"file", file, 0o666, "file " + file + " is writable by other users (mode 0666); fix it with: chmod 600 '" + file + "'"},
	} {
		if err := os.Chmod(tc.path, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := Unshared(tc.what, tc.path, stat(t, tc.path))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s %04o: %v", tc.path, tc.mode, err)
			}
			continue
		}
		wantMessage(t, err, tc.want)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Another user's dir is refused for its owner first.
	playing(t, os.Geteuid()+1)
	if err := Unshared("d", dir, stat(t, dir)); err == nil || !strings.Contains(err.Error(), "belongs to uid") {
		t.Errorf("another user's dir: err = %v", err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/home/me/.config/coda": "/home/me/.config/coda",
		"/a b":                  "'/a b'",
		"/it's":                 `'/it'\''s'`,
		"~/x":                   "'~/x'",
		"/x/$HOME":              "'/x/$HOME'",
		"":                      "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
