package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// RotateRequest shapes one rotation.
type RotateRequest struct {
	Profile string
	Timing  Timing
	// MinRemaining, when set, makes Rotate a no-op while the current token
	// has at least this long left (checked under the lock, so concurrent
	// `coda token` calls rotate once).
	MinRemaining time.Duration
	// CreateOnly is the credential helpers' rotation: create, store and
	// deliver to the sinks, nothing else. Agents run helpers under short
	// timeouts (Codex: 10 s), so verifying, deleting and sweeping wait for
	// the watcher or the next coda rotate; the old token stays pending.
	CreateOnly bool
	// IfCurrent, when set, makes Rotate a no-op unless the profile's token
	// is still this one (checked under the lock): the proxy's answer to a
	// refused token, which many requests may report at once.
	IfCurrent string
}

// RotateResult says what one rotation did.
type RotateResult struct {
	Profile        string
	Skipped        bool
	TokenID        string
	ExpiresAt      time.Time
	Policy         policy.Policy
	Deleted        []string
	OrphansDeleted []string
	Pending        []store.Pending
	// SinkFailures are the tools that do not hold the new token: the
	// tokens they may still hold stay alive (pending) until they do.
	SinkFailures []SinkFailure
	Warnings     []string
	// ClockSkew is the workspace's clock minus this machine's.
	ClockSkew time.Duration
	// PolicyStored lists the timing values this rotation stored in the
	// profile (flags the user gave), "" when none changed.
	PolicyStored string
}

// Rotate performs one rotation under the profile's lock: create the
// successor, persist it with the old id pending, verify it, deliver it to
// every sink, delete pending tokens whose grace has passed (only when every
// sink holds the successor), sweep orphans.
func (e *Engine) Rotate(ctx context.Context, req RotateRequest) (*RotateResult, error) {
	unlock, err := e.Store.LockProfile(ctx, req.Profile)
	if err != nil {
		return nil, err
	}
	defer unlock()

	st, old, err := e.liveProfile(req.Profile)
	if err != nil {
		return nil, err
	}
	inForce, toStore, err := req.Timing.Resolve(old.Policy)
	if err != nil {
		return nil, err
	}
	if err := CheckPolicy(old, inForce, toStore); err != nil {
		return nil, err
	}
	res := &RotateResult{Profile: req.Profile, Policy: inForce, PolicyStored: old.Policy.Changes(toStore)}
	if (req.MinRemaining > 0 && old.Remaining(e.Clock.Now()) >= req.MinRemaining) || (req.IfCurrent != "" && old.Token != req.IfCurrent) {
		res.Skipped, res.TokenID, res.ExpiresAt = true, old.TokenID, old.ExpiresAt
		return res, nil
	}

	oldClient, err := e.Clients(old.Host, old.Token)
	if err != nil {
		return nil, err
	}
	fresh, skew, err := e.mint(ctx, oldClient, e.tag(st, req.Profile), inForce.LifetimeD())
	if err != nil {
		return nil, asLoginRequired(req.Profile, err)
	}
	newClient, err := e.Clients(old.Host, fresh.Value)
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
	if req.CreateOnly {
		listed <- listing{err: errSkipped}
	} else {
		go func() {
			infos, err := newClient.ListTokens(ctx)
			listed <- listing{infos, err}
		}()
	}
	current, err := e.persist(ctx, req.Profile, *old, fresh, skew, inForce.GraceD(), toStore)
	if err != nil {
		<-listed
		// The new token would be an orphan; the old one still works.
		_ = oldClient.DeleteToken(context.WithoutCancel(ctx), fresh.ID)
		return nil, fmt.Errorf("store the new token: %w", err)
	}
	res.TokenID, res.ExpiresAt, res.ClockSkew = fresh.ID, fresh.Expiry, skew
	if note := skewNote(old.ClockSkew, skew); note != "" {
		res.Warnings = append(res.Warnings, note)
		e.emit(Event{Profile: req.Profile, Kind: EventClockSkew, Message: note})
	}
	e.emit(Event{Profile: req.Profile, Kind: EventRotated, TokenID: fresh.ID, ExpiresAt: fresh.Expiry,
		Message: "replaces " + redact.Suffix(old.TokenID)})

	l := <-listed
	if req.CreateOnly {
		res.SinkFailures = e.deliver(req.Profile, current)
		res.Pending = current.Pending
		return res, nil
	}
	if l.err != nil {
		if workspace.KindOf(l.err) == workspace.KindInvalidToken {
			return nil, e.rollback(ctx, req.Profile, *old, fresh, l.err)
		}
		msg := "could not verify the new token: " + l.err.Error()
		res.Warnings = append(res.Warnings, msg)
		e.emit(Event{Profile: req.Profile, Kind: EventVerifyFailed, TokenID: fresh.ID, Message: msg})
	}

	res.SinkFailures = e.deliver(req.Profile, current)
	deleted, pending, err := e.deleteDue(ctx, req.Profile, newClient, res.SinkFailures)
	if err != nil {
		return res, err
	}
	res.Deleted, res.Pending = deleted, pending
	if l.err == nil {
		known := append([]string{fresh.ID}, deleted...)
		for _, pe := range pending {
			known = append(known, pe.TokenID)
		}
		res.OrphansDeleted = e.sweep(ctx, newClient, e.tag(st, req.Profile), known, l.infos)
	}
	return res, nil
}

