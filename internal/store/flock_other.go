//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package store

import (
	"context"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// lockWaitBlocks: without flock(2) a held lock is polled for.
const lockWaitBlocks = false

// pollInterval is how often a held lock is retried where there is no
// flock(2) to block in.
const pollInterval = 25 * time.Millisecond

// lockContext takes an exclusive lock on path, polling until ctx is done.
func lockContext(ctx context.Context, path string) (unlock func(), err error) {
	fl := flock.New(path, flock.SetPermissions(filePerm))
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ok, err := fl.TryLock()
		if err != nil {
			return nil, err
		}
		if ok {
			// OnceFunc: unlock may be deferred and also called early.
			return sync.OnceFunc(func() { _ = fl.Unlock() }), nil
		}
		noteLockWait(path)
		select {
		case <-ctx.Done():
			noteLockAbandoned(path) // nothing is left waiting
			return nil, ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}
