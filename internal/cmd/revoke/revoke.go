// Package revoke implements `coda revoke`: delete coda's tokens in the
// workspace and forget the profile locally.
package revoke

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/redact"
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
in the workspace, take the token out of every tool file that holds it, then
forget the profile locally. --all also deletes every other token that this
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
	// SinkFailures are the tool files the token could not be taken out of.
	SinkFailures []string `json:"sink_failures"`
	Cleared      bool     `json:"cleared"`
}

func run(ctx context.Context, opts *Options) error {
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
