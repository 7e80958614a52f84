package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/coda-cli/coda/internal/atomicfile"
	"github.com/coda-cli/coda/internal/store/ownercheck"
)

// Lock files are never removed: deleting a flock file while another process
// waits on its descriptor would let two holders believe they own the lock.
func profileLockName(profile string) string { return "profile-" + profile + ".lock" }
func watchLockName(profile string) string   { return "watch-" + profile + ".lock" }
func watchPIDName(profile string) string    { return "watch-" + profile + ".pid" }

// pidSettle bounds how long we wait for a fresh lock holder to write its PID.
// The watcher lock is also held for an instant by WatcherPID probes, which
// never write a PID; retrying briefly keeps such a probe from looking like a
// running watcher.
const (
	pidSettle     = 250 * time.Millisecond
	pidSettleStep = 10 * time.Millisecond
)

// lock takes the lock file name in the locks dir, waiting until ctx is done;
// its errors say they happened waiting for lockName. A lock file another
// user owns (left by a run as root) is refused: taking it would work for
// root only. That error is returned as it is, since it names the fix.
func (s *FileStore) lock(ctx context.Context, name, lockName string) (unlock func(), err error) {
	path := s.lockPath(name)
	if err := ownercheck.OwnedPath(lockFileWhat, path); err != nil {
		return nil, err
	}
	unlock, err = lockContext(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("waiting for %s: %w", lockName, err)
	}
	return unlock, nil
}

// LockProfile takes the per-profile operation lock, waiting until ctx is done.
func (s *FileStore) LockProfile(ctx context.Context, profile string) (unlock func(), err error) {
	if err := ValidateProfileName(profile); err != nil {
		return nil, err
	}
	if err := s.ensureDirs(); err != nil {
		return nil, err
	}
	return s.lock(ctx, profileLockName(profile), "the lock on profile "+profile)
}

// AcquireWatcher takes the profile's watcher lock without waiting, so only one
// `coda rotate --watch` runs per profile. If another holder has it, the error
// is a *WatcherRunningError carrying that holder's PID.
func (s *FileStore) AcquireWatcher(profile string) (release func(), err error) {
	if err := ValidateProfileName(profile); err != nil {
		return nil, err
	}
	if err := s.ensureDirs(); err != nil {
		return nil, err
	}
	path := s.lockPath(watchLockName(profile))
	if err := ownercheck.OwnedPath(lockFileWhat, path); err != nil {
		return nil, err
	}
	fl := flock.New(path, flock.SetPermissions(filePerm))
	deadline := time.Now().Add(pidSettle)
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("taking the watcher lock for profile %s: %w", profile, err)
		}
		if ok {
			break
		}
		pid := s.readWatcherPID(profile)
		if pid != 0 || !time.Now().Before(deadline) {
			return nil, &WatcherRunningError{Profile: profile, PID: pid}
		}
		time.Sleep(pidSettleStep)
	}

	// Holding the lock, no other write of the PID file can be in progress:
	// temp files of one are left over from a crash.
	_ = atomicfile.RemoveTemps(s.lockPath(watchPIDName(profile)))
	pidData := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := writeFileAtomic(s.locksDir(), watchPIDName(profile), pidData, s.beforeRename); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("recording watcher PID: %w", err)
	}
	return sync.OnceFunc(func() {
		// Remove the PID while still holding the lock, so no one reads it
		// after we are gone.
		_ = os.Remove(s.lockPath(watchPIDName(profile)))
		_ = fl.Unlock()
	}), nil
}

// WatcherPID reports whether some process holds the profile's watcher lock and,
// if so, the PID it recorded (0 if unknown). It never creates files.
func (s *FileStore) WatcherPID(profile string) (pid int, running bool) {
	if ValidateProfileName(profile) != nil {
		return 0, false
	}
	path := s.lockPath(watchLockName(profile))
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, false
	}
	// flock(2) has no "who holds it" query, so probe: if we can take the lock,
	// nobody held it. The probe is released at once.
	fl := flock.New(path, flock.SetPermissions(filePerm))
	ok, err := fl.TryLock()
	if err != nil {
		return 0, false
	}
	if ok {
		_ = fl.Unlock()
		return 0, false
	}
	deadline := time.Now().Add(pidSettle)
	for {
		pid = s.readWatcherPID(profile)
		if pid != 0 || !time.Now().Before(deadline) {
			return pid, true
		}
		time.Sleep(pidSettleStep)
		// The holder may have been another probe that has since let go.
		if ok, err := fl.TryLock(); err == nil && ok {
			_ = fl.Unlock()
			return 0, false
		}
	}
}

// readWatcherPID reads the PID sidecar; 0 if missing or unparsable.
func (s *FileStore) readWatcherPID(profile string) int {
	b, err := os.ReadFile(s.lockPath(watchPIDName(profile)))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
