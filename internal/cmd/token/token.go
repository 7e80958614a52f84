// Package token implements `coda token`: print the current token, the entry
// point for agents' credential helpers. Its path is kept short: read the
// store, print. Only when the token runs low does it touch the network.
package token

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/lifecycle"
)

// Options are token's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	// Timing resolves the profile's policy; --min-ttl applies to this call
	// only and is never stored.
	Timing lifecycle.Timing
}

// NewCmdToken builds the command; runF replaces the run function in tests.
func NewCmdToken(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "token [--min-ttl 5m]",
		Short: "Print the current token (for credential helpers)",
		Long: `Print the profile's current token, alone, on stdout. This is the one coda
command that prints a token: agents' credential helpers call it.

With -o json on the command line it prints
{"version": 1, "token": ..., "expires_at": ..., "access_token": ...,
"token_type": "Bearer", "expiry": ...}: token and expires_at, plus the
fields of the Databricks CLI's "databricks auth token", so whatever reads
that reads this; times in RFC 3339 UTC. CODA_OUTPUT and config.yaml's output do not
apply here: they must not turn every agent's key command into JSON.

When less than the profile's min-ttl (5m unless set by --min-ttl,
CODA_MIN_TTL or config.yaml; never under 30s) of the token's life remains,
coda rotates first, with the profile's lifetime and grace, under the
profile's lock, so helpers racing each other rotate once. A fresh token
costs no network call. Exits 4 when there is no live token.`,
		Example: `  coda token
  coda token -p staging --min-ttl 8m
  coda -o json token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Timing, err = f.Timing(cmd, false); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmdutil.AddTimingFlags(cmd.Flags(), cmdutil.KeyMinTTL)
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, e, err := f.Lifecycle()
	if err != nil {
		return err
	}
	tok, err := e.EnsureFresh(ctx, profile, opts.Timing)
	if err != nil {
		return err
	}
	if tok.Warning != "" {
		fmt.Fprintln(f.IO.ErrOut, "warning:", tok.Warning)
	}
	if f.ExplicitJSON() {
		return cmdutil.PrintJSON(f.IO.Out, tokenJSON{Version: cmdutil.JSONVersion,
			Token: tok.Token, ExpiresAt: cmdutil.NewTime(tok.ExpiresAt),
			AccessToken: tok.Token, TokenType: "Bearer", Expiry: cmdutil.NewTime(tok.ExpiresAt)})
	}
	_, err = fmt.Fprintln(f.IO.Out, tok.Token)
	return err
}

// tokenJSON is -o json: the fields of "databricks auth token" (an
// oauth2.Token), which tools that run a Databricks token command parse,
// plus the version every coda document has.
type tokenJSON struct {
	Version   int          `json:"version"`
	Token     string       `json:"token"`
	ExpiresAt cmdutil.Time `json:"expires_at"`
	// The same again as databricks auth token names them.
	AccessToken string       `json:"access_token"`
	TokenType   string       `json:"token_type"`
	Expiry      cmdutil.Time `json:"expiry"`
}