// errSkipped stands for the listing a CreateOnly rotation does not make.
var errSkipped = errors.New("not listed")

// mint creates a tagged token and returns it with its times in this
// machine's clock, and the workspace's clock skew measured on the way (the
// token's creation time against the middle of the request). Like persist,
// it runs without the caller's cancellation: an interrupt between create
// and persist would leave a live token nobody holds.
func (e *Engine) mint(ctx context.Context, c workspace.Client, tag Tag, lifetime time.Duration) (workspace.NewToken, time.Duration, error) {
	ctx = context.WithoutCancel(ctx)
	before := e.Clock.Now()
	fresh, err := c.CreateToken(ctx, lifetime, tag.Comment())
	var rejected *workspace.MintRejectedError
	if errors.As(err, &rejected) && rejected.ID != "" {
		// Minted but unusable (empty, oversized, already expired...):
		// delete it at once and store nothing.
		_ = c.DeleteToken(ctx, rejected.ID)
	}
	if err != nil {
		return workspace.NewToken{}, 0, err
	}
	after := e.Clock.Now()
	if fresh.Expiry.IsZero() {
		// A token that never expires defeats the point; do not keep it.
		_ = c.DeleteToken(ctx, fresh.ID)
		return workspace.NewToken{}, 0, errors.New("the workspace minted a token without an expiry; refusing to use it")
	}
	skew := Skew(before, after, fresh.Created)
	fresh.Created, fresh.Expiry = fresh.Created.Add(-skew), fresh.Expiry.Add(-skew)
	return fresh, skew, nil
}

// SkewNoise is clock skew too small to correct or report: request
// latency, and the resolution of the workspace's times (a second in an
// HTTP Date header).
const SkewNoise = 2 * time.Second

// Skew is the workspace's clock minus this machine's, from a time the
// workspace gave (remote) during a request sent at before and answered at
// after (this machine's clock): against the request's middle, 0 below
// SkewNoise.
func Skew(before, after, remote time.Time) time.Duration {
	skew := remote.Sub(before.Add(after.Sub(before) / 2))
	if skew.Abs() < SkewNoise {
		return 0
	}
	return skew
}

// DescribeSkew says how the workspace's clock stands to this machine's:
// "2m ahead of this machine's", "30s behind this machine's", or "in step
// with this machine's" below SkewNoise.
func DescribeSkew(skew time.Duration) string {
	if skew.Abs() < SkewNoise {
		return "in step with this machine's"
	}
	side := "ahead of"
	if skew < 0 {
		side = "behind"
	}
	return policy.Short(skew.Abs().Round(time.Second)) + " " + side + " this machine's"
}

// SkewWarning is the clock skew above which coda says so, once.
const SkewWarning = time.Minute

// skewNote is the one-time warning for a skew that just crossed a minute.
func skewNote(previous policy.Duration, skew time.Duration) string {
	if skew.Abs() <= SkewWarning || time.Duration(previous).Abs() > SkewWarning {
		return ""
	}
	return "the workspace's clock is " + DescribeSkew(skew) + "; coda keeps token times in this machine's clock, but fix the clock (NTP) if you can"
}

