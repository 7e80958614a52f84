package lifecycle

import (
	"context"
	"slices"
	"time"

	"github.com/coda-cli/coda/internal/store"
)

// RevokeFailure is a token that could not be deleted.
type RevokeFailure struct {
	TokenID string
	Err     string
}

// RevokeResult says what Revoke did.
type RevokeResult struct {
	Profile string
	// Found is false when the profile was not logged in (nothing done).
	Found      bool
	Deleted    []string
	NotDeleted []RevokeFailure
	// ListFailed is set when --all could not list the other tokens.
	ListFailed   string
	SinkFailures []SinkFailure
}

// Revoke deletes the profile's pending tokens, then (all) every other
// token of this installation that no other local profile holds, then the
// current token (it authenticates the others), takes the token out of every
// sink, and forgets the profile. The local part happens whatever the
// workspace said.
func (e *Engine) Revoke(ctx context.Context, profile string, all bool) (*RevokeResult, error) {
	unlock, err := e.Store.LockProfile(ctx, profile)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := e.Store.Load()
	if err != nil {
		return nil, err
	}
	res := &RevokeResult{Profile: profile}
	p := st.Profile(profile)
	if p == nil {
		return res, nil
	}
	res.Found = true
	e.deleteAll(ctx, st, profile, p, all, res)

	cleared := *p
	cleared.Token = ""
	res.SinkFailures = e.deliver(profile, cleared)
	err = e.Store.Update(context.WithoutCancel(ctx), func(s *store.State) error {
		delete(s.Profiles, profile)
		return nil
	})
	return res, err
}

func (e *Engine) deleteAll(ctx context.Context, st *store.State, profile string, p *store.Profile, all bool, res *RevokeResult) {
	ids := []string{}
	fail := func(id, why string) { res.NotDeleted = append(res.NotDeleted, RevokeFailure{id, why}) }
	for _, pe := range p.Pending {
		if pe.Host != "" && pe.Host != p.Host {
			if e.Clock.Now().Before(pe.ExpiresAt) {
				fail(pe.TokenID, "a token of "+pe.Host+", where this profile no longer logs in; it expires at "+pe.ExpiresAt.UTC().Format(time.RFC3339))
			}
			continue
		}
		ids = append(ids, pe.TokenID)
	}
	if !p.Live(e.Clock.Now()) {
		for _, id := range append(ids, p.TokenID) {
			fail(id, "the token expired, so nothing can authenticate the delete")
		}
		return
	}
	// A keyring out of reach leaves the tokens to expire; the profile is
	// forgotten all the same.
	if err := p.Unseal(); err != nil {
		for _, id := range append(ids, p.TokenID) {
			fail(id, err.Error())
		}
		return
	}
	c, err := e.Clients(p.Host, p.Token)
	if err != nil {
		for _, id := range append(ids, p.TokenID) {
			fail(id, err.Error())
		}
		return
	}
	if all {
		infos, err := c.ListTokens(ctx)
		if err != nil {
			res.ListFailed = err.Error()
		}
		mine := e.tag(st, profile)
		keep := append(heldIDs(st, profile), ids...)
		keep = append(keep, p.TokenID)
		for _, ti := range infos {
			// A token of a copy of this store is the copy's; one minted
			// before coda tagged stores (no store id) is this installation's.
			if t, ok := ParseTag(ti.Comment); ok && t.InstallationID == st.InstallationID && (t.Store == mine.Store || t.Store == "") && !slices.Contains(keep, ti.ID) {
				ids = append(ids, ti.ID)
			}
		}
	}
	for _, id := range append(ids, p.TokenID) {
		if err := c.DeleteToken(ctx, id); err != nil {
			fail(id, err.Error())
			continue
		}
		res.Deleted = append(res.Deleted, id)
	}
}
