package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// WatchRequest shapes the foreground rotation loop.
type WatchRequest struct {
	Profile string
	// Timing is resolved at every wake, so a policy stored by coda setup or
	// coda rotate while the watcher runs takes effect at once.
	Timing Timing
	// PauseWhenIdle skips rotations while AgentsRunning reports false.
	// When it fails (processes cannot be listed here) the watcher says so
	// and rotates as if an agent ran: pausing blind could let the token of
	// a running agent expire.
	PauseWhenIdle bool
	AgentsRunning func() (bool, error)
	// MaxSleep caps one sleep, so a machine waking from suspend notices
	// within that long (Go timers do not count suspended time).
	MaxSleep    time.Duration
	BackoffBase time.Duration
	BackoffCap  time.Duration
}

// Watch rotates on schedule until ctx is cancelled (then it returns nil) or
// the token can no longer be rotated (an error; exit 4 when the user must
// log in again). Deadlines come from the stored token times and the wall
// clock, never from a long timer.
func (e *Engine) Watch(ctx context.Context, o WatchRequest) error {
	if o.MaxSleep <= 0 {
		o.MaxSleep = time.Minute
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffCap <= 0 {
		o.BackoffCap = time.Minute
	}
	if _, p, err := e.liveProfile(o.Profile); err == nil {
		pol, err := e.watchPolicy(p, o.Timing)
		if err != nil {
			return err
		}
		e.emit(Event{Profile: o.Profile, Kind: EventStarted, Message: fmt.Sprintf(
			"rotating every %s (lifetime %s, grace %s, min-ttl %s)", policy.Short(pol.IntervalD()),
			policy.Short(pol.LifetimeD()), policy.Short(pol.GraceD()), policy.Short(pol.MinTTLD()))})
	}

	var (
		looped, idle, warned bool
		blind                bool // AgentsRunning failed at the last check
		failures             int
		lastErr              error
		announced            time.Time
		deletesHeld          time.Time // no scheduled deletes before this
	)
	for {
		if ctx.Err() != nil {
			e.emit(Event{Profile: o.Profile, Kind: EventStopped, Message: "interrupted"})
			return nil
		}
		_, p, err := e.liveProfile(o.Profile)
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
		pol, err := e.watchPolicy(p, o.Timing)
		if err != nil {
			return err
		}
		now := e.Clock.Now()
		wake := NextRotation(p, pol)

		if next, ok := nextDeletion(p.Pending, deletesHeld); ok && !now.Before(next) {
			_, left, _, err := e.DeleteDue(ctx, o.Profile)
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				if exit.CodeOf(err) == exit.Auth {
					return err
				}
				e.emit(Event{Profile: o.Profile, Kind: EventDeleteFailed, Message: err.Error()})
			}
			if err != nil || slices.ContainsFunc(left, func(pe store.Pending) bool { return !now.Before(pe.DeleteAfter) }) {
				// Failed deletes stay due; try them again a slice later
				// (and at every rotation) instead of spinning.
				deletesHeld = now.Add(o.MaxSleep)
			}
			continue
		}

		if !now.Before(wake) {
			if o.PauseWhenIdle && !e.agentsRunning(o, &blind) {
				if !idle {
					e.emit(Event{Profile: o.Profile, Kind: EventIdle, Message: "no coding agent is running; rotation paused"})
				}
				idle = true
				if left := p.Remaining(now); !warned && left <= pol.IntervalD() {
					warned = true
					e.emit(Event{Profile: o.Profile, Kind: EventExpiryWarning, TokenID: p.TokenID, ExpiresAt: p.ExpiresAt, Message: fmt.Sprintf(
						"token expires in %s and will not be rotated while no agent runs; start one or run coda rotate", left.Round(time.Second))})
				}
				wake = now.Add(o.MaxSleep)
			} else {
				idle, warned = false, false
				res, err := e.Rotate(ctx, RotateRequest{Profile: o.Profile, Timing: o.Timing})
				if err == nil {
					failures, lastErr = 0, nil
					// A workspace that caps token lifetimes below the
					// policy's margin would have the watcher rotate back
					// to back: stop and say so instead.
					if got := res.ExpiresAt.Sub(e.Clock.Now()); !pol.RotateBy(res.ExpiresAt).After(e.Clock.Now()) {
						return fmt.Errorf("the workspace minted a token that lives only %s, less than the %s the policy keeps before expiry: lower --grace and --min-ttl, or ask an admin about the workspace's token lifetime limit",
							got.Round(time.Second), policy.Short(pol.Margin()))
					}
					continue
				}
				if ctx.Err() != nil {
					continue
				}
				if !retryable(err) {
					return err
				}
				failures++
				lastErr = err
				backoff := min(o.BackoffCap, o.BackoffBase<<min(failures-1, 20))
				backoff += e.jitter(backoff / 2)
				// Never sleep past the expiry: the last try must still be
				// made with a live token.
				left := p.Remaining(e.Clock.Now()) - time.Second
				if left <= 0 {
					return LoginRequired(o.Profile, "token expired before it could be rotated (last error: "+err.Error()+")")
				}
				backoff = min(backoff, left)
				wake = e.Clock.Now().Add(backoff)
				e.emit(Event{Profile: o.Profile, Kind: EventRetry, RetryIn: backoff, NextAttempt: wake, Message: err.Error()})
			}
		} else if !wake.Equal(announced) {
			announced = wake
			e.emit(Event{Profile: o.Profile, Kind: EventWaiting, TokenID: p.TokenID, ExpiresAt: p.ExpiresAt, NextAttempt: wake})
		}
		if next, ok := nextDeletion(p.Pending, deletesHeld); ok && next.Before(wake) {
			wake = next
		}
		if err := e.sleepUntil(ctx, wake, o.MaxSleep); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
}

// agentsRunning asks o.AgentsRunning, and when it cannot tell, reports an
// agent as running and says so once per failing spell.
func (e *Engine) agentsRunning(o WatchRequest, blind *bool) bool {
	running, err := o.AgentsRunning()
	if err != nil {
		if !*blind {
			e.emit(Event{Profile: o.Profile, Kind: EventIdleUnknown, Message: fmt.Sprintf(
				"--pause-when-idle cannot tell whether a coding agent runs (%v); rotating on schedule", err)})
		}
		*blind = true
		return true
	}
	*blind = false
	return running
}

// watchPolicy is the policy in force at this wake, checked.
func (e *Engine) watchPolicy(p *store.Profile, t Timing) (policy.Policy, error) {
	inForce, toStore, err := t.Resolve(p.Policy)
	if err == nil {
		err = CheckPolicy(p, inForce, toStore)
	}
	return inForce, err
}

// NextRotation is when the profile's token is due for replacement: the
// earlier of an interval after the last rotation by this machine's clock
// (so a clock that runs ahead of the workspace cannot make rotations back
// to back; the token's creation when coda has not rotated it yet) and the
// latest moment that leaves the old token its grace, the helpers their
// min-ttl and the workspace its 30-second window (policy.RotateBy). A token
// with less life than the interval is thus rotated in time, and one that
// would die before the next rotation is rotated at once.
func NextRotation(p *store.Profile, pol policy.Policy) time.Time {
	last := p.CreatedAt
	if !p.LastRotation.IsZero() { // login starts a profile without one
		last = p.LastRotation
	}
	next := last.Add(pol.IntervalD())
	if by := pol.RotateBy(p.ExpiresAt); by.Before(next) {
		next = by
	}
	return next
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
func (e *Engine) sleepUntil(ctx context.Context, deadline time.Time, maxSlice time.Duration) error {
	for {
		left := deadline.Sub(e.Clock.Now())
		if left <= 0 {
			return nil
		}
		if err := e.Clock.Sleep(ctx, min(left, maxSlice)); err != nil {
			return err
		}
	}
}

// retryable reports whether the watcher tries again after err: network
// errors, 5xx and 429, and an answer the engine refused (a minted token it
// deleted), which a flaky proxy can cause once.
func retryable(err error) bool {
	var rejected *workspace.MintRejectedError
	return workspace.KindOf(err).Retryable() || errors.As(err, &rejected)
}
