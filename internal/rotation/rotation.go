// Package rotation owns the token lifecycle after login: minting a
// successor, handing it to consumers, deleting the old token after a grace,
// sweeping orphans, and the watch loop that does it on schedule.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// Consumer is told about every token change, so the files of the CLIs it
// configures hold the new token before the old one is deleted.
type Consumer interface {
	Name() string
	TokenRotated(ctx context.Context, profile string, p store.Profile) error
	// TokenRevoked gets the profile as it was before revoke cleared it.
	TokenRevoked(ctx context.Context, profile string, p store.Profile) error
}

// Event kinds, as they appear in the watch log and its JSON.
const (
	EventRotated        = "rotated"
	EventSkipped        = "skipped"
	EventDeleted        = "deleted"
	EventDeleteFailed   = "delete_failed"
	EventExpiredDropped = "expired_dropped"
	EventOrphanDeleted  = "orphan_deleted"
	EventConsumerFailed = "consumer_failed"
	EventVerifyFailed   = "verify_failed"
	EventRetry          = "retry"
	EventIdle           = "idle"
	EventExpiryWarning  = "expiry_warning"
	EventStarted        = "started"
	EventStopped        = "stopped"
	EventWaiting        = "waiting"
)

// Event is one thing that happened, for logs. It never holds a token value.
type Event struct {
	Time        time.Time
	Profile     string
	Kind        string
	TokenID     string // full id; printers show only its suffix
	ExpiresAt   time.Time
	Message     string
	RetryIn     time.Duration
	NextAttempt time.Time
}

// Rotator runs rotations against one store.
type Rotator struct {
	Store     store.Store
	Clients   workspace.Factory
	Clock     clock.Clock
	Consumers []Consumer
	// Events receives progress; nil drops it.
	Events func(Event)
	// Jitter returns a random extra wait in [0, d); nil means uniform.
	Jitter func(d time.Duration) time.Duration
	// DeleteAttempts is how often one rotation tries to delete an old token
	// before leaving it pending (default 3), DeleteBackoff the first wait.
	DeleteAttempts int
	DeleteBackoff  time.Duration
}

// Options shape one rotation.
type Options struct {
	Profile  string
	Lifetime time.Duration
	Grace    time.Duration
	// MinRemaining, when set, makes Rotate a no-op while the current token
	// has at least this long left (checked under the lock, so concurrent
	// `coda token` calls rotate once).
	MinRemaining time.Duration
}

// Result says what one rotation did.
type Result struct {
	Profile        string
	Skipped        bool
	TokenID        string
	ExpiresAt      time.Time
	Deleted        []string
	OrphansDeleted []string
	Pending        []store.Pending
	Warnings       []string
}

func (r *Rotator) emit(e Event) {
	if r.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = r.Clock.Now()
	}
	r.Events(e)
}

func (r *Rotator) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	if r.Jitter != nil {
		return r.Jitter(d)
	}
	return rand.N(d)
}

// LoginRequired builds the exit-4 error for a profile whose token is gone.
func LoginRequired(profile, why string) error {
	return exit.Authf("%s; run: coda login%s", why, profileFlag(profile))
}

func profileFlag(profile string) string {
	if profile == "" || profile == "default" {
		return ""
	}
	return " -p " + profile
}

