//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// These tests assert behaviour and order, never how long anything took.

// watchLockWaits counts, per lock path, the waits lockContext starts, and
// signals each one on the returned channel.
func watchLockWaits(t *testing.T, path string) (started <-chan struct{}, count func() int) {
	t.Helper()
	ch := make(chan struct{}, 64)
	var n atomic.Int32
	h := func(p string) {
		if p == path {
			n.Add(1)
			ch <- struct{}{}
		}
	}
	lockWaitHook.Store(&h)
	t.Cleanup(func() { lockWaitHook.Store(nil) })
	return ch, func() int { return int(n.Load()) }
}

func testLockPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(ensureLocks(t, t.TempDir()), storeLock)
}

func mustLock(t *testing.T, path string) func() {
	t.Helper()
	unlock, err := lockContext(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return unlock
}

// A waiter blocks while the lock is held and is handed it by the release,
// in one blocking wait: no retry, so no poll interval to sit out.
func TestLockWaiterWokenByRelease(t *testing.T) {
	path := testLockPath(t)
	started, waits := watchLockWaits(t, path)
	unlock := mustLock(t, path)
	if n := waits(); n != 0 {
		t.Fatalf("a free lock was waited for %d times", n)
	}

	var released atomic.Bool
	type result struct {
		unlock        func()
		err           error
		afterReleased bool
	}
	got := make(chan result, 1)
	go func() {
		u, err := lockContext(context.Background(), path)
		got <- result{u, err, released.Load()}
	}()

	<-started // the waiter found the lock held and is waiting
	select {
	case r := <-got:
		t.Fatalf("waiter returned while the lock was held: %v", r.err)
	default:
	}
	released.Store(true)
	unlock()
	unlock() // idempotent

	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.afterReleased {
		t.Fatal("waiter got the lock before it was released")
	}
	defer r.unlock()
	if n := waits(); n != 1 {
		t.Errorf("waiter started %d waits, want 1", n)
	}
}

// Waiters queued on a held lock get it one at a time, each handed it by the
// previous holder's release, each after exactly one wait.
func TestLockWaitersServedInTurn(t *testing.T) {
	const waiters = 4
	path := testLockPath(t)
	started, waits := watchLockWaits(t, path)
	unlock := mustLock(t, path)

	type holder struct{ release chan struct{} }
	acquired := make(chan holder)
	var holding atomic.Int32
	var wg sync.WaitGroup
	for range waiters {
		wg.Go(func() {
			u, err := lockContext(context.Background(), path)
			if err != nil {
				t.Error(err)
				return
			}
			if n := holding.Add(1); n != 1 {
				t.Errorf("%d holders at once", n)
			}
			h := holder{make(chan struct{})}
			acquired <- h
			<-h.release
			holding.Add(-1)
			u()
		})
	}
	for range waiters {
		<-started
	}
	unlock()
	for range waiters {
		h := <-acquired
		close(h.release)
	}
	wg.Wait()
	if n := waits(); n != waiters {
		t.Errorf("%d waiters started %d waits, want one each", waiters, n)
	}
}

// A wait whose ctx ends returns ctx's error at once, while the lock is still
// held; the abandoned wait lets go of whatever it gets, so the next caller
// finds the lock free.
func TestLockWaitCancelDoesNotLeakLock(t *testing.T) {
	path := testLockPath(t)
	started, waits := watchLockWaits(t, path)
	abandoned := make(chan struct{}, 1)
	h := func(p string) {
		if p == path {
			abandoned <- struct{}{}
		}
	}
	lockAbandonedHook.Store(&h)
	t.Cleanup(func() { lockAbandonedHook.Store(nil) })

	unlock := mustLock(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		u, err := lockContext(ctx, path)
		if err == nil {
			u()
		}
		got <- err
	}()
	<-started
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	select {
	case <-abandoned:
		t.Fatal("the abandoned wait ended while the lock was held")
	default:
	}

	// The abandoned wait is handed the lock by this release and must let
	// it go again.
	unlock()
	<-abandoned
	if !lockFree(t, path) {
		t.Fatal("the lock was still held after the abandoned wait ended: it leaked")
	}
	if n := waits(); n != 1 {
		t.Errorf("%d waits, want 1", n)
	}
}

// lockFree reports whether path's lock can be taken at once (it is released
// again before returning).
func lockFree(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, filePerm)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = flockFile(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = flockFile(f, syscall.LOCK_UN)
	return true
}

// A ctx that is already done gets its error, even for a free lock, and
// leaves the lock free.
func TestLockContextDoneCtx(t *testing.T) {
	path := testLockPath(t)
	_, waits := watchLockWaits(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lockContext(ctx, path); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !lockFree(t, path) {
		t.Fatal("a done ctx left the lock held")
	}
	if n := waits(); n != 0 {
		t.Errorf("%d waits for a free lock", n)
	}
}

// Update, which takes the store lock, is woken by the release like any
// other waiter.
func TestUpdateWokenByRelease(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(ensureLocks(t, dir), storeLock)
	started, waits := watchLockWaits(t, path)
	unlock := mustLock(t, path)
	var released atomic.Bool
	got := make(chan error, 1)
	go func() {
		got <- NewFileStore(dir).Update(context.Background(), func(*State) error {
			if !released.Load() {
				t.Error("fn ran while the store lock was held")
			}
			return nil
		})
	}()
	<-started
	released.Store(true)
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n := waits(); n != 1 {
		t.Errorf("Update started %d waits, want 1", n)
	}
}

func TestLockWaitBlocks(t *testing.T) {
	if !lockWaitBlocks {
		t.Fatal("flock(2) platforms must wait in the kernel, not poll")
	}
}
