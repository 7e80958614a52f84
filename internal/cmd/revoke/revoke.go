// Package revoke implements `coda revoke`: delete coda's tokens in the
// workspace and forget the profile locally, or (--pasted) delete the PAT
// that was pasted into coda login, with coda's own token.
package revoke

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/redact"
)

// Options are revoke's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	All bool
	// Pasted is the id (or an id suffix) of a pasted PAT to delete.
	Pasted string
}

// NewCmdRevoke builds the command; runF replaces the run function in tests.
func NewCmdRevoke(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "revoke [--all | --pasted TOKEN_ID]",
		Short: "Delete coda's tokens in the workspace and forget the profile",
		Long: `Delete the profile's current token and the old tokens waiting for deletion
in the workspace, take the token out of every tool file that holds it, then
forget the profile locally. --all also deletes every other token that this
installation of coda minted for the profile's workspace (except those other
local profiles still use).

The local part always happens, even offline. Tokens that could not be
deleted are listed (they expire on their own) and the exit code is 1.

--pasted TOKEN_ID does something else: it deletes the personal access
token you pasted into coda login (a suffix of its id is enough), with
coda's own token, so you never paste it again; the login stays. Only a
token coda did not create can match; none or several matches list your
tokens and delete nothing.`,
		Example: `  coda revoke
  coda revoke --all
  coda revoke --pasted 3f9a`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case cmd.Flags().Changed("pasted") && strings.TrimSpace(opts.Pasted) == "":
				return exit.Usagef("--pasted needs the id of the token you pasted (a suffix is enough), from the workspace's Access tokens page")
			case opts.Pasted != "" && opts.All:
				return exit.Usagef("--pasted deletes one pasted token and keeps the login; --all ends the login: choose one")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "also delete every other token this installation minted")
	cmd.Flags().StringVar(&opts.Pasted, "pasted", "", "delete the PAT pasted into coda login (its id, or a suffix of it), keeping the login")
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
	// SinkFailures are the tool files the token could not be taken out of.
	SinkFailures []string `json:"sink_failures"`
	Cleared      bool     `json:"cleared"`
}

type pastedJSON struct {
	Version int    `json:"version"`
	Profile string `json:"profile"`
	Revoked string `json:"revoked_pasted_token_id"`
}

// runPasted deletes the pasted PAT with the profile's coda token.
func runPasted(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, e, err := f.Lifecycle()
	if err != nil {
		return err
	}
	id, candidates, err := e.RevokePasted(ctx, profile, strings.TrimSpace(opts.Pasted))
	for _, ti := range candidates {
		fmt.Fprintln(f.IO.ErrOut, "  "+login.DescribePasted(ti))
	}
	if err != nil {
		return err
	}
	if f.JSON() {
		return cmdutil.PrintJSON(f.IO.Out, pastedJSON{Version: cmdutil.JSONVersion, Profile: profile, Revoked: redact.Suffix(id)})
	}
	fmt.Fprintf(f.IO.Out, "Revoked the pasted token %s.\n", redact.Suffix(id))
	return nil
}

func run(ctx context.Context, opts *Options) error {
	if opts.Pasted != "" {
		return runPasted(ctx, opts)
	}
	f := opts.F
	profile, e, err := f.Lifecycle()
	if err != nil {
		return err
	}
	r, err := e.Revoke(ctx, profile, opts.All)
	if err != nil {
		return err
	}
	res := resultJSON{Version: cmdutil.JSONVersion, Profile: profile, Deleted: []string{}, NotDeleted: []failure{},
		Warnings: []string{}, SinkFailures: []string{}, Cleared: r.Found}
	for _, id := range r.Deleted {
		res.Deleted = append(res.Deleted, redact.Suffix(id))
	}
	for _, fl := range r.NotDeleted {
		res.NotDeleted = append(res.NotDeleted, failure{redact.Suffix(fl.TokenID), fl.Err})
	}
	if r.ListFailed != "" {
		res.Warnings = append(res.Warnings, "could not list tokens for --all: "+r.ListFailed)
	}
	for _, sf := range r.SinkFailures {
		res.SinkFailures = append(res.SinkFailures, sf.Error())
	}

	if f.JSON() {
		if err := cmdutil.PrintJSON(f.IO.Out, res); err != nil {
			return err
		}
	} else if !r.Found {
		fmt.Fprintf(f.IO.Out, "Profile %s is not logged in; nothing to revoke.\n", profile)
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
		for _, sf := range res.SinkFailures {
			fmt.Fprintf(f.IO.ErrOut, "Could not take the token out of %s\n", sf)
		}
	}
	switch {
	case len(res.NotDeleted) > 0:
		return fmt.Errorf("%d token(s) could not be deleted; they expire on their own (at most their lifetime after their creation)", len(res.NotDeleted))
	case len(res.SinkFailures) > 0:
		return fmt.Errorf("%d tool file(s) still hold the revoked token; the workspace refuses it, but remove it by hand or run coda setup --remove", len(res.SinkFailures))
	case len(res.Warnings) > 0:
		return errors.New("--all could not list this installation's other tokens, so they were left to expire on their own")
	}
	return nil
}