// liveProfile loads the profile and checks it still holds a live token.
func (r *Rotator) liveProfile(name string) (*store.State, *store.Profile, error) {
	st, err := r.Store.Load()
	if err != nil {
		return nil, nil, err
	}
	p := st.Profile(name)
	if p == nil || !p.HasToken() {
		return st, nil, LoginRequired(name, fmt.Sprintf("profile %q is not logged in", name))
	}
	if !p.Live(r.Clock.Now()) {
		return st, p, LoginRequired(name, fmt.Sprintf("the token of profile %q expired at %s", name, p.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	return st, p, nil
}

// asLoginRequired turns a dead-token answer into the exit-4 error.
func asLoginRequired(profile string, err error) error {
	if workspace.KindOf(err) == workspace.KindInvalidToken {
		return LoginRequired(profile, "the workspace rejected the token ("+err.Error()+")")
	}
	return err
}

// Rotate performs one rotation under the profile's lock: create the
// successor, persist it with the old id pending, verify it, notify the
// consumers, delete pending tokens whose grace has passed, sweep orphans.
func (r *Rotator) Rotate(ctx context.Context, opts Options) (*Result, error) {
	if opts.Lifetime < time.Minute {
		return nil, fmt.Errorf("token lifetime must be at least 1m, got %s", opts.Lifetime)
	}
	unlock, err := r.Store.LockProfile(ctx, opts.Profile)
	if err != nil {
		return nil, err
	}
	defer unlock()

	st, old, err := r.liveProfile(opts.Profile)
	if err != nil {
		return nil, err
	}
	res := &Result{Profile: opts.Profile}
	now := r.Clock.Now()
	if opts.MinRemaining > 0 && old.Remaining(now) >= opts.MinRemaining {
		res.Skipped, res.TokenID, res.ExpiresAt = true, old.TokenID, old.ExpiresAt
		return res, nil
	}

	fresh, oldClient, err := r.mint(ctx, st.InstallationID, opts, *old)
	if err != nil {
		return nil, err
	}
	newClient, err := r.Clients(old.Host, fresh.Value)
	if err != nil {
		_ = oldClient.DeleteToken(context.WithoutCancel(ctx), fresh.ID)
		return nil, err
	}
	// Listing with the new token both proves it works and shows the
	// orphans. It runs while the new token is written to disk: the fsyncs
	// cost about as much as the request.
	type listing struct {
		infos []workspace.TokenInfo
		err   error
	}
	listed := make(chan listing, 1)
	go func() {
		infos, err := newClient.ListTokens(ctx)
		listed <- listing{infos, err}
	}()
	if err := r.persist(ctx, opts, *old, fresh); err != nil {
		<-listed
		// The new token would be an orphan; the old one still works.
		_ = oldClient.DeleteToken(context.WithoutCancel(ctx), fresh.ID)
		return nil, fmt.Errorf("store the new token: %w", err)
	}
	res.TokenID, res.ExpiresAt = fresh.ID, fresh.Expiry
	r.emit(Event{Profile: opts.Profile, Kind: EventRotated, TokenID: fresh.ID, ExpiresAt: fresh.Expiry,
		Message: "replaces " + redact.Suffix(old.TokenID)})

	l := <-listed
	infos, listErr := l.infos, l.err
	if listErr != nil {
		if workspace.KindOf(listErr) == workspace.KindInvalidToken {
			return nil, r.rollback(ctx, opts.Profile, *old, fresh, listErr)
		}
		msg := "could not verify the new token: " + listErr.Error()
		res.Warnings = append(res.Warnings, msg)
		r.emit(Event{Profile: opts.Profile, Kind: EventVerifyFailed, TokenID: fresh.ID, Message: msg})
	}

	current := *old
	current.Token, current.TokenID = fresh.Value, fresh.ID
	current.CreatedAt, current.ExpiresAt = fresh.Created, fresh.Expiry
	res.Warnings = append(res.Warnings, r.notify(ctx, opts.Profile, current)...)

	deleted, pending, err := r.deleteDue(ctx, opts.Profile, newClient)
	if err != nil {
		return res, err
	}
	res.Deleted, res.Pending = deleted, pending
	if listErr == nil {
		tag := Tag{InstallationID: st.InstallationID, Profile: opts.Profile}
		known := []string{fresh.ID}
		known = append(known, deleted...)
		for _, pe := range pending {
			known = append(known, pe.TokenID)
		}
		res.OrphansDeleted = r.sweep(ctx, newClient, tag, known, infos)
	}
	return res, nil
}

// mint creates the successor with the old token. Like persist, it runs
// without the caller's cancellation: an interrupt between create and
// persist would leave a live token nobody holds.
func (r *Rotator) mint(ctx context.Context, installationID string, opts Options, old store.Profile) (workspace.NewToken, workspace.Client, error) {
	ctx = context.WithoutCancel(ctx)
	oldClient, err := r.Clients(old.Host, old.Token)
	if err != nil {
		return workspace.NewToken{}, nil, err
	}
	tag := Tag{InstallationID: installationID, Profile: opts.Profile}
	fresh, err := oldClient.CreateToken(ctx, opts.Lifetime, tag.Comment())
	if err != nil {
		return workspace.NewToken{}, nil, asLoginRequired(opts.Profile, err)
	}
	if fresh.Expiry.IsZero() {
		// A token that never expires defeats the point; do not keep it.
		_ = oldClient.DeleteToken(ctx, fresh.ID)
		return workspace.NewToken{}, nil, errors.New("the workspace minted a token without an expiry; refusing to use it")
	}
	return fresh, oldClient, nil
}

// persist stores the successor as current and the old token as pending.
func (r *Rotator) persist(ctx context.Context, opts Options, old store.Profile, fresh workspace.NewToken) error {
	now := r.Clock.Now()
	return r.Store.Update(context.WithoutCancel(ctx), func(st *store.State) error {
		p := st.Profile(opts.Profile)
		if p == nil || p.TokenID != old.TokenID {
			return fmt.Errorf("profile %q changed during the rotation", opts.Profile)
		}
		p.Pending = append(p.Pending, store.Pending{
			TokenID:     old.TokenID,
			DeleteAfter: now.Add(opts.Grace),
			ExpiresAt:   old.ExpiresAt,
		})
		p.Token, p.TokenID = fresh.Value, fresh.ID
		p.CreatedAt, p.ExpiresAt = fresh.Created, fresh.Expiry
		p.LastRotation = now
		return nil
	})
}

// rollback restores the old token when the workspace rejects the new one
// and queues the new one for deletion.
func (r *Rotator) rollback(ctx context.Context, profile string, old store.Profile, fresh workspace.NewToken, cause error) error {
	err := r.Store.Update(context.WithoutCancel(ctx), func(st *store.State) error {
		p := st.Profile(profile)
		if p == nil || p.TokenID != fresh.ID {
			return nil
		}
		pending := slices.DeleteFunc(p.Pending, func(pe store.Pending) bool { return pe.TokenID == old.TokenID })
		*p = old
		p.Pending = append(pending, store.Pending{TokenID: fresh.ID, DeleteAfter: r.Clock.Now(), ExpiresAt: fresh.Expiry})
		return nil
	})
	if err != nil {
		return fmt.Errorf("the new token was rejected (%v) and restoring the old one failed: %w", cause, err)
	}
	return fmt.Errorf("the workspace rejected the token it had just minted (%v); kept the old token", cause)
}

func (r *Rotator) notify(ctx context.Context, profile string, p store.Profile) []string {
	var warnings []string
	for _, c := range r.Consumers {
		if err := c.TokenRotated(ctx, profile, p); err != nil {
			msg := fmt.Sprintf("%s: %v", c.Name(), err)
			warnings = append(warnings, msg)
			r.emit(Event{Profile: profile, Kind: EventConsumerFailed, Message: msg})
		}
	}
	return warnings
}

// DeleteDue deletes, with the profile's current token, every pending token
// whose grace has passed. It is what the watcher runs on schedule.
func (r *Rotator) DeleteDue(ctx context.Context, profile string) (deleted []string, pending []store.Pending, err error) {
	unlock, err := r.Store.LockProfile(ctx, profile)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	_, p, err := r.liveProfile(profile)
	if err != nil {
		return nil, nil, err
	}
	c, err := r.Clients(p.Host, p.Token)
	if err != nil {
		return nil, nil, err
	}
	return r.deleteDue(ctx, profile, c)
}

// deleteDue expects the profile lock to be held. A failed delete stays
// pending with its error recorded; it never fails the caller.
func (r *Rotator) deleteDue(ctx context.Context, profile string, c workspace.Client) ([]string, []store.Pending, error) {
	st, err := r.Store.Load()
	if err != nil {
		return nil, nil, err
	}
	p := st.Profile(profile)
	if p == nil {
		return nil, nil, nil
	}
	now := r.Clock.Now()
	type outcome struct {
		done  bool
		err   error
		tries int
	}
	outcomes := map[string]outcome{}
	var deleted []string
	for _, pe := range p.Pending {
		switch {
		case !pe.ExpiresAt.IsZero() && !now.Before(pe.ExpiresAt):
			// Expired tokens are already dead; no request needed.
			outcomes[pe.TokenID] = outcome{done: true}
			r.emit(Event{Profile: profile, Kind: EventExpiredDropped, TokenID: pe.TokenID})
		case now.Before(pe.DeleteAfter):
			continue
		default:
			tries, err := r.deleteWithRetry(ctx, c, pe.TokenID)
			if tries == 0 {
				continue // interrupted before the workspace answered: not a failure
			}
			outcomes[pe.TokenID] = outcome{done: err == nil, err: err, tries: tries}
			if err == nil {
				deleted = append(deleted, pe.TokenID)
				r.emit(Event{Profile: profile, Kind: EventDeleted, TokenID: pe.TokenID})
			} else if ctx.Err() == nil {
				r.emit(Event{Profile: profile, Kind: EventDeleteFailed, TokenID: pe.TokenID,
					Message: err.Error() + "; will retry at the next rotation"})
			}
		}
	}
	if len(outcomes) == 0 {
		return nil, p.Pending, nil
	}
	var remaining []store.Pending
	var dead error
	for _, o := range outcomes {
		if workspace.KindOf(o.err) == workspace.KindInvalidToken {
			dead = o.err
		}
	}
	err = r.Store.Update(context.WithoutCancel(ctx), func(st *store.State) error {
		p := st.Profile(profile)
		if p == nil {
			return nil
		}
		p.Pending = slices.DeleteFunc(p.Pending, func(pe store.Pending) bool { return outcomes[pe.TokenID].done })
		for i := range p.Pending {
			if o, ok := outcomes[p.Pending[i].TokenID]; ok && o.err != nil {
				p.Pending[i].Attempts += o.tries
				p.Pending[i].LastError = o.err.Error()
			}
		}
		remaining = slices.Clone(p.Pending)
		return nil
	})
	if err == nil && dead != nil {
		// The token making the deletes is dead: nothing more will work.
		err = asLoginRequired(profile, dead)
	}
	return deleted, remaining, err
}

// deleteWithRetry returns how many delete requests the workspace answered
// (0 when interrupted before the first answer) and the last error.
func (r *Rotator) deleteWithRetry(ctx context.Context, c workspace.Client, id string) (int, error) {
	attempts := r.DeleteAttempts
	if attempts <= 0 {
		attempts = 3
	}
	wait := r.DeleteBackoff
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	var err error
	for i := 1; ; i++ {
		derr := c.DeleteToken(ctx, id)
		if derr == nil {
			return i, nil
		}
		if ctx.Err() != nil {
			// An interrupt is not the workspace's answer: this try does not
			// count, and the error to keep is the previous one (if any).
			return i - 1, err
		}
		err = derr
		if !workspace.KindOf(err).Retryable() || i == attempts {
			return i, err
		}
		if r.Clock.Sleep(ctx, wait+r.jitter(wait/2)) != nil {
			return i, err
		}
		wait *= 2
	}
}

// sweep deletes tokens with this installation's and profile's tag that coda
// does not know (current, pending or just deleted): a create whose response
// was lost.
func (r *Rotator) sweep(ctx context.Context, c workspace.Client, tag Tag, known []string, infos []workspace.TokenInfo) []string {
	var swept []string
	for _, ti := range infos {
		if t, ok := ParseTag(ti.Comment); !ok || t != tag || slices.Contains(known, ti.ID) {
			continue
		}
		if err := c.DeleteToken(ctx, ti.ID); err != nil {
			r.emit(Event{Profile: tag.Profile, Kind: EventDeleteFailed, TokenID: ti.ID, Message: "orphan: " + err.Error()})
			continue
		}
		swept = append(swept, ti.ID)
		r.emit(Event{Profile: tag.Profile, Kind: EventOrphanDeleted, TokenID: ti.ID})
	}
	return swept
}

// Defaults of the lifecycle flags.
const (
	DefaultLifetime = 15 * time.Minute
	DefaultInterval = 10 * time.Minute
	DefaultGrace    = 2 * time.Minute
	DefaultMinTTL   = 5 * time.Minute
)
