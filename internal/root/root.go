// Package root assembles coda's commands and maps their errors to the
// documented exit codes.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/build"
	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/cmd/demo"
	"github.com/coda-cli/coda/internal/cmd/doctor"
	envcmd "github.com/coda-cli/coda/internal/cmd/env"
	execcmd "github.com/coda-cli/coda/internal/cmd/exec"
	"github.com/coda-cli/coda/internal/cmd/login"
	proxycmd "github.com/coda-cli/coda/internal/cmd/proxy"
	"github.com/coda-cli/coda/internal/cmd/revoke"
	"github.com/coda-cli/coda/internal/cmd/rotate"
	"github.com/coda-cli/coda/internal/cmd/service"
	"github.com/coda-cli/coda/internal/cmd/setup"
	"github.com/coda-cli/coda/internal/cmd/status"
	"github.com/coda-cli/coda/internal/cmd/token"
	versioncmd "github.com/coda-cli/coda/internal/cmd/version"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/plugins"
	"github.com/coda-cli/coda/internal/prompt"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/workspace"
	"github.com/coda-cli/coda/pkg/configurator"
)

// NewCmdRoot builds the command tree over f.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	info := build.Get()
	cmd := &cobra.Command{
		Use:   "coda",
		Short: "Short-lived Databricks tokens for AI coding agents",
		Long: `coda swaps a Databricks personal access token for coda-owned tokens that
live 15 minutes, points coding agents and the Databricks CLI at the
workspace, and rotates the token before it expires.

  coda login            take a PAT once and swap it for a coda token
  coda rotate --watch   keep rotating (run it in a tmux pane), or coda rotate from cron
  coda status           what coda holds; coda revoke to end it

Settings and state live in $CODA_CONFIG_DIR, else $XDG_CONFIG_HOME/coda,
else ~/.config/coda (on Windows %AppData%\coda). Flags default from
config.yaml there and CODA_* variables (CODA_PROFILE, CODA_OUTPUT,
CODA_LIFETIME, CODA_GRACE, CODA_INTERVAL, CODA_MIN_TTL, CODA_STORAGE).

` + exit.Help(),
		Version:       info.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f.ProfileChanged = cmd.Flags().Changed("profile")
			if f.Debug && f.Quiet {
				return exit.Usagef("--debug and --quiet cannot be used together")
			}
			// -o, else CODA_OUTPUT, else output in config.yaml.
			return f.ResolveOutput(cmd.Flags().Changed("output"))
		},
	}
	// Every command's help ends with the exit codes scripts rely on; the
	// root's lists them in its description, so only once.
	cmd.SetUsageTemplate(cmd.UsageTemplate() + "{{if .HasParent}}\n" + exit.Summary() + "\n{{end}}")
	// --version prints what coda version prints; the text is quoted as a
	// template string constant so no character in it can break the template.
	cmd.SetVersionTemplate("{{" + strconv.Quote(info.String()) + "}}")
	cmd.PersistentFlags().StringVarP(&f.ProfileFlag, "profile", "p", "default", "coda profile (one workspace)")
	cmd.PersistentFlags().StringVarP(&f.Output, "output", "o", "text", "output format: text or json; CODA_OUTPUT or output in config.yaml change the default")
	_ = cmd.RegisterFlagCompletionFunc("profile", f.CompleteProfiles)
	_ = cmd.RegisterFlagCompletionFunc("output", cmdutil.CompleteWords("text", "json"))
	cmd.PersistentFlags().BoolVar(&f.Debug, "debug", false, "log each workspace request to stderr (method, URL, status, duration, request id; never a token); also CODA_DEBUG=1")
	cmd.PersistentFlags().BoolVarP(&f.Quiet, "quiet", "q", false, "log only warnings and errors to stderr (results on stdout are unchanged)")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exit.Usagef("%v (see coda %s --help)", err, strings.TrimPrefix(c.CommandPath(), "coda "))
	})
	cmd.AddCommand(
		login.NewCmdLogin(f, nil),
		rotate.NewCmdRotate(f, nil),
		token.NewCmdToken(f, nil),
		status.NewCmdStatus(f, nil),
		doctor.NewCmdDoctor(f, nil),
		revoke.NewCmdRevoke(f, nil),
		setup.NewCmdSetup(f, nil),
		proxycmd.NewCmdProxy(f, nil),
		envcmd.NewCmdEnv(f, nil),
		execcmd.NewCmdExec(f, nil),
		service.NewCmdService(f, nil),
		versioncmd.NewCmdVersion(f, nil),
		demo.NewCmdDemo(f, NewCmdRoot, nil),
	)
	return cmd
}

// NewFactory wires the real dependencies.
func NewFactory(ctx context.Context, ios *cmdutil.IOStreams) *cmdutil.Factory {
	f := &cmdutil.Factory{
		IO:     ios,
		Getenv: os.Getenv,
		Clock:  clock.Real{},
		Prompter: func() cmdutil.Prompter {
			return prompt.Huh{Ctx: ctx, In: ios.In, Out: ios.ErrOut}
		},
		Plugins: plugins.Builtins(),
	}
	// Every workspace request is traced with --debug.
	f.Clients = func(host, token string) (workspace.Client, error) {
		return workspace.NewLoggedSDKClient(host, token, f.Log())
	}
	return f
}

// Main runs coda with the process's arguments and returns the exit code.
// The first SIGINT, SIGTERM or SIGHUP (a closed terminal or tmux pane)
// cancels the context so the current step can finish; a second one exits at
// once.
func Main() int { return MainWith() }

// MainWith is Main with extra configurator plugins after the built-in ones
// (pkg/coda.Main is its public door). Two plugins with one name are a
// programming error: it panics before anything runs.
func MainWith(extra ...configurator.Configurator) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 2)
	// syscall.SIGHUP exists on Windows too (never sent there).
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ios := cmdutil.System()
	f := NewFactory(ctx, ios)
	f.Plugins = plugins.With(extra...)
	f.Signals = &cmdutil.SignalRelay{}
	go func() {
		seen := 0
		for sig := range signals {
			if f.Signals.Deliver(sig) {
				continue // coda exec passes it to its child
			}
			if seen++; seen == 1 {
				cancel()
				continue
			}
			os.Exit(exit.Interrupted)
		}
	}()
	return Run(ctx, f, os.Args[1:])
}

// Run executes one command line and maps the outcome to an exit code.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exit.OK
	}
	return report(f.IO.ErrOut, ctx, err)
}

func report(w io.Writer, ctx context.Context, err error) int {
	code := exit.CodeOf(err)
	var silent *exit.SilentError
	switch {
	case errors.As(err, &silent):
		return code
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "Interrupted.")
		return exit.Interrupted
	case code == exit.Error && isCobraUsage(err):
		code = exit.Usage
	}
	// The last line of defence: whatever an error quotes (an argument
	// typed by mistake, a server's message), no token leaves in it.
	fmt.Fprintln(w, "Error:", redact.Secrets(err.Error()))
	return code
}

// isCobraUsage recognises the argument errors cobra makes itself.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "accepts ", "requires ", "unknown flag", "invalid argument"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}
