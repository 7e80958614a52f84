package atomicfile

import (
	"errors"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	busy := errors.New("in use")
	fatal := errors.New("no such dir")
	transient := func(err error) bool { return errors.Is(err, busy) }
	tests := []struct {
		name      string
		fails     []error // op's errors before it succeeds
		budget    time.Duration
		wantErr   error
		wantCalls int // 0: more than one, and it gave up
	}{
		{"first try", nil, time.Second, nil, 1},
		{"held briefly", []error{busy, busy, busy}, time.Second, nil, 4},
		{"other error at once", []error{fatal, busy}, time.Second, fatal, 1},
		{"held too long", []error{busy, busy, busy, busy, busy, busy, busy, busy, busy, busy}, 5 * time.Millisecond, busy, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			start := time.Now()
			err := retry(func() error {
				calls++
				if calls <= len(tt.fails) {
					return tt.fails[calls-1]
				}
				return nil
			}, transient, tt.budget)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("retry = %v, want %v", err, tt.wantErr)
			}
			switch {
			case tt.wantCalls == 0 && (calls < 2 || calls > len(tt.fails)):
				t.Errorf("%d calls, want a few retries, then giving up", calls)
			case tt.wantCalls != 0 && calls != tt.wantCalls:
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			// It never starts a wait that ends past the budget (the
			// slack is for a loaded machine's late wake-ups).
			if d := time.Since(start); d > tt.budget+100*time.Millisecond {
				t.Errorf("took %s, more than the budget %s", d, tt.budget)
			}
		})
	}
}
