package store

import "sync/atomic"

// The store's locks are flock(2) locks on files in the locks dir, the same
// kind gofrs/flock takes, so coda versions old and new exclude each other.
//
// lockContext (flock_unix.go; flock_other.go where there is no flock(2))
// takes one exclusively, waiting until ctx is done. Every call opens its own
// descriptor, so callers in the same process exclude each other just like
// separate processes do, and a nested call on the same file waits for
// itself until ctx is done.

// Test hooks. Atomic because an abandoned wait (below) may outlive the
// test that started it.
var (
	// lockWaitHook runs each time a lockContext call finds its lock held
	// and starts to wait for it: once per contended call where the wait
	// blocks in the kernel, once per retry where it polls.
	lockWaitHook atomic.Pointer[func(path string)]
	// lockAbandonedHook runs when a wait abandoned because its ctx ended
	// has let go of its descriptor (and of the lock, had it got it).
	lockAbandonedHook atomic.Pointer[func(path string)]
)

func noteLockWait(path string) {
	if h := lockWaitHook.Load(); h != nil {
		(*h)(path)
	}
}

func noteLockAbandoned(path string) {
	if h := lockAbandonedHook.Load(); h != nil {
		(*h)(path)
	}
}
