// Package token implements `coda token`: print the current token, the entry
// point for agents' credential helpers. Its path is kept short: read the
// store, print. Only when the token runs low does it touch the network.
package token

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/rotation"
	"github.com/coda-cli/coda/internal/store"
)

// Options are token's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	MinTTL   time.Duration
	Lifetime time.Duration
}

// NewCmdToken builds the command; runF replaces the run function in tests.
func NewCmdToken(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "token [--min-ttl 5m]",
		Short: "Print the current token (for credential helpers)",
		Long: `Print the profile's current token, alone, on stdout. This is the one coda
command that prints a token: agents' credential helpers call it.

When less than --min-ttl of the token's life remains, coda rotates first
(under the profile's lock, so helpers racing each other rotate once). A
fresh token costs no network call. Exits 4 when there is no live token.`,
		Example: `  coda token
  coda token -p staging --min-ttl 8m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.MinTTL, err = f.Duration(cmd, "min-ttl"); err != nil {
				return err
			}
			if opts.Lifetime, err = f.Duration(cmd, "lifetime"); err != nil {
				return err
			}
			if err := rotation.ValidateOnce(opts.Lifetime, 0); err != nil {
				return err
			}
			if opts.MinTTL < 0 || opts.MinTTL >= opts.Lifetime {
				return exit.Usagef("--min-ttl must be at least 0s and shorter than --lifetime (%s), got %s", opts.Lifetime, opts.MinTTL)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.MinTTL, "min-ttl", rotation.DefaultMinTTL, "rotate first when less than this remains")
	cmd.Flags().DurationVar(&opts.Lifetime, "lifetime", rotation.DefaultLifetime, "lifetime of the new token if coda rotates")
	return cmd
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
	p, err := current(st, profile)
	if err != nil {
		return err
	}
	now := f.Clock.Now()
	if p.Remaining(now) < opts.MinTTL {
		r, err := f.Rotator()
		if err != nil {
			return err
		}
		_, err = r.Rotate(ctx, rotation.Options{Profile: profile, Lifetime: opts.Lifetime,
			Grace: rotation.DefaultGrace, MinRemaining: opts.MinTTL})
		if err != nil {
			// A token that still works beats none: say why and hand it out.
			if exit.CodeOf(err) == exit.Auth || !p.Live(f.Clock.Now()) {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "warning: could not rotate (%v); the current token expires in %s\n",
				err, p.Remaining(f.Clock.Now()).Round(time.Second))
		} else if p, err = current(st, profile); err != nil {
			return err
		}
	}
	if !p.Live(f.Clock.Now()) {
		return rotation.LoginRequired(profile, fmt.Sprintf("the token of profile %q expired", profile))
	}
	_, err = fmt.Fprintln(f.IO.Out, p.Token)
	return err
}

func current(st store.Store, profile string) (*store.Profile, error) {
	state, err := st.Load()
	if err != nil {
		return nil, err
	}
	p := state.Profile(profile)
	if !p.HasToken() {
		return nil, rotation.LoginRequired(profile, fmt.Sprintf("profile %q is not logged in", profile))
	}
	return p, nil
}