// persist stores the successor as current, the old token as pending for
// grace, and the policy to keep; it returns the profile as stored.
func (e *Engine) persist(ctx context.Context, profile string, old store.Profile, fresh workspace.NewToken, skew, grace time.Duration, toStore policy.Settings) (store.Profile, error) {
	now := e.Clock.Now()
	var saved store.Profile
	err := e.Store.Update(context.WithoutCancel(ctx), func(st *store.State) error {
		p := st.Profile(profile)
		if p == nil || p.TokenID != old.TokenID {
			return fmt.Errorf("profile %q changed during the rotation", profile)
		}
		p.Pending = append(p.Pending, store.Pending{
			TokenID:     old.TokenID,
			DeleteAfter: now.Add(grace),
			ExpiresAt:   old.ExpiresAt,
		})
		p.Token, p.TokenID = fresh.Value, fresh.ID
		p.CreatedAt, p.ExpiresAt = fresh.Created, fresh.Expiry
		p.LastRotation = now
		p.Policy = toStore
		p.ClockSkew = policy.Duration(skew)
		saved = *p
		return nil
	})
	return saved, err
}

// rollback restores the old token when the workspace rejects the new one
// and queues the new one for deletion.
func (e *Engine) rollback(ctx context.Context, profile string, old store.Profile, fresh workspace.NewToken, cause error) error {
	err := e.Store.Update(context.WithoutCancel(ctx), func(st *store.State) error {
		p := st.Profile(profile)
		if p == nil || p.TokenID != fresh.ID {
			return nil
		}
		pending := slices.DeleteFunc(p.Pending, func(pe store.Pending) bool { return pe.TokenID == old.TokenID })
		*p = old
		p.Pending = append(pending, store.Pending{TokenID: fresh.ID, DeleteAfter: e.Clock.Now(), ExpiresAt: fresh.Expiry})
		return nil
	})
	if err != nil {
		return fmt.Errorf("the new token was rejected (%v) and restoring the old one failed: %w", cause, err)
	}
	return fmt.Errorf("the workspace rejected the token it had just minted (%v); kept the old token", cause)
}

// SinkFailure is a sink that does not hold the token it should.
type SinkFailure struct {
	Sink sink.Spec
	Err  error
}

func (f SinkFailure) Error() string { return f.Err.Error() }

// describe joins failures for a message.
func describe(fs []SinkFailure) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, f.Error())
	}
	return strings.Join(parts, "; ")
}

// deliver makes every sink of p hold p's token (none after revoke), then
// reads each back: a sink counts as delivered only when it is proven to
// hold the token.
func (e *Engine) deliver(profile string, p store.Profile) []SinkFailure {
	var failed []SinkFailure
	for _, s := range p.Sinks() {
		err := e.sinks().Put(s, p.Token)
		if err == nil {
			var got string
			if got, err = e.sinks().Get(s); err == nil && got != p.Token {
				err = fmt.Errorf("%s: does not hold the token after coda wrote it (another program rewrites it?)", s)
			}
		}
		if err != nil {
			failed = append(failed, SinkFailure{Sink: s, Err: err})
			e.emit(Event{Profile: profile, Kind: EventSinkFailed, TokenID: p.TokenID, Message: err.Error()})
		}
	}
	return failed
}

// DeleteDue delivers the current token to every sink and deletes, with the
// current token, every pending token whose grace has passed. It is what the
// watcher runs on schedule.
func (e *Engine) DeleteDue(ctx context.Context, profile string) (deleted []string, pending []store.Pending, held []SinkFailure, err error) {
	unlock, err := e.Store.LockProfile(ctx, profile)
	if err != nil {
		return nil, nil, nil, err
	}
	defer unlock()
	_, p, err := e.liveProfile(profile)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := e.Clients(p.Host, p.Token)
	if err != nil {
		return nil, nil, nil, err
	}
	held = e.deliver(profile, *p)
	deleted, pending, err = e.deleteDue(ctx, profile, c, held)
	return deleted, pending, held, err
}

