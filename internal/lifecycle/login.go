package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// LoginRequest is a pasted PAT to swap for a coda token.
type LoginRequest struct {
	Profile string
	Host    string // normalised
	PAT     string
	Timing  Timing
}

// LoginResult says who logged in and which token coda now holds.
type LoginResult struct {
	Profile      string
	Host         string
	User         workspace.User
	TokenID      string
	ExpiresAt    time.Time
	SinkFailures []SinkFailure
}

// Login checks the PAT with that token alone, mints a tagged coda token
// with it and stores that as the profile's token. A previous token of the
// same host stays pending for the grace; the tools the profile set up get
// the new token.
func (e *Engine) Login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
	// The policy is checked before any request. A profile logged in again
	// to the same host keeps its settings and tools.
	snapshot, err := e.Store.Load()
	if err != nil {
		return nil, err
	}
	var stored store.Profile
	if prev := snapshot.Profile(req.Profile); prev != nil && prev.Host == req.Host {
		stored = *prev
	}
	inForce, toStore, err := req.Timing.Resolve(stored.Policy)
	if err != nil {
		return nil, err
	}
	if err := CheckPolicy(&stored, inForce, toStore); err != nil {
		return nil, err
	}

	pasted, err := e.Clients(req.Host, req.PAT)
	if err != nil {
		return nil, err
	}
	me, err := pasted.Me(ctx)
	if err != nil {
		return nil, explain(req.Host, "check the token", err)
	}

	unlock, err := e.Store.LockProfile(ctx, req.Profile)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var tag Tag
	if err := e.Store.Update(ctx, func(s *store.State) error { tag = e.tag(s, req.Profile); return nil }); err != nil {
		return nil, err
	}

	// From here on an interrupt must not separate the create from the save.
	saveCtx := context.WithoutCancel(ctx)
	minted, err := e.mint(saveCtx, pasted, tag, inForce.LifetimeD())
	if err != nil {
		return nil, explain(req.Host, "create coda's token", err)
	}
	now := e.Clock.Now()
	var saved store.Profile
	err = e.Store.Update(saveCtx, func(s *store.State) error {
		prev := s.Profile(req.Profile)
		p := &store.Profile{
			Host: req.Host, User: me.UserName,
			Token: minted.Value, TokenID: minted.ID,
			CreatedAt: minted.Created, ExpiresAt: minted.Expiry,
			Policy: toStore,
		}
		if prev != nil && prev.Host == req.Host {
			// The previous coda tokens of this profile are deleted by the
			// next rotation, after the grace.
			p.Settings, p.Tools, p.Pending = prev.Settings, prev.Tools, prev.Pending
			if prev.TokenID != "" {
				p.Pending = append(p.Pending, store.Pending{TokenID: prev.TokenID,
					DeleteAfter: now.Add(inForce.GraceD()), ExpiresAt: prev.ExpiresAt})
			}
		}
		s.Profiles[req.Profile] = p
		saved = *p
		return nil
	})
	if err != nil {
		_ = pasted.DeleteToken(saveCtx, minted.ID)
		return nil, fmt.Errorf("store coda's token: %w", err)
	}
	return &LoginResult{
		Profile: req.Profile, Host: req.Host, User: me,
		TokenID: minted.ID, ExpiresAt: minted.Expiry,
		SinkFailures: e.deliver(req.Profile, saved),
	}, nil
}

// explain turns a workspace error at login into the next step to take.
func explain(host, what string, err error) error {
	switch workspace.KindOf(err) {
	case workspace.KindInvalidToken:
		return exit.Authf("%s rejected the token (%v): create a new personal access token in the workspace (Settings > Developer > Access tokens) and run coda login again", host, err)
	case workspace.KindPermission:
		return fmt.Errorf("%s does not let this user %s (%v): ask a workspace admin for token permissions", host, what, err)
	case workspace.KindQuota:
		return fmt.Errorf("%s: too many live tokens (%v): delete unused ones in Settings > Developer > Access tokens", host, err)
	case workspace.KindTransient, workspace.KindRateLimited:
		return fmt.Errorf("could not %s at %s (%v): check the URL and your network, then try again", what, host, err)
	}
	return fmt.Errorf("could not %s at %s: %w", what, host, err)
}

// RevokePastedAuto is RevokePasted's want for "find the pasted token".
const RevokePastedAuto = "auto"

// PastedCandidate is a token that might be the pasted PAT.
type PastedCandidate = workspace.TokenInfo

// RevokePasted deletes the token the user pasted, with the profile's coda
// token. The workspace lists no token values, so it is recognised as the
// one non-coda token created in the last hour, or named by (a suffix of)
// its id. With no single match it returns the candidates and an error.
func (e *Engine) RevokePasted(ctx context.Context, profile, want string) (string, []PastedCandidate, error) {
	_, p, err := e.liveProfile(profile)
	if err != nil {
		return "", nil, err
	}
	c, err := e.Clients(p.Host, p.Token)
	if err != nil {
		return "", nil, err
	}
	infos, err := c.ListTokens(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("logged in, but could not list tokens to revoke the pasted one: %w", err)
	}
	since := e.Clock.Now().Add(-time.Hour)
	var candidates []PastedCandidate
	for _, ti := range infos {
		if IsCodaComment(ti.Comment) {
			continue
		}
		if want == RevokePastedAuto && ti.Created.Before(since) {
			continue
		}
		if want != RevokePastedAuto && !strings.HasSuffix(ti.ID, want) {
			continue
		}
		candidates = append(candidates, ti)
	}
	if len(candidates) != 1 {
		slices.SortFunc(candidates, func(a, b PastedCandidate) int { return a.Created.Compare(b.Created) })
		if want != RevokePastedAuto {
			return "", candidates, fmt.Errorf("logged in, but %d of your tokens match --revoke-pasted=%s (coda's own never do): give more of the id", len(candidates), want)
		}
		return "", candidates, fmt.Errorf("logged in, but %d tokens coda did not create were made in the last hour, so none was revoked: run coda login --revoke-pasted=TOKEN_ID with one of the ids above", len(candidates))
	}
	if err := c.DeleteToken(ctx, candidates[0].ID); err != nil {
		return "", nil, fmt.Errorf("logged in, but could not delete the pasted token %s: %w", redact.Suffix(candidates[0].ID), err)
	}
	return candidates[0].ID, nil, nil
}
