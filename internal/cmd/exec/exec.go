// Package exec implements `coda exec`: run one command with the environment
// coda env prints, through a loopback proxy coda serves for that command's
// lifetime (the aws-vault exec shape).
//
// coda exec serves its own proxy, on a free port, instead of relying on
// the profile's: the child works whether or not a watcher runs, and the
// proxy lives exactly as long as the child. It uses the profile's local key,
// so key commands (coda proxy key) answer for it too. The proxy rotates the
// token when it runs low and retries a request refused because a rotation
// elsewhere deleted its token, so a child that lives across rotations keeps
// working, even with --grace 0s.
package exec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	osexec "os/exec"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	proxycmd "github.com/coda-cli/coda/internal/cmd/proxy"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/envtool"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/logging"
	"github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/proxy"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Exit codes of a child that could not start, as shells use them.
const (
	notExecutable = 126
	notFound      = 127
)

// Options are exec's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	Tools []string
	Argv  []string
	// Timing resolves the profile's policy for the proxy's rotations.
	Timing lifecycle.Timing
	// Exe is how a key command calls coda.
	Exe string
	// Environ is the environment the child inherits (os.Environ).
	Environ func() []string
}

// NewCmdExec builds the command; runF replaces the run function in tests.
func NewCmdExec(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, Environ: os.Environ}
	tools := envtool.List(f.Plugins)
	cmd := &cobra.Command{
		Use:   "exec [--tool TOOL]... [--] COMMAND [ARG...]",
		Short: "Run a command with the environment that points tools at the workspace",
		Long: `Run COMMAND with the variables coda env prints (base URLs on a loopback
proxy and its local key, never a Databricks token), through a proxy coda
serves on a free 127.0.0.1 port for as long as COMMAND runs. The proxy swaps
the key for the profile's current token on every request, rotates it when it
runs low, and retries a request refused because a rotation deleted its
token, so a command that runs across rotations keeps working.

COMMAND's input and output are the terminal's. coda exec exits with
COMMAND's exit code (128+N when signal N ended it; 126 when COMMAND cannot
be run, 127 when it is not found) and passes on SIGTERM, SIGHUP, SIGUSR1
and SIGUSR2, and SIGINT and SIGQUIT when they did not come from the
terminal (which sends them to COMMAND itself). Flags after COMMAND are
COMMAND's. The proxy writes to stderr only its warnings and errors; with
--debug, every request it forwards.

--tool limits the variables to some tools (repeatable; default all):
` + strings.Join(envtool.Names(tools), ", ") + `.`,
		Example: `  coda exec -- aider --model openai/databricks-claude-sonnet-4-6
  coda exec --tool anthropic -- python agent.py
  coda exec -p staging -- sh -c 'curl -s -H "Authorization: Bearer $OPENAI_API_KEY" "$OPENAI_BASE_URL/chat/completions" -d @req.json'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Argv = args
			if _, err := envtool.Select(tools, opts.Tools); err != nil {
				return exit.Usagef("%v", err)
			}
			var err error
			if opts.Timing, err = f.Timing(cmd, false); err != nil {
				return err
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
	// Everything from COMMAND on is COMMAND's, flags included.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringArrayVar(&opts.Tools, "tool", nil, "set only this tool's variables (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("tool", cobra.FixedCompletions(envtool.Names(tools), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, e, err := f.Lifecycle()
	if err != nil {
		return err
	}
	dir, err := f.ConfigDir()
	if err != nil {
		return err
	}
	// A dead login fails here, before the command starts, not at its
	// first request.
	fresh, err := e.EnsureFresh(ctx, profile, opts.Timing)
	if err != nil {
		return err
	}
	if fresh.Warning != "" {
		fmt.Fprintln(f.IO.ErrOut, "warning:", fresh.Warning)
	}
	st, err := e.Store.Load()
	if err != nil {
		return err
	}
	p := st.Profile(profile)
	key, err := pluginhost.ProxyKey(dir, profile)
	if err != nil {
		return err
	}
	// The child owns the terminal: the proxy's lines are only its
	// warnings and errors, unless --debug asks for every request.
	log := f.Log()
	if !log.Enabled(ctx, slog.LevelDebug) {
		log = logging.AtLeast(log, slog.LevelWarn)
	}
	srv, err := proxycmd.NewServer(e, profile, p, key, opts.Timing, logging.WithPrefix(log, profile+" exec proxy:"))
	if err != nil {
		return err
	}
	ln, err := proxy.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	tools, _ := envtool.Select(envtool.List(f.Plugins), opts.Tools)
	vars, err := envtool.Collect(pluginhost.Env(f.Getenv, dir), tools, func(name string) (configurator.Target, error) {
		return pluginhost.ProxiedTarget(name, profile, p, opts.Exe, port, key)
	})
	if err != nil {
		ln.Close()
		return err
	}

	// The proxy outlives the command's context: an interrupt goes to the
	// child, and coda stops serving only once the child has exited.
	serveCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	defer func() {
		stop()
		<-served
	}()

	code, err := runChild(opts, withVars(opts.Environ(), vars))
	if err != nil {
		return err
	}
	if code != 0 {
		return &exit.SilentError{Code: code}
	}
	return nil
}

// runChild runs the command in the foreground, passing signals on, and
// returns its exit code.
func runChild(opts *Options, environ []string) (int, error) {
	f := opts.F
	name := opts.Argv[0]
	path, err := osexec.LookPath(name)
	if err != nil {
		fmt.Fprintf(f.IO.ErrOut, "coda exec: %v\n", err)
		if errors.Is(err, fs.ErrPermission) {
			return notExecutable, nil
		}
		return notFound, nil
	}
	child := osexec.Command(path, opts.Argv[1:]...)
	child.Args[0] = name
	child.Env = environ
	child.Stdin, child.Stdout, child.Stderr = f.IO.In, f.IO.Out, f.IO.ErrOut

	release := f.Signals.Take()
	defer release()
	signals, stopSignals := notify()
	defer stopSignals()
	if err := child.Start(); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "coda exec: %s: %v\n", name, err)
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOEXEC) {
			return notExecutable, nil
		}
		return notFound, nil
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-signals:
				if forward(sig) {
					_ = child.Process.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	err = child.Wait()
	close(done)
	var ee *osexec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return exitCode(ee.ProcessState), nil
	}
	return 0, fmt.Errorf("coda exec: %s: %w", name, err)
}

func cut(kv string) (string, string, bool) {
	for i := 1; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return "", "", false
}

// withVars is environ with vars set, replacing earlier values.
func withVars(environ []string, vars []configurator.EnvVar) []string {
	set := map[string]bool{}
	for _, v := range vars {
		set[v.Name] = true
	}
	out := make([]string, 0, len(environ)+len(vars))
	for _, kv := range environ {
		if k, _, ok := cut(kv); ok && set[k] {
			continue
		}
		out = append(out, kv)
	}
	for _, v := range vars {
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}
