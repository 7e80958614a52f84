package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const secret = "dapi0123456789abcdefSECRET"

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func sampleProfile() *Profile {
	return &Profile{
		Host:         "https://adb-1.azuredatabricks.net",
		User:         "me@example.com",
		Token:        secret,
		TokenID:      "tok-1",
		CreatedAt:    t0,
		ExpiresAt:    t0.Add(time.Hour),
		LastRotation: t0.Add(-time.Hour),
		Pending: []Pending{{
			TokenID: "tok-0", DeleteAfter: t0.Add(5 * time.Minute), ExpiresAt: t0.Add(30 * time.Minute),
			Attempts: 2, LastError: "HTTP 503",
		}},
		Settings: map[string]string{"cluster": "abc"},
	}
}

func mustUpdate(t *testing.T, s Store, fn func(*State) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// tempFiles lists leftover atomic-write temp files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, d := range []string{dir, filepath.Join(dir, locksDirName)} {
		entries, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				out = append(out, filepath.Join(d, e.Name()))
			}
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(dir)
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = sampleProfile()
		st.Profiles["b-other"] = &Profile{Host: "https://h2", User: "u2"}
		return nil
	})

	// A second instance reads the same data.
	got, err := NewFileStore(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != fileOnlyVersion {
		t.Errorf("version = %d", got.Version)
	}
	if want := sampleProfile(); !reflect.DeepEqual(got.Profile("default"), want) {
		t.Errorf("profile mismatch:\n got %#v\nwant %#v", *got.Profile("default"), *want)
	}
	if got.Profile("missing") != nil {
		t.Error("Profile(missing) should be nil")
	}
	if names := got.ProfileNames(); !reflect.DeepEqual(names, []string{"b-other", "default"}) {
		t.Errorf("names = %v", names)
	}

	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(raw, []byte("}\n")) {
		t.Error("file should end with a newline")
	}
	if !bytes.Contains(raw, []byte("\n  \"version\": 2,\n")) {
		t.Errorf("file is not indented as expected:\n%s", raw)
	}
	// Zero LastRotation is omitted; empty pending/settings are omitted.
	if n := bytes.Count(raw, []byte(`"last_rotation"`)); n != 1 {
		t.Errorf("last_rotation appears %d times, want 1", n)
	}

	// Stable output: rewriting the same state gives the same bytes.
	mustUpdate(t, s, func(*State) error { return nil })
	raw2, _ := os.ReadFile(s.Path())
	if !bytes.Equal(raw, raw2) {
		t.Error("rewrite changed bytes")
	}
}

func TestLoadMissingFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	st, err := NewFileStore(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != FormatVersion || st.InstallationID != "" || st.Profiles == nil || len(st.Profiles) != 0 {
		t.Errorf("unexpected empty state %+v", st)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Error("Load must not create the dir")
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows: mode bits say nothing about access there (ACLs do), so coda leaves them")
	}
	tests := []struct {
		name    string
		prepare func(dir string) // nil: dir does not exist yet
	}{
		{"created", nil},
		{"tightens 0755", func(dir string) { mkdirMode(dir, 0o755) }},
		{"tightens 0705", func(dir string) { mkdirMode(dir, 0o705) }},
		{"keeps 0700", func(dir string) { mkdirMode(dir, 0o700) }},
		// Dirs others can write are refused (TestRefusesDirsOthersCanWrite).
		{"tightens locks dir and file", func(dir string) {
			mkdirMode(dir, 0o750)
			mkdirMode(filepath.Join(dir, locksDirName), 0o755)
			_ = os.WriteFile(filepath.Join(dir, FileName), []byte(`{"version":1,"profiles":{}}`), 0o644)
			_ = os.Chmod(filepath.Join(dir, FileName), 0o644)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cfg")
			if tc.prepare != nil {
				tc.prepare(dir)
			}
			s := NewFileStore(dir)
			var tmpPerm fs.FileMode
			var tmpDir string
			s.beforeRename = func(tmp string) error {
				tmpPerm = perm(t, tmp)
				tmpDir = filepath.Dir(tmp)
				return nil
			}
			mustUpdate(t, s, func(st *State) error {
				st.Profiles["default"] = sampleProfile()
				return nil
			})
			unlock, err := s.LockProfile(context.Background(), "default")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			release, err := s.AcquireWatcher("default")
			if err != nil {
				t.Fatal(err)
			}
			defer release()

			checks := []struct {
				path string
				want fs.FileMode
			}{
				{dir, 0o700},
				{filepath.Join(dir, locksDirName), 0o700},
				{s.Path(), 0o600},
				{filepath.Join(dir, locksDirName, "store.lock"), 0o600},
				{filepath.Join(dir, locksDirName, "profile-default.lock"), 0o600},
				{filepath.Join(dir, locksDirName, "watch-default.lock"), 0o600},
				{filepath.Join(dir, locksDirName, "watch-default.pid"), 0o600},
			}
			for _, c := range checks {
				if got := perm(t, c.path); got != c.want {
					t.Errorf("%s: mode %o, want %o", c.path, got, c.want)
				}
			}
			if tmpPerm != 0o600 {
				t.Errorf("temp file mode %o, want 600", tmpPerm)
			}
			if tmpDir != dir && tmpDir != filepath.Join(dir, locksDirName) {
				t.Errorf("temp file in %s, want same dir as target", tmpDir)
			}
		})
	}
}

func mkdirMode(dir string, mode fs.FileMode) {
	_ = os.MkdirAll(dir, mode)
	_ = os.Chmod(dir, mode) // bypass umask
}

func TestAtomicWriteNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(dir)
	for i := range 5 {
		mustUpdate(t, s, func(st *State) error {
			st.Profiles["p"+strconv.Itoa(i)] = sampleProfile()
			return nil
		})
	}
	release, err := s.AcquireWatcher("p1")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

func TestFailedWriteRemovesTempAndKeepsFile(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(dir)
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = sampleProfile()
		return nil
	})
	before, _ := os.ReadFile(s.Path())

	boom := errors.New("injected failure before rename")
	var sawTemp string
	s.beforeRename = func(tmp string) error { sawTemp = tmp; return boom }
	err := s.Update(context.Background(), func(st *State) error {
		st.Profiles["default"].Token = "new"
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want injected failure", err)
	}
	if sawTemp == "" {
		t.Fatal("hook not called")
	}
	if _, err := os.Stat(sawTemp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp file %s not removed", sawTemp)
	}
	after, _ := os.ReadFile(s.Path())
	if !bytes.Equal(before, after) {
		t.Error("credentials file changed after failed write")
	}
}

func TestUpdateFnErrorWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(dir)
	boom := errors.New("fn failed")
	err := s.Update(context.Background(), func(st *State) error {
		st.Profiles["x"] = sampleProfile()
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(s.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Error("file written despite fn error")
	}
}

func TestUnchangedUpdateSkipsWrite(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(dir)
	mustUpdate(t, s, func(st *State) error { st.Profiles["a"] = sampleProfile(); return nil })
	fi1, _ := os.Stat(s.Path())
	mustUpdate(t, s, func(*State) error { return nil })
	fi2, _ := os.Stat(s.Path())
	if !os.SameFile(fi1, fi2) {
		t.Error("no-op Update replaced the file")
	}
}

func TestBadFilesAreNeverOverwritten(t *testing.T) {
	tests := []struct {
		name        string
		content     string
		wantVersion int // >0: expect VersionError with this version; else CorruptError
		detail      string
	}{
		{"garbage", "this is not json", 0, "invalid JSON"},
		{"empty", "", 0, "file is empty"},
		{"whitespace", " \n", 0, "file is empty"},
		{"truncated", `{"version":1,"profiles":{"a":{"token":"x`, 0, "invalid JSON"},
		{"trailing data", `{"version":1,"profiles":{}} {}`, 0, "invalid JSON"},
		{"not an object", `[1,2]`, 0, "wrong JSON type"},
		{"null", `null`, 0, "no format version"},
		{"no version", `{"profiles":{}}`, 0, "no format version"},
		{"version zero", `{"version":0,"profiles":{}}`, 0, "invalid format version 0"},
		{"version string", `{"version":"1"}`, 0, "field version has the wrong type"},
		{"bad timestamp", `{"version":1,"profiles":{"a":{"expires_at":"soon"}}}`, 0, "invalid timestamp"},
		{"wrong type", `{"version":1,"profiles":{"a":{"attempts":1,"pending":[{"attempts":"x"}]}}}`, 0, "wrong type"},
		{"future", `{"version":4,"profiles":{}}`, 4, ""},
		{"future other shape", `{"version":7,"profiles":["new","layout"]}`, 7, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := NewFileStore(dir)
			if err := os.WriteFile(s.Path(), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			fi1, _ := os.Stat(s.Path())

			check := func(op string, err error) {
				t.Helper()
				msg := fmt.Sprint(err)
				if tc.wantVersion > 0 {
					var ve *VersionError
					if !errors.As(err, &ve) || ve.Version != tc.wantVersion || ve.Path != s.Path() {
						t.Fatalf("%s: err = %v, want VersionError %d", op, err, tc.wantVersion)
					}
					want := fmt.Sprintf("credentials file %s has format version %d, newer than this coda understands (%d); upgrade coda", s.Path(), tc.wantVersion, FormatVersion)
					if msg != want {
						t.Errorf("%s: message\n got %q\nwant %q", op, msg, want)
					}
					return
				}
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Path != s.Path() {
					t.Fatalf("%s: err = %v, want CorruptError", op, err)
				}
				want := fmt.Sprintf("credentials file %s is corrupt (", s.Path())
				if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "); move it aside and run coda login") ||
					!strings.Contains(msg, tc.detail) || strings.Contains(msg, "\n") {
					t.Errorf("%s: message %q", op, msg)
				}
			}

			_, err := s.Load()
			check("Load", err)

			called := false
			err = s.Update(context.Background(), func(st *State) error {
				called = true
				st.Profiles["x"] = sampleProfile()
				return nil
			})
			check("Update", err)
			if called {
				t.Error("fn ran on a bad file")
			}
			after, _ := os.ReadFile(s.Path())
			if string(after) != tc.content {
				t.Error("file bytes changed")
			}
			fi2, _ := os.Stat(s.Path())
			if !os.SameFile(fi1, fi2) || !fi1.ModTime().Equal(fi2.ModTime()) {
				t.Error("file was replaced or touched")
			}
			if left := tempFiles(t, dir); len(left) != 0 {
				t.Errorf("temp files: %v", left)
			}
		})
	}
}