// deleteDue expects the profile lock to be held. Expired tokens are
// dropped without a request. While a sink fails (held), no live token is
// deleted: the tool may still be using it. A failed delete stays pending
// with its error recorded; it never fails the caller.
func (e *Engine) deleteDue(ctx context.Context, profile string, c workspace.Client, held []SinkFailure) ([]string, []store.Pending, error) {
	st, err := e.Store.Load()
	if err != nil {
		return nil, nil, err
	}
	p := st.Profile(profile)
	if p == nil {
		return nil, nil, nil
	}
	now := e.Clock.Now()
	type outcome struct {
		done   bool
		err    error
		tries  int
		heldBy string
	}
	outcomes := map[string]outcome{}
	var deleted []string
	heldBy := describe(held)
	for _, pe := range p.Pending {
		switch {
		case !pe.ExpiresAt.IsZero() && !now.Before(pe.ExpiresAt):
			// Expired tokens are already dead; no request needed.
			outcomes[pe.TokenID] = outcome{done: true}
			e.emit(Event{Profile: profile, Kind: EventExpiredDropped, TokenID: pe.TokenID})
		case now.Before(pe.DeleteAfter), pe.Host != "" && pe.Host != p.Host:
			// Not due; or a token of the previous host, which only expires.
			continue
		case len(held) > 0:
			outcomes[pe.TokenID] = outcome{heldBy: heldBy}
			e.emit(Event{Profile: profile, Kind: EventDeleteHeld, TokenID: pe.TokenID,
				Message: "not deleted while a tool may still hold it: " + heldBy})
		default:
			tries, err := e.deleteWithRetry(ctx, c, pe.TokenID)
			if tries == 0 {
				continue // interrupted before the workspace answered: not a failure
			}
			outcomes[pe.TokenID] = outcome{done: err == nil, err: err, tries: tries}
			if err == nil {
				deleted = append(deleted, pe.TokenID)
				e.emit(Event{Profile: profile, Kind: EventDeleted, TokenID: pe.TokenID})
			} else if ctx.Err() == nil {
				e.emit(Event{Profile: profile, Kind: EventDeleteFailed, TokenID: pe.TokenID,
					Message: err.Error() + "; will retry at the next rotation"})
			}
		}
	}
	if len(outcomes) == 0 && len(held) == 0 && !slices.ContainsFunc(p.Pending, func(pe store.Pending) bool { return pe.HeldBy != "" }) {
		return nil, p.Pending, nil
	}
	var remaining []store.Pending
	var dead error
	for _, o := range outcomes {
		if workspace.KindOf(o.err) == workspace.KindInvalidToken {
			dead = o.err
		}
	}
	err = e.Store.Update(context.WithoutCancel(ctx), func(st *store.State) error {
		p := st.Profile(profile)
		if p == nil {
			return nil
		}
		p.Pending = slices.DeleteFunc(p.Pending, func(pe store.Pending) bool { return outcomes[pe.TokenID].done })
		for i := range p.Pending {
			pe := &p.Pending[i]
			pe.HeldBy = heldBy
			if o, ok := outcomes[pe.TokenID]; ok && o.err != nil {
				pe.Attempts += o.tries
				pe.LastError = o.err.Error()
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
func (e *Engine) deleteWithRetry(ctx context.Context, c workspace.Client, id string) (int, error) {
	attempts := e.DeleteAttempts
	if attempts <= 0 {
		attempts = 3
	}
	wait := e.DeleteBackoff
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
		if e.Clock.Sleep(ctx, wait+e.jitter(wait/2)) != nil {
			return i, err
		}
		wait *= 2
	}
}

// sweep deletes tokens with this installation's and profile's tag that coda
// does not know (current, pending or just deleted): a create whose response
// was lost.
func (e *Engine) sweep(ctx context.Context, c workspace.Client, tag Tag, known []string, infos []workspace.TokenInfo) []string {
	var swept []string
	for _, ti := range infos {
		if t, ok := ParseTag(ti.Comment); !ok || t != tag || slices.Contains(known, ti.ID) {
			continue
		}
		if err := c.DeleteToken(ctx, ti.ID); err != nil {
			e.emit(Event{Profile: tag.Profile, Kind: EventDeleteFailed, TokenID: ti.ID, Message: "orphan: " + err.Error()})
			continue
		}
		swept = append(swept, ti.ID)
		e.emit(Event{Profile: tag.Profile, Kind: EventOrphanDeleted, TokenID: ti.ID})
	}
	return swept
}

// heldIDs are the token ids the local profiles hold (current and pending),
// except those of profile skip.
func heldIDs(st *store.State, skip string) []string {
	var ids []string
	for _, name := range st.ProfileNames() {
		if name == skip {
			continue
		}
		p := st.Profile(name)
		ids = append(ids, p.TokenID)
		for _, pe := range p.Pending {
			ids = append(ids, pe.TokenID)
		}
	}
	return ids
}
