// Package revoke implements `coda revoke`: delete coda's tokens in the
// workspace and forget the profile locally.
package revoke

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/rotation"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// Options are revoke's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	All bool
}

// NewCmdRevoke builds the command; runF replaces the run function in tests.
func NewCmdRevoke(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "revoke [--all]",
		Short: "Delete coda's tokens in the workspace and forget the profile",
		Long: `Delete the profile's current token and the old tokens waiting for deletion
in the workspace, then forget the profile locally and ask the configured CLIs
to drop the token. --all also deletes every other token that this
installation of coda minted for the profile's workspace (except those other
local profiles still use).

The local part always happens, even offline. Tokens that could not be
deleted are listed (they expire on their own) and the exit code is 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "also delete every other token this installation minted")
	return cmd
}

type failure struct {
	TokenID string `json:"token_id"`
	Error   string `json:"error"`
}

type resultJSON struct {
	Version    int       `json:"version"`
	Profile    string    `json:"profile"`
	Deleted    []string  `json:"deleted"`
	NotDeleted []failure `json:"not_deleted"`
	Warnings   []string  `json:"warnings"`
	Cleared    bool      `json:"cleared"`
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, err := f.Profile()
	if err != nil {
		return err
	}
	st, err := f.Store()
	if err != nil {
		return err
	}
	unlock, err := st.LockProfile(ctx, profile)
	if err != nil {
		return err
	}
	defer unlock()
	state, err := st.Load()
	if err != nil {
		return err
	}
	p := state.Profile(profile)
	res := resultJSON{Version: cmdutil.JSONVersion, Profile: profile, Deleted: []string{}, NotDeleted: []failure{}, Warnings: []string{}}
	if p == nil {
		if f.JSON() {
			return cmdutil.PrintJSON(f.IO.Out, res)
		}
		fmt.Fprintf(f.IO.Out, "Profile %s is not logged in; nothing to revoke.\n", profile)
		return nil
	}

	deleteAll(ctx, opts, state, profile, p, &res)

	// The local part happens whatever the workspace said.
	err = st.Update(context.WithoutCancel(ctx), func(s *store.State) error {
		delete(s.Profiles, profile)
		return nil
	})
	if err != nil {
		return err
	}
	res.Cleared = true
	for _, c := range f.TokenConsumers() {
		if err := c.TokenRevoked(ctx, profile, *p); err != nil {
			fmt.Fprintf(f.IO.ErrOut, "warning: %s: %v\n", c.Name(), err)
		}
	}

	if f.JSON() {
		if err := cmdutil.PrintJSON(f.IO.Out, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(f.IO.Out, "Revoked profile %s.\n", profile)
		if len(res.Deleted) > 0 {
			fmt.Fprintf(f.IO.Out, "Deleted %s.\n", strings.Join(res.Deleted, ", "))
		}
		for _, w := range res.Warnings {
			fmt.Fprintln(f.IO.ErrOut, "warning:", w)
		}
		for _, fl := range res.NotDeleted {
			fmt.Fprintf(f.IO.ErrOut, "Could not delete %s: %s\n", fl.TokenID, fl.Error)
		}
	}
	if len(res.NotDeleted) > 0 {
		return fmt.Errorf("%d token(s) could not be deleted; they expire on their own (at most --lifetime after their creation)", len(res.NotDeleted))
	}
	if len(res.Warnings) > 0 {
		return errors.New("--all could not list this installation's other tokens, so they were left to expire on their own")
	}
	return nil
}

// deleteAll deletes the pending tokens, then (--all) other tagged ones,
// and the current token last: it is the one that authenticates the others.
func deleteAll(ctx context.Context, opts *Options, state *store.State, profile string, p *store.Profile, res *resultJSON) {
	ids := []string{}
	for _, pe := range p.Pending {
		ids = append(ids, pe.TokenID)
	}
	fail := func(id, why string) { res.NotDeleted = append(res.NotDeleted, failure{redact.Suffix(id), why}) }
	if !p.Live(opts.F.Clock.Now()) {
		for _, id := range append(ids, p.TokenID) {
			fail(id, "the token expired, so nothing can authenticate the delete")
		}
		return
	}
	c, err := opts.F.Clients(p.Host, p.Token)
	if err != nil {
		for _, id := range append(ids, p.TokenID) {
			fail(id, err.Error())
		}
		return
	}
	if opts.All {
		more, err := others(ctx, c, state, profile, p)
		if err != nil {
			res.Warnings = append(res.Warnings, "could not list tokens for --all: "+err.Error())
		}
		ids = append(ids, more...)
	}
	for _, id := range append(ids, p.TokenID) {
		if err := c.DeleteToken(ctx, id); err != nil {
			fail(id, err.Error())
			continue
		}
		res.Deleted = append(res.Deleted, redact.Suffix(id))
	}
}

// others lists this installation's tokens on the workspace that no other
// local profile holds.
func others(ctx context.Context, c workspace.Client, state *store.State, profile string, p *store.Profile) ([]string, error) {
	infos, err := c.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	keep := []string{p.TokenID}
	for _, pe := range p.Pending {
		keep = append(keep, pe.TokenID)
	}
	for _, name := range state.ProfileNames() {
		if name == profile {
			continue
		}
		o := state.Profile(name)
		keep = append(keep, o.TokenID)
		for _, pe := range o.Pending {
			keep = append(keep, pe.TokenID)
		}
	}
	var ids []string
	for _, ti := range infos {
		if t, ok := rotation.ParseTag(ti.Comment); ok && t.InstallationID == state.InstallationID && !slices.Contains(keep, ti.ID) {
			ids = append(ids, ti.ID)
		}
	}
	return ids, nil
}