func TestUnknownFieldsTolerated(t *testing.T) {
	s := NewFileStore(t.TempDir())
	content := `{"version":1,"installation_id":"00112233aabbccdd","future_top":{"x":1},
	  "profiles":{"a":{"host":"h","token":"t","future_field":[1,2],"expires_at":"2025-03-04T05:06:07Z"},"gone":null}}`
	if err := os.WriteFile(s.Path(), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if p := st.Profile("a"); p == nil || p.Host != "h" || !p.ExpiresAt.Equal(t0) {
		t.Errorf("profile a = %v", p)
	}
	if _, ok := st.Profiles["gone"]; ok {
		t.Error("null profile should be dropped")
	}
	mustUpdate(t, s, func(*State) error { return nil })
}

func TestInstallationID(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(dir)
	var seen string
	mustUpdate(t, s, func(st *State) error { seen = st.InstallationID; return nil })
	if len(seen) != 16 {
		t.Fatalf("installation id %q: want 16 hex chars", seen)
	}
	if _, err := hex.DecodeString(seen); err != nil {
		t.Fatalf("installation id %q not hex", seen)
	}
	for range 3 {
		mustUpdate(t, NewFileStore(dir), func(st *State) error {
			if st.InstallationID != seen {
				t.Errorf("installation id changed: %q -> %q", seen, st.InstallationID)
			}
			st.Profiles["p"] = &Profile{Host: "h"}
			return nil
		})
	}
	st, _ := s.Load()
	if st.InstallationID != seen {
		t.Errorf("Load id %q, want %q", st.InstallationID, seen)
	}
	// Independent stores get different ids.
	var other string
	mustUpdate(t, NewFileStore(t.TempDir()), func(st *State) error { other = st.InstallationID; return nil })
	if other == seen {
		t.Error("two installations share an id")
	}
}

// incr adds one to the "n" counter in profile "c".
func incr(st *State) error {
	p := st.Profile("c")
	if p == nil {
		p = &Profile{Settings: map[string]string{}}
		st.Profiles["c"] = p
	}
	if p.Settings == nil {
		p.Settings = map[string]string{}
	}
	n, _ := strconv.Atoi(p.Settings["n"])
	p.Settings["n"] = strconv.Itoa(n + 1)
	return nil
}

func counter(t *testing.T, dir string) int {
	t.Helper()
	st, err := NewFileStore(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(st.Profile("c").Settings["n"])
	return n
}

func TestConcurrentUpdates(t *testing.T) {
	dir := t.TempDir()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			s := NewFileStore(dir) // separate instance: exclusion must come from flock
			for range each {
				if err := s.Update(context.Background(), incr); err != nil {
					errs <- err
				}
				// Unlocked readers must always see a complete file.
				if _, err := s.Load(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := counter(t, dir); got != workers*each {
		t.Errorf("counter = %d, want %d", got, workers*each)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temp files: %v", left)
	}
}

func TestLockProfile(t *testing.T) {
	dir := t.TempDir()
	a, b := NewFileStore(dir), NewFileStore(dir)
	unlock, err := a.LockProfile(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("excludes other store in same process", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := b.LockProfile(ctx, "default"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		// Same store, second caller: also excluded.
		ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel2()
		if _, err := a.LockProfile(ctx2, "default"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
	})

	t.Run("other profile is independent", func(t *testing.T) {
		u, err := b.LockProfile(context.Background(), "other")
		if err != nil {
			t.Fatal(err)
		}
		u()
	})

	t.Run("cancel stops the wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := b.LockProfile(ctx, "default")
			done <- err
		}()
		time.Sleep(60 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want canceled", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("LockProfile ignored cancellation")
		}
	})

	t.Run("waiter gets the lock after unlock", func(t *testing.T) {
		got := make(chan error, 1)
		go func() {
			u, err := b.LockProfile(context.Background(), "default")
			if err == nil {
				u()
			}
			got <- err
		}()
		time.Sleep(60 * time.Millisecond)
		unlock()
		unlock() // idempotent
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("waiter never got the lock")
		}
	})

	t.Run("invalid name", func(t *testing.T) {
		if _, err := a.LockProfile(context.Background(), "../x"); err == nil {
			t.Fatal("want error")
		}
	})
}

func TestUpdateHonoursCtxWhileLocked(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockContext(context.Background(), filepath.Join(ensureLocks(t, dir), storeLock))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	err = NewFileStore(dir).Update(ctx, func(*State) error {
		t.Error("fn ran without the lock")
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func ensureLocks(t *testing.T, dir string) string {
	t.Helper()
	if err := NewFileStore(dir).ensureDirs(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, locksDirName)
}

func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	a, b := NewFileStore(dir), NewFileStore(dir)

	if pid, running := b.WatcherPID("default"); running || pid != 0 {
		t.Fatalf("WatcherPID before start = %d, %v", pid, running)
	}
	if _, err := os.Stat(filepath.Join(dir, locksDirName)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("WatcherPID created files")
	}

	release, err := a.AcquireWatcher("default")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.AcquireWatcher("default")
	var we *WatcherRunningError
	if !errors.As(err, &we) || we.PID != os.Getpid() || we.Profile != "default" {
		t.Fatalf("second acquire: %v", err)
	}
	want := fmt.Sprintf("another coda rotate --watch (PID %d) is running for profile default", os.Getpid())
	if err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if pid, running := b.WatcherPID("default"); !running || pid != os.Getpid() {
		t.Errorf("WatcherPID = %d, %v", pid, running)
	}
	// Probing must not disturb the holder.
	if _, err := b.AcquireWatcher("default"); !errors.As(err, &we) {
		t.Errorf("after probe: %v", err)
	}
	if _, running := b.WatcherPID("other"); running {
		t.Error("other profile reported running")
	}
	r2, err := b.AcquireWatcher("other")
	if err != nil {
		t.Fatalf("other profile: %v", err)
	}
	r2()

	release()
	release() // idempotent
	if pid, running := b.WatcherPID("default"); running || pid != 0 {
		t.Errorf("after release WatcherPID = %d, %v", pid, running)
	}
	if _, err := os.Stat(filepath.Join(dir, locksDirName, "watch-default.pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("pid file left after release")
	}
	r3, err := b.AcquireWatcher("default")
	if err != nil {
		t.Fatalf("reacquire: %v", err)
	}
	r3()

	if _, err := a.AcquireWatcher("bad/name"); err == nil {
		t.Error("invalid name accepted")
	}
}

func TestWatcherRunningErrorUnknownPID(t *testing.T) {
	err := &WatcherRunningError{Profile: "p"}
	if got := err.Error(); got != "another coda rotate --watch (PID unknown) is running for profile p" {
		t.Error(got)
	}
}

// TestHelperProcess is not a real test: the cross-process tests re-exec the
// test binary into it.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("CODA_STORE_HELPER")
	if mode == "" {
		t.Skip("helper process only")
	}
	s := NewFileStore(os.Getenv("CODA_STORE_DIR"))
	switch mode {
	case "hold":
		unlock, err := s.LockProfile(context.Background(), "default")
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		release, err := s.AcquireWatcher("default")
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		fmt.Println("ready")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until parent closes stdin
		release()
		unlock()
	case "incr":
		n, _ := strconv.Atoi(os.Getenv("CODA_STORE_N"))
		for range n {
			if err := s.Update(context.Background(), incr); err != nil {
				fmt.Println("error:", err)
				os.Exit(2)
			}
		}
	}
	os.Exit(0)
}

func helper(t *testing.T, dir, mode string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), append([]string{"CODA_STORE_HELPER=" + mode, "CODA_STORE_DIR=" + dir}, extraEnv...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestCrossProcessUpdates(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	cmd := helper(t, dir, "incr", "CODA_STORE_N="+strconv.Itoa(n))
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := NewFileStore(dir)
	for range n {
		if err := s.Update(context.Background(), incr); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v: %s", err, out.String())
	}
	if got := counter(t, dir); got != 2*n {
		t.Errorf("counter = %d, want %d", got, 2*n)
	}
}

func TestCrossProcessLocks(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			dir := t.TempDir()
			cmd := helper(t, dir, "hold")
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "ready\n" {
				t.Fatalf("helper said %q, %v", line, err)
			}
			child := cmd.Process.Pid
			s := NewFileStore(dir)

			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if _, err := s.LockProfile(ctx, "default"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("LockProfile while child holds it: %v", err)
			}
			var we *WatcherRunningError
			if _, err := s.AcquireWatcher("default"); !errors.As(err, &we) || we.PID != child {
				t.Fatalf("AcquireWatcher: %v (child %d)", err, child)
			}
			if pid, running := s.WatcherPID("default"); !running || pid != child {
				t.Fatalf("WatcherPID = %d, %v (child %d)", pid, running, child)
			}

			if crash {
				// SIGKILL: the kernel drops the locks; a stale PID file remains.
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
			} else {
				_ = stdin.Close()
				if err := cmd.Wait(); err != nil {
					t.Fatalf("helper: %v", err)
				}
			}

			if _, running := s.WatcherPID("default"); running {
				t.Error("watcher still reported running after child exit")
			}
			ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel2()
			unlock, err := s.LockProfile(ctx2, "default")
			if err != nil {
				t.Fatalf("LockProfile after child exit: %v", err)
			}
			unlock()
			release, err := s.AcquireWatcher("default")
			if err != nil {
				t.Fatalf("AcquireWatcher after child exit: %v", err)
			}
			if pid, running := NewFileStore(dir).WatcherPID("default"); !running || pid != os.Getpid() {
				t.Errorf("WatcherPID = %d, %v, want our pid", pid, running)
			}
			release()
		})
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	p := sampleProfile()
	st := &State{Version: 1, Profiles: map[string]*Profile{"default": p}}

	t.Run("fmt", func(t *testing.T) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			for _, arg := range []any{p, *p, st, *st, []*Profile{p}} {
				if out := fmt.Sprintf(verb, arg); strings.Contains(out, secret) || strings.Contains(out, hex.EncodeToString([]byte(secret))) {
					t.Errorf("fmt %s of %T leaks the token: %s", verb, arg, out)
				}
			}
		}
		if out := p.String(); !strings.Contains(out, "<redacted>") || !strings.Contains(out, p.Host) {
			t.Errorf("String() = %s", out)
		}
	})

	t.Run("slog", func(t *testing.T) {
		var buf bytes.Buffer
		for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
			slog.New(h).Info("x", "profile", p, "value", *p)
		}
		if strings.Contains(buf.String(), secret) {
			t.Errorf("slog leaks the token: %s", buf.String())
		}
	})

	t.Run("corrupt file errors", func(t *testing.T) {
		contents := []string{
			`{"version":1,"profiles":{"a":{"token":"` + secret, // truncated
			`{"version":1,"profiles":{"a":{"token":` + secret + `}}}`,
			`{"version":1,"profiles":{"a":{"created_at":"` + secret + `"}}}`,
			`{"version":"` + secret + `"}`,
			`{"version":1,"profiles":{"a":{"pending":[{"attempts":"` + secret + `"}]}}}`,
			`{"version":1,"profiles":{"a":{"settings":{"k":["` + secret + `"]}}}}`,
			`{"version":1,"profiles":{"` + secret + `":{"pending":"` + secret + `"}}}`,
			secret,
		}
		for _, c := range contents {
			s := NewFileStore(t.TempDir())
			if err := os.WriteFile(s.Path(), []byte(c), 0o600); err != nil {
				t.Fatal(err)
			}
			_, lerr := s.Load()
			uerr := s.Update(context.Background(), func(*State) error { return nil })
			for _, err := range []error{lerr, uerr} {
				var ce *CorruptError
				if !errors.As(err, &ce) {
					t.Fatalf("%q: want CorruptError, got %v", c, err)
				}
				for e := error(err); e != nil; e = errors.Unwrap(e) {
					if strings.Contains(e.Error(), secret) {
						t.Errorf("error leaks the token: %s", e)
					}
				}
			}
		}
	})
}

func TestProfileHelpers(t *testing.T) {
	now := t0
	tests := []struct {
		name      string
		p         *Profile
		has, live bool
		remaining time.Duration
	}{
		{"nil", nil, false, false, 0},
		{"no token", &Profile{ExpiresAt: now.Add(time.Hour)}, false, false, 0},
		{"live", &Profile{Token: "t", ExpiresAt: now.Add(time.Hour)}, true, true, time.Hour},
		{"expires now", &Profile{Token: "t", ExpiresAt: now}, true, false, 0},
		{"expired", &Profile{Token: "t", ExpiresAt: now.Add(-time.Hour)}, true, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.HasToken(); got != tc.has {
				t.Errorf("HasToken = %v", got)
			}
			if got := tc.p.Live(now); got != tc.live {
				t.Errorf("Live = %v", got)
			}
			if got := tc.p.Remaining(now); got != tc.remaining {
				t.Errorf("Remaining = %v", got)
			}
		})
	}
	var nilState *State
	if nilState.Profile("x") != nil || len(nilState.ProfileNames()) != 0 {
		t.Error("nil State helpers")
	}
}

