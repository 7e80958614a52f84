package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/store"
)

// Fresh is a token handed out by EnsureFresh.
type Fresh struct {
	Token     string
	TokenID   string
	ExpiresAt time.Time
	Rotated   bool
	// Warning says why a token with less than min-ttl left was handed out
	// (the rotation failed but the token still works).
	Warning string
}

// EnsureFresh returns the profile's token when it has at least the
// policy's min-ttl left, reading the store and nothing else. Otherwise it
// rotates first, under the lock, so helpers racing each other rotate once;
// that rotation only creates, stores and delivers (RotateRequest.CreateOnly)
// so a helper's answer never waits on deletes.
func (e *Engine) EnsureFresh(ctx context.Context, profile string, timing Timing) (*Fresh, error) {
	p, err := e.current(profile)
	if err != nil {
		return nil, err
	}
	inForce, toStore, err := timing.Resolve(p.Policy)
	if err != nil {
		return nil, err
	}
	if err := CheckPolicy(p, inForce, toStore); err != nil {
		return nil, err
	}
	minTTL := max(inForce.MinTTLD(), policy.ExpiringWindow)
	out := &Fresh{Token: p.Token, TokenID: p.TokenID, ExpiresAt: p.ExpiresAt}
	if p.Remaining(e.Clock.Now()) >= minTTL {
		return out, nil
	}
	res, err := e.Rotate(ctx, RotateRequest{Profile: profile, Timing: timing, MinRemaining: minTTL, CreateOnly: true})
	switch {
	case err == nil:
		if p, err = e.current(profile); err != nil {
			return nil, err
		}
		out = &Fresh{Token: p.Token, TokenID: p.TokenID, ExpiresAt: p.ExpiresAt, Rotated: !res.Skipped,
			Warning: strings.Join(res.Warnings, "; ")}
	case exit.CodeOf(err) == exit.Auth || exit.CodeOf(err) == exit.Usage || !p.Live(e.Clock.Now()):
		return nil, err
	default:
		// A token that still works beats none: say why and hand it out.
		out.Warning = fmt.Sprintf("could not rotate (%v); the current token expires in %s",
			err, p.Remaining(e.Clock.Now()).Round(time.Second))
	}
	if !p.Live(e.Clock.Now()) {
		return nil, LoginRequired(profile, fmt.Sprintf("the token of profile %q expired", profile))
	}
	return out, nil
}

// current loads the profile and reads its token. A keyring entry that
// vanished between reading the file and reading the keyring was deleted by
// a rotation that finished in between (with no grace): the file read
// again names its successor.
func (e *Engine) current(profile string) (*store.Profile, error) {
	for retried := false; ; retried = true {
		st, err := e.Store.Load()
		if err != nil {
			return nil, err
		}
		p := st.Profile(profile)
		if !p.HasToken() {
			return nil, LoginRequired(profile, fmt.Sprintf("profile %q is not logged in", profile))
		}
		err = p.Unseal()
		if err != nil && !retried && errors.Is(err, store.ErrKeyringNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}
