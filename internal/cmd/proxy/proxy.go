// Package proxy implements `coda proxy`: serve the profile's loopback
// credential proxy in the foreground, and `coda proxy key`, which prints
// the profile's local key for the agents' key helpers.
package proxy

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/pluginhost"
)

// KeyOptions are `coda proxy key`'s dependencies.
type KeyOptions struct {
	F *cmdutil.Factory
}

// NewCmdKey builds `coda proxy key`; runF replaces the run function in tests.
func NewCmdKey(f *cmdutil.Factory, runF func(context.Context, *KeyOptions) error) *cobra.Command {
	opts := &KeyOptions{F: f}
	return &cobra.Command{
		Use:   "key",
		Short: "Print the profile's local proxy key (for agents' key helpers)",
		Long: `Print the local key of the profile's proxy, alone, on stdout. Agents in
proxy mode (coda setup --proxy) present it to coda's loopback proxy, which
swaps it for the current Databricks token: the key opens nothing but that
proxy, on this machine, and never rotates. Exits 4 when the profile has no
key (run coda setup with an agent in proxy mode first).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runKey(opts)
		},
	}
}

func runKey(opts *KeyOptions) error {
	f := opts.F
	profile, err := f.Profile()
	if err != nil {
		return err
	}
	dir, err := f.ConfigDir()
	if err != nil {
		return err
	}
	key := pluginhost.ReadProxyKey(dir, profile)
	if key == "" {
		return exit.Authf("profile %s has no proxy key: run coda setup with an agent in proxy mode (coda setup gemini, or --proxy all)", profile)
	}
	_, err = fmt.Fprintln(f.IO.Out, key)
	return err
}