func TestValidateProfileName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"a", true},
		{"Prod_1.eu-west", true},
		{"0", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{".hidden", false},
		{"-dash", false},
		{"_u", false},
		{"a/b", false},
		{"..", false},
		{"a b", false},
		{"naïve", false},
		{"a\n", false},
	}
	for _, tc := range tests {
		err := ValidateProfileName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateProfileName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "profile name") {
			t.Errorf("unclear message: %v", err)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	// Paths are built with filepath, so the table holds on every system;
	// goos picks the rule.
	appData := filepath.Join("C:", "Users", "u", "AppData", "Roaming")
	tests := []struct {
		name string
		goos string
		env  map[string]string
		want string // "" for an error
	}{
		{"coda wins", "linux", map[string]string{"CODA_CONFIG_DIR": "/c", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, filepath.Clean("/c")},
		{"coda cleaned", "linux", map[string]string{"CODA_CONFIG_DIR": "/c/d/../e/"}, filepath.Clean("/c/e")},
		{"xdg", "linux", map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, filepath.Join("/x", "coda")},
		{"relative xdg ignored", "linux", map[string]string{"XDG_CONFIG_HOME": "rel", "HOME": "/h"}, filepath.Join("/h", ".config", "coda")},
		{"home", "darwin", map[string]string{"HOME": "/h"}, filepath.Join("/h", ".config", "coda")},
		{"empty values skipped", "linux", map[string]string{"CODA_CONFIG_DIR": "", "XDG_CONFIG_HOME": "", "HOME": "/h"}, filepath.Join("/h", ".config", "coda")},
		{"windows: coda wins", "windows", map[string]string{"CODA_CONFIG_DIR": "/c", "APPDATA": appData}, filepath.Clean("/c")},
		{"windows: AppData", "windows", map[string]string{"APPDATA": appData, "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, filepath.Join(appData, "coda")},
		{"windows: no AppData", "windows", map[string]string{"HOME": "/h"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := defaultDir(func(k string) string { return tc.env[k] }, tc.goos)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "CODA_CONFIG_DIR") {
					t.Errorf("defaultDir = %q, %v; want an error naming CODA_CONFIG_DIR", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("defaultDir = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	t.Run("falls back to UserHomeDir", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("Windows reads APPDATA, never the home dir")
		}
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skip("no home dir")
		}
		got, err := DefaultDir(func(string) string { return "" })
		if err != nil || got != filepath.Join(home, ".config", "coda") {
			t.Errorf("DefaultDir = %q, %v", got, err)
		}
	})
}

// A version 1 file (before tool records) is read, and its plugin list
// becomes tool records; the next write is version 2.
func TestReadsVersion1(t *testing.T) {
	dir := t.TempDir()
	v1 := `{"version":1,"installation_id":"00112233aabbccdd","profiles":{"default":{"host":"https://h","user":"u","token":"t","token_id":"i",
"created_at":"2025-03-04T05:06:07Z","expires_at":"2025-03-04T06:06:07Z","settings":{"setup.plugins":"claude,gemini","setup.endpoint":"serving"}}}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewFileStore(dir)
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	p := st.Profile("default")
	if len(p.Tools) != 2 || p.Tools[0].Plugin != "claude" || p.Tools[1].Plugin != "gemini" || p.Settings["setup.plugins"] != "" || p.Settings["setup.endpoint"] != "serving" {
		t.Fatalf("upgraded profile: tools %+v settings %v", p.Tools, p.Settings)
	}
	mustUpdate(t, s, func(*State) error { return nil })
	raw, _ := os.ReadFile(s.Path())
	if !bytes.Contains(raw, []byte(`"version": 2`)) || bytes.Contains(raw, []byte("setup.plugins")) {
		t.Errorf("rewritten file:\n%s", raw)
	}
}
