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

When less than the profile's min-ttl (5m unless set by --min-ttl,
CODA_MIN_TTL or config.yaml; never under 30s) of the token's life remains,
coda rotates first, with the profile's lifetime and grace, under the
profile's lock, so helpers racing each other rotate once. A fresh token
costs no network call. Exits 4 when there is no live token.`,
		Example: `  coda token
  coda token -p staging --min-ttl 8m`,
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
	_, err = fmt.Fprintln(f.IO.Out, tok.Token)
	return err
}
