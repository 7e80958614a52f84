// Package clock is the time seam: production code asks a Clock for the time
// and for sleeps, so tests can run hours of schedule in milliseconds.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the wall-clock time and sleeps.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and
	// returns ctx.Err() in the second case.
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the system clock.
type Real struct{}

func (Real) Now() time.Time { return time.Now() }

func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Fake is a manual clock for tests. Sleep advances it at once, so a loop
// that sleeps an hour returns immediately with Now() an hour later.
type Fake struct {
	mu  sync.Mutex
	now time.Time
	// OnSleep, when set, runs after every Sleep has advanced the clock; tests
	// use it to simulate a suspend (advance further) or to stop a loop.
	OnSleep func(d time.Duration)
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Set moves the clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}

func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		f.Advance(d)
	}
	if f.OnSleep != nil {
		f.OnSleep(d)
	}
	return ctx.Err()
}
