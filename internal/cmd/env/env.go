// Package env implements `coda env`: print the shell lines that point
// OpenAI- and Anthropic-compatible tools (and the plugins configured through
// the environment, such as GitHub Copilot CLI) at the workspace through the
// profile's loopback proxy. The lines hold the proxy's URL and local key,
// never a Databricks token, so they stay valid across every rotation.
package env

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	proxycmd "github.com/coda-cli/coda/internal/cmd/proxy"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/envtool"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/shellenv"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Options are env's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	// Shell is --shell, "" for the user's shell ($SHELL).
	Shell string
	Tools []string
	// Exe is how a key command calls coda.
	Exe string
}

// NewCmdEnv builds the command; runF replaces the run function in tests.
func NewCmdEnv(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	tools := envtool.List(f.Plugins)
	cmd := &cobra.Command{
		Use:   "env [--shell SHELL] [TOOL...]",
		Short: "Print the environment that points tools at the workspace through coda's proxy",
		Long: `Print the shell lines that point tools configured through environment
variables at the profile's workspace: base URLs on the profile's loopback
proxy and its local key (or a command that prints it), never a Databricks
token. The proxy swaps the key for the current token on every request, so a
tool that reads its key once keeps working across rotations.

Tools: ` + describe(tools) + `
With no TOOL, the lines for every tool are printed.

The proxy must be running for the tools to connect: coda rotate --watch
serves it (or coda proxy, or coda service install); coda env warns on
stderr when nothing serves it. To run one command with these variables
instead, use coda exec.`,
		Example: `  eval "$(coda env)"
  coda env --shell fish | source
  coda env openai
  coda env -o json`,
		ValidArgsFunction: cmdutil.CompleteArgs(envtool.Names(tools)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Tools = args
			if _, err := envtool.Select(tools, args); err != nil {
				return exit.Usagef("%v", err)
			}
			if opts.Shell != "" {
				if _, err := shellenv.Parse(opts.Shell); err != nil {
					return exit.Usagef("%v", err)
				}
			}
			if opts.Exe == "" {
				opts.Exe = pluginhost.Executable()
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Shell, "shell", "", "the syntax of the lines: "+strings.Join(shellenv.Names(), ", ")+" (default: from $SHELL)")
	_ = cmd.RegisterFlagCompletionFunc("shell", cobra.FixedCompletions(shellenv.Names(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func describe(tools []envtool.Tool) string {
	s := ""
	for _, t := range tools {
		s += "\n  " + t.Name + ": " + t.Description
	}
	return s
}

type varJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type resultJSON struct {
	Version int    `json:"version"`
	Profile string `json:"profile"`
	// Proxy is the proxy's address and whether something serves it now.
	Proxy struct {
		Address string `json:"address"`
		Running bool   `json:"running"`
	} `json:"proxy"`
	Tools     []string  `json:"tools"`
	Variables []varJSON `json:"variables"`
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
	dir, err := f.ConfigDir()
	if err != nil {
		return err
	}
	// The proxy gets its port now if it has none, and the profile records
	// that tools use it, so the watcher serves it from its next start.
	// Once both are there (every later run, e.g. from a shell's rc file)
	// the store is only read, without its lock.
	state, err := st.Load()
	if err != nil {
		return err
	}
	p := state.Profile(profile)
	first := false
	if !p.HasToken() || p.Proxy.Port == 0 || !p.Proxy.Env {
		err = st.Update(ctx, func(s *store.State) error {
			p = s.Profile(profile)
			if !p.HasToken() {
				return lifecycle.LoginRequired(profile, fmt.Sprintf("profile %q is not logged in", profile))
			}
			if err := pluginhost.EnsureProxy(p); err != nil {
				return err
			}
			first = !p.Proxy.Env
			p.Proxy.Env = true
			return nil
		})
		if err != nil {
			return err
		}
	}
	key, err := pluginhost.ProxyKey(dir, profile)
	if err != nil {
		return err
	}
	tools, _ := envtool.Select(envtool.List(f.Plugins), opts.Tools)
	env := pluginhost.Env(f.Getenv, dir)
	vars, err := envtool.Collect(env, tools, func(name string) (configurator.Target, error) {
		return pluginhost.ProxiedTarget(name, profile, p, opts.Exe, p.Proxy.Port, key)
	})
	if err != nil {
		return err
	}
	running := proxycmd.Running(p)
	addr := pluginhost.ProxyAddr(p.Proxy.Port)
	if first {
		fmt.Fprintf(f.IO.ErrOut, "coda env: profile %s's proxy on %s now serves these tools too; coda rotate --watch serves it\n", profile, addr)
	}
	if !running {
		fmt.Fprintf(f.IO.ErrOut, "warning: nothing serves profile %s's proxy on %s yet, so these tools cannot connect: run coda rotate --watch%s (or coda proxy, or coda service install)\n", profile, addr, store.ProfileFlag(profile))
	}
	// Only -o json on the command line: coda env's text is for eval, and
	// CODA_OUTPUT or config.yaml must not break "eval $(coda env)".
	if f.ExplicitJSON() {
		out := resultJSON{Version: cmdutil.JSONVersion, Profile: profile, Tools: envtool.Names(tools), Variables: []varJSON{}}
		out.Proxy.Address, out.Proxy.Running = addr, running
		for _, v := range vars {
			out.Variables = append(out.Variables, varJSON{Name: v.Name, Value: v.Value})
		}
		return cmdutil.PrintJSON(f.IO.Out, out)
	}
	shell := shellenv.Detect(f.Getenv, runtime.GOOS)
	if opts.Shell != "" {
		shell, _ = shellenv.Parse(opts.Shell)
	}
	lines, err := shellenv.Render(shell, vars)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(f.IO.Out, shellenv.Comment(fmt.Sprintf("coda env: profile %s, through coda's proxy on %s (%s)", profile, addr, strings.Join(envtool.Names(tools), ", ")))+lines)
	return err
}
