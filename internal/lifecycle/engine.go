// Package lifecycle is coda's one token lifecycle engine: Login swaps a
// pasted PAT for a coda token, Rotate replaces it, EnsureFresh hands out a
// token with enough life left (rotating if needed), Revoke ends it, and
// Watch rotates on schedule. Each returns a result the command renders;
// commands parse flags, call the engine and print.
//
// The rules that keep tokens safe live here once: the tag on every token
// coda mints, the set of token ids coda knows, the pending-with-grace rule,
// and delivery to the tools' sinks. An old token is deleted only when every
// sink is proven (read back) to hold its successor, or when it has expired
// anyway: a deletion is the one irreversible act coda performs.
package lifecycle

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// Event kinds, as they appear in the watch log and its JSON.
const (
	EventRotated        = "rotated"
	EventDeleted        = "deleted"
	EventDeleteFailed   = "delete_failed"
	EventDeleteHeld     = "delete_held"
	EventExpiredDropped = "expired_dropped"
	EventOrphanDeleted  = "orphan_deleted"
	EventSinkFailed     = "sink_failed"
	EventVerifyFailed   = "verify_failed"
	EventRetry          = "retry"
	EventIdle           = "idle"
	EventIdleUnknown    = "idle_unknown"
	EventExpiryWarning  = "expiry_warning"
	EventStarted        = "started"
	EventStopped        = "stopped"
	EventWaiting        = "waiting"
	EventClockSkew      = "clock_skew"
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

// Engine runs the lifecycle against one store.
type Engine struct {
	Store   store.Store
	Clients workspace.Factory
	Clock   clock.Clock
	// Sinks writes tokens into the tools' files (nil: sink.Writer{}).
	Sinks SinkWriter
	// Events receives progress; nil drops it.
	Events func(Event)
	// Jitter returns a random extra wait in [0, d); nil means uniform.
	Jitter func(d time.Duration) time.Duration
	// DeleteAttempts is how often one rotation tries to delete an old token
	// before leaving it pending (default 3), DeleteBackoff the first wait.
	DeleteAttempts int
	DeleteBackoff  time.Duration
}

// SinkWriter puts a token into a sink and reads back what it holds;
// sink.Writer is the real one.
type SinkWriter interface {
	Put(s sink.Spec, token string) error
	Get(s sink.Spec) (string, error)
}

func (e *Engine) sinks() SinkWriter {
	if e.Sinks == nil {
		return sink.Writer{}
	}
	return e.Sinks
}

// Timing resolves the policy in force from the profile's stored settings
// (flags, CODA_* and config.yaml over them) and the settings to store back
// (the stored ones with the flags the user gave). nil keeps the stored
// settings.
type Timing func(stored policy.Settings) (inForce policy.Policy, toStore policy.Settings, err error)

// Resolve applies t to the stored settings.
func (t Timing) Resolve(stored policy.Settings) (inForce policy.Policy, toStore policy.Settings, err error) {
	if t == nil {
		return stored.Policy(), stored, nil
	}
	return t(stored)
}

// CheckPolicy validates the policy in force and the one to store against
// the profile's configured helpers.
func CheckPolicy(p *store.Profile, inForce policy.Policy, toStore policy.Settings) error {
	if err := inForce.Validate(); err != nil {
		return err
	}
	if stored := toStore.Policy(); stored != inForce {
		if err := stored.Validate(); err != nil {
			return exit.Usagef("%v (as stored in the profile, without CODA_* and config.yaml)", err)
		}
	}
	helpers, refresh := p.Helpers()
	return policy.CheckHelpers(inForce.GraceD(), refresh, helpers)
}

func (e *Engine) emit(ev Event) {
	if e.Events == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = e.Clock.Now()
	}
	e.Events(ev)
}

func (e *Engine) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	if e.Jitter != nil {
		return e.Jitter(d)
	}
	return rand.N(d)
}

// LoginRequired builds the exit-4 error for a profile whose token is gone.
func LoginRequired(profile, why string) error {
	return exit.Authf("%s; run: coda login%s", why, store.ProfileFlag(profile))
}

// liveProfile loads the profile, checks it still holds a live token and
// reads that token (from the keyring, for a profile that keeps it there).
func (e *Engine) liveProfile(name string) (*store.State, *store.Profile, error) {
	st, err := e.Store.Load()
	if err != nil {
		return nil, nil, err
	}
	p := st.Profile(name)
	if p == nil || !p.HasToken() {
		return st, nil, LoginRequired(name, fmt.Sprintf("profile %q is not logged in", name))
	}
	if !p.Live(e.Clock.Now()) {
		return st, p, LoginRequired(name, fmt.Sprintf("the token of profile %q expired at %s", name, p.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	if err := p.Unseal(); err != nil {
		return st, nil, err
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
