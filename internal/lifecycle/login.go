package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// LoginRequest is a pasted PAT to swap for a coda token.
type LoginRequest struct {
	Profile string
	Host    string // normalised
	// PAT is the pasted personal access token, or the bearer token of a
	// Databricks CLI profile (its PAT or an OAuth access token).
	PAT string
	// DatabricksProfile names the Databricks CLI profile PAT came from
	// ("" for a pasted token), so errors say what to renew.
	DatabricksProfile string
	Timing            Timing
	// Storage is where the profile keeps its token from now on:
	// store.StorageKeyring or store.StorageFile ("" is the file). The
	// command chooses it (coda login --storage) and probes the keyring.
	Storage string
}

// LoginResult says who logged in and which token coda now holds.
type LoginResult struct {
	Profile      string
	Host         string
	User         workspace.User
	TokenID      string
	ExpiresAt    time.Time
	ClockSkew    time.Duration
	SkewWarning  string
	SinkFailures []SinkFailure
	// Storage is where the token is kept.
	Storage string
	// KeptTools says the profile kept the tools it had set up (a login
	// again to the same host).
	KeptTools bool
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
		return nil, explain(req, "check the token", err)
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

	// A profile moving to another host first deletes its tokens on the
	// old one, with its own (still live) token.
	var leftOnOldHost []store.Pending
	if prev := snapshot.Profile(req.Profile); prev != nil && prev.Host != req.Host {
		leftOnOldHost = e.retire(ctx, req.Profile, prev)
	}

	// From here on an interrupt must not separate the create from the save.
	saveCtx := context.WithoutCancel(ctx)
	minted, skew, err := e.mint(saveCtx, pasted, tag, inForce.LifetimeD())
	if err != nil {
		return nil, explain(req, "create coda's token", err)
	}
	now := e.Clock.Now()
	storage := req.Storage
	if storage == "" {
		storage = store.StorageFile
	}
	var saved store.Profile
	err = e.Store.Update(saveCtx, func(s *store.State) error {
		prev := s.Profile(req.Profile)
		p := &store.Profile{
			Host: req.Host, User: me.UserName,
			Token: minted.Value, TokenID: minted.ID, Storage: storage,
			CreatedAt: minted.Created, ExpiresAt: minted.Expiry,
			Policy: toStore, ClockSkew: policy.Duration(skew),
		}
		switch {
		case prev != nil && prev.Host == req.Host:
			// The previous coda tokens of this profile are deleted by the
			// next rotation, after the grace.
			p.Settings, p.Tools, p.Pending, p.Proxy = prev.Settings, prev.Tools, prev.Pending, prev.Proxy
			if prev.TokenID != "" {
				p.Pending = append(p.Pending, store.Pending{TokenID: prev.TokenID,
					DeleteAfter: now.Add(inForce.GraceD()), ExpiresAt: prev.ExpiresAt})
			}
		case prev != nil:
			// Tokens of the old host that could not be deleted are never
			// forgotten: they stay listed until they expire.
			p.Pending = append(p.Pending, leftOnOldHost...)
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
		TokenID: minted.ID, ExpiresAt: minted.Expiry, ClockSkew: skew,
		SkewWarning:  skewNote(stored.ClockSkew, skew),
		SinkFailures: e.deliver(req.Profile, saved),
		Storage:      storage,
		KeptTools:    len(saved.Tools) > 0,
	}, nil
}

// retire deletes the current and pending tokens of a profile's previous
// host (the current one last: it authenticates the others) and returns
// those it could not delete, marked with that host.
func (e *Engine) retire(ctx context.Context, profile string, prev *store.Profile) []store.Pending {
	var left []store.Pending
	keep := func(pe store.Pending) {
		pe.Host = prev.Host
		left = append(left, pe)
	}
	all := slices.Clone(prev.Pending)
	if prev.TokenID != "" {
		all = append(all, store.Pending{TokenID: prev.TokenID, ExpiresAt: prev.ExpiresAt})
	}
	now := e.Clock.Now()
	var c workspace.Client
	if prev.Live(now) && prev.Unseal() == nil {
		c, _ = e.Clients(prev.Host, prev.Token)
	}
	for _, pe := range all {
		switch {
		case pe.Host != "" && pe.Host != prev.Host, !pe.ExpiresAt.IsZero() && !now.Before(pe.ExpiresAt):
			if pe.ExpiresAt.After(now) {
				left = append(left, pe)
			}
		case c == nil:
			keep(pe)
		default:
			if err := c.DeleteToken(ctx, pe.TokenID); err != nil {
				pe.LastError, pe.Attempts = err.Error(), pe.Attempts+1
				keep(pe)
			} else {
				e.emit(Event{Profile: profile, Kind: EventDeleted, TokenID: pe.TokenID, Message: "on " + prev.Host})
			}
		}
	}
	return left
}

// explain turns a workspace error at login into the next step to take.
func explain(req LoginRequest, what string, err error) error {
	host, from := req.Host, req.DatabricksProfile
	if scope := workspace.MissingScope(err); scope != "" {
		// A scoped token: creating tokens needs "authentication".
		if from != "" {
			return fmt.Errorf("the credentials of Databricks CLI profile %s lack the %s scope, which coda needs to %s (%v): renew them with that scope (or all APIs) and run coda login again", from, scope, what, err)
		}
		return fmt.Errorf("the token lacks the %s scope, which coda needs to %s (%v): create a personal access token with that scope (or all APIs) and run coda login again", scope, what, err)
	}
	switch workspace.KindOf(err) {
	case workspace.KindInvalidToken:
		if from != "" {
			return exit.Authf("%s rejected the credentials of Databricks CLI profile %s (%v): renew them (databricks auth login --profile %s, or a new token in the profile) and run coda login again", host, from, err, from)
		}
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

// RevokePastedAsk is --revoke-pasted without an id: list the candidates
// and let the person choose (only on a terminal).
const RevokePastedAsk = "ask"

// PastedCandidate is a token that might be the pasted PAT.
type PastedCandidate = workspace.TokenInfo

// PastedCandidates lists the tokens of the user that coda did not mint,
// newest first. The workspace lists no token values, so which of them is
// the pasted PAT is the person's to say: coda never guesses.
func (e *Engine) PastedCandidates(ctx context.Context, profile string) ([]PastedCandidate, error) {
	c, err := e.currentClient(profile)
	if err != nil {
		return nil, err
	}
	infos, err := c.ListTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("could not list your tokens to find the pasted one: %w", err)
	}
	var out []PastedCandidate
	for _, ti := range infos {
		if !IsCodaComment(ti.Comment) {
			out = append(out, ti)
		}
	}
	slices.SortFunc(out, func(a, b PastedCandidate) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// RevokePasted deletes, with the profile's coda token, the one token coda
// did not mint whose id ends in idSuffix. No match, or more than one, is an
// error that lists the candidates; coda's own tokens never match. login
// --revoke-pasted and revoke --pasted both come here.
func (e *Engine) RevokePasted(ctx context.Context, profile, idSuffix string) (string, []PastedCandidate, error) {
	all, err := e.PastedCandidates(ctx, profile)
	if err != nil {
		return "", nil, err
	}
	var match []PastedCandidate
	for _, ti := range all {
		if strings.HasSuffix(ti.ID, idSuffix) {
			match = append(match, ti)
		}
	}
	if len(match) != 1 {
		listed := match
		if len(match) == 0 {
			listed = all
		}
		return "", listed, fmt.Errorf("%d of your tokens match the id %s (coda's own never do): give more of the id, or one of those listed", len(match), redact.Line(redact.Secrets(idSuffix), 80))
	}
	c, err := e.currentClient(profile)
	if err != nil {
		return "", nil, err
	}
	if err := c.DeleteToken(ctx, match[0].ID); err != nil {
		return "", nil, fmt.Errorf("could not delete the pasted token %s: %w", redact.Suffix(match[0].ID), err)
	}
	return match[0].ID, nil, nil
}

// currentClient is a client authenticated with profile's live token.
func (e *Engine) currentClient(profile string) (workspace.Client, error) {
	_, p, err := e.liveProfile(profile)
	if err != nil {
		return nil, err
	}
	return e.Clients(p.Host, p.Token)
}
