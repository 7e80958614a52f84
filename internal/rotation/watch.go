package rotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// WatchOptions shape the foreground rotation loop.
type WatchOptions struct {
	Options
	Interval time.Duration
	// PauseWhenIdle skips rotations while AgentsRunning reports false.
	PauseWhenIdle bool
	AgentsRunning func() bool
	// MaxSleep caps one sleep, so a machine waking from suspend notices
	// within that long (Go timers do not count suspended time).
	MaxSleep    time.Duration
	BackoffBase time.Duration
	BackoffCap  time.Duration
}

// ValidateWatch checks the relation between the three durations: the next
// rotation must happen while the token lives, and the grace must end
// before the old token would expire anyway.
func ValidateWatch(lifetime, interval, grace time.Duration) error {
	if err := ValidateOnce(lifetime, grace); err != nil {
		return err
	}
	if interval < time.Second || interval >= lifetime {
		return exit.Usagef("--interval must be at least 1s and shorter than --lifetime (%s), got %s", lifetime, interval)
	}
	if grace >= lifetime-interval {
		return exit.Usagef("--grace must be shorter than --lifetime minus --interval (%s), got %s", lifetime-interval, grace)
	}
	return nil
}

// ValidateOnce checks the flags of a one-shot rotation.
func ValidateOnce(lifetime, grace time.Duration) error {
	if lifetime < time.Minute {
		return exit.Usagef("--lifetime must be at least 1m, got %s", lifetime)
	}
	if grace < 0 || grace >= lifetime {
		return exit.Usagef("--grace must be at least 0s and shorter than --lifetime (%s), got %s", lifetime, grace)
	}
	return nil
}

// Watch rotates on schedule until ctx is cancelled (then it returns nil) or
// the token can no longer be rotated (an error; exit 4 when the user must
// log in again). Deadlines come from the stored token times and the wall
// clock, never from a long timer.
func (r *Rotator) Watch(ctx context.Context, o WatchOptions) error {
	if o.MaxSleep <= 0 {
		o.MaxSleep = time.Minute
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffCap <= 0 {
		o.BackoffCap = time.Minute
	}
	r.emit(Event{Profile: o.Profile, Kind: EventStarted, Message: fmt.Sprintf(
		"rotating every %s (lifetime %s, grace %s)", o.Interval, o.Lifetime, o.Grace)})

	var (
		looped, idle, warned bool
		failures             int
		lastErr              error
		announced            time.Time
		deletesHeld          time.Time // no scheduled deletes before this
	)
	for {
		if ctx.Err() != nil {
			r.emit(Event{Profile: o.Profile, Kind: EventStopped, Message: "interrupted"})
			return nil
		}
		_, p, err := r.liveProfile(o.Profile)
		if err != nil {
			if p != nil && looped {
				why := "token expired while the machine slept"
				switch {
				case idle:
					why = "token expired while no coding agent was running (--pause-when-idle)"
				case lastErr != nil:
					why = "token expired before it could be rotated (last error: " + lastErr.Error() + ")"
				}
				return LoginRequired(o.Profile, why)
			}
			return err
		}
		looped = true
		now := r.Clock.Now()
		wake := nextRotation(p, o.Interval)

		if next, ok := nextDeletion(p.Pending, deletesHeld); ok && !now.Before(next) {
			_, left, err := r.DeleteDue(ctx, o.Profile)
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				if exit.CodeOf(err) == exit.Auth {
					return err
				}
				r.emit(Event{Profile: o.Profile, Kind: EventDeleteFailed, Message: err.Error()})
			}
			if err != nil || slices.ContainsFunc(left, func(pe store.Pending) bool { return !now.Before(pe.DeleteAfter) }) {
				// Failed deletes stay due; try them again a slice later
				// (and at every rotation) instead of spinning.
				deletesHeld = now.Add(o.MaxSleep)
			}
			continue
		}

		if !now.Before(wake) {
			if o.PauseWhenIdle && !o.AgentsRunning() {
				if !idle {
					r.emit(Event{Profile: o.Profile, Kind: EventIdle, Message: "no coding agent is running; rotation paused"})
				}
				idle = true
				if left := p.Remaining(now); !warned && left <= o.Interval {
					warned = true
					r.emit(Event{Profile: o.Profile, Kind: EventExpiryWarning, TokenID: p.TokenID, ExpiresAt: p.ExpiresAt, Message: fmt.Sprintf(
						"token expires in %s and will not be rotated while no agent runs; start one or run coda rotate", left.Round(time.Second))})
				}
				wake = now.Add(o.MaxSleep)
			} else {
				idle, warned = false, false
				_, err := r.Rotate(ctx, o.Options)
				if err == nil {
					failures, lastErr = 0, nil
					continue
				}
				if ctx.Err() != nil {
					continue
				}
				if !workspace.KindOf(err).Retryable() {
					return err
				}
				failures++
				lastErr = err
				backoff := min(o.BackoffCap, o.BackoffBase<<min(failures-1, 20))
				backoff += r.jitter(backoff / 2)
				// Never sleep past the expiry: the last try must still be
				// made with a live token.
				left := p.Remaining(r.Clock.Now()) - time.Second
				if left <= 0 {
					return LoginRequired(o.Profile, "token expired before it could be rotated (last error: "+err.Error()+")")
				}
				backoff = min(backoff, left)
				wake = r.Clock.Now().Add(backoff)
				r.emit(Event{Profile: o.Profile, Kind: EventRetry, RetryIn: backoff, NextAttempt: wake, Message: err.Error()})
			}
		} else if !wake.Equal(announced) {
			announced = wake
			r.emit(Event{Profile: o.Profile, Kind: EventWaiting, TokenID: p.TokenID, ExpiresAt: p.ExpiresAt, NextAttempt: wake})
		}
		if next, ok := nextDeletion(p.Pending, deletesHeld); ok && next.Before(wake) {
			wake = next
		}
		if err := r.sleepUntil(ctx, wake, o.MaxSleep); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
}

// nextRotation is when the profile's token is due for replacement: an
// interval after the last rotation by this machine's clock (so a clock
// that runs ahead of the workspace cannot make rotations back to back),
// or after the token's creation when coda has not rotated it yet.
func nextRotation(p *store.Profile, interval time.Duration) time.Time {
	if !p.LastRotation.IsZero() { // login starts a profile without one
		return p.LastRotation.Add(interval)
	}
	return p.CreatedAt.Add(interval)
}

// nextDeletion is the earliest moment a pending token is due, but not
// before heldUntil.
func nextDeletion(pending []store.Pending, heldUntil time.Time) (time.Time, bool) {
	var next time.Time
	for _, pe := range pending {
		at := pe.DeleteAfter
		if !pe.ExpiresAt.IsZero() && pe.ExpiresAt.Before(at) {
			at = pe.ExpiresAt
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if !next.IsZero() && next.Before(heldUntil) {
		next = heldUntil
	}
	return next, !next.IsZero()
}

// sleepUntil sleeps in slices of at most maxSlice, re-reading the wall clock
// after each, so suspended time is noticed.
func (r *Rotator) sleepUntil(ctx context.Context, deadline time.Time, maxSlice time.Duration) error {
	for {
		left := deadline.Sub(r.Clock.Now())
		if left <= 0 {
			return nil
		}
		if err := r.Clock.Sleep(ctx, min(left, maxSlice)); err != nil {
			return err
		}
	}
}
