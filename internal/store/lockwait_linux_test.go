package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The waiter must sleep in the kernel's flock queue, where the release
// wakes it, rather than retry on a timer. /proc/locks lists such a queued
// request with "->". The test watches for it and fails if the waiter
// retries (a second wait) or returns first; it never measures time.
func TestLockWaiterQueuedInKernel(t *testing.T) {
	if _, err := os.Stat("/proc/locks"); err != nil {
		t.Skip("no /proc/locks")
	}
	path := testLockPath(t)
	started, waits := watchLockWaits(t, path)
	unlock := mustLock(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino

	got := make(chan error, 1)
	go func() {
		u, err := lockContext(context.Background(), path)
		if err == nil {
			u()
		}
		got <- err
	}()
	<-started
	for !queuedFlock(t, ino) {
		select {
		case <-started:
			t.Fatal("the waiter retried instead of waiting in the kernel")
		case err := <-got:
			t.Fatalf("the waiter returned while the lock was held: %v", err)
		default:
		}
		time.Sleep(time.Millisecond) // how often we look, not a bound
	}
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n := waits(); n != 1 {
		t.Errorf("waiter started %d waits, want 1", n)
	}
}

// queuedFlock reports whether /proc/locks shows a blocked flock request
// on inode ino.
func queuedFlock(t *testing.T, ino uint64) bool {
	t.Helper()
	f, err := os.Open("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	suffix := fmt.Sprintf(":%d", ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: -> FLOCK  ADVISORY  WRITE 30570 fe:00:10002898 0 EOF"
		fields := strings.Fields(sc.Text())
		if len(fields) >= 7 && fields[1] == "->" && fields[2] == "FLOCK" && strings.HasSuffix(fields[6], suffix) {
			return true
		}
	}
	return false
}
