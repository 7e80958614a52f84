//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package store

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
)

// lockWaitBlocks: a held lock is waited for in the kernel, which hands it
// over the moment its holder lets go.
const lockWaitBlocks = true

// lockContext takes an exclusive flock(2) on path, waiting until ctx is done.
//
// A free lock is taken with one non-blocking call. A held one is waited for
// by a blocking flock in a goroutine, so the caller wakes when the holder
// releases it (unlock, close or exit), not at the next poll. If ctx ends
// first the caller returns ctx's error at once and abandons the goroutine:
// it stays blocked until the lock is free, then releases whatever it got
// and closes the descriptor, so an abandoned wait never keeps the lock.
func lockContext(ctx context.Context, path string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// O_CLOEXEC (os.OpenFile's default) keeps the descriptor, and so the
	// lock, out of any process coda starts.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, filePerm)
	if err != nil {
		return nil, err
	}
	err = flockFile(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return releaseFunc(f), nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		_ = f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}

	noteLockWait(path)
	got := make(chan error, 1)
	go func() { got <- flockFile(f, syscall.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			_ = f.Close()
			return nil, &os.PathError{Op: "flock", Path: path, Err: err}
		}
		return releaseFunc(f), nil
	case <-ctx.Done():
		go func() {
			if <-got == nil {
				_ = flockFile(f, syscall.LOCK_UN)
			}
			_ = f.Close() // also drops the lock if the unlock failed
			noteLockAbandoned(path)
		}()
		return nil, ctx.Err()
	}
}

// releaseFunc unlocks and closes f. OnceFunc: unlock may be deferred and
// also called early.
func releaseFunc(f *os.File) func() {
	return sync.OnceFunc(func() {
		_ = flockFile(f, syscall.LOCK_UN)
		_ = f.Close()
	})
}

// flockFile runs flock(2) on f's descriptor; f stays open while it runs.
func flockFile(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
