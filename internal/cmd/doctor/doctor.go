// Package doctor implements `coda doctor`: every check of a profile's
// setup that coda can make, one line each (PASS, WARN, FAIL or SKIP), each
// failing line with the command that fixes it.
//
// The checks are a table (checks.go): each reads what it needs from one
// snapshot of the profile (a world) and returns its lines. They reuse the
// owners of each fact rather than recomputing it: the store for the
// watcher, coda status for plugin states, the online token check and the
// NO_PROXY warning, the policy package for timing, the sink writer for what
// a tool holds, pluginhost for targets and the endpoint probe. Offline
// checks read files and local sockets only; the online ones (token
// accepted, clock skew, endpoint family, models, and --deep's one tiny
// model request per agent) talk to the workspace through the SDK client,
// except the clock check, whose request carries no credential at all.
//
// No line ever holds a token or the proxy's local key: details name token
// ids by their last 4 characters, and every detail passes redact.Secrets
// with the profile's token and key as a last defence.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Options are doctor's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	// Deep sends one tiny real model request per configured agent.
	Deep bool
	// Offline skips every check that needs the network.
	Offline bool

	// Plugins are the configurators the profile's tools are checked with.
	Plugins []configurator.Configurator
	// Timing resolves the policy in force (CODA_* and config.yaml over the
	// stored settings); TimingErr is why it could not be built.
	Timing    lifecycle.Timing
	TimingErr error
	// Crontab returns the user's crontab ("" when there is none).
	Crontab func(ctx context.Context) (string, error)
}

// NewCmdDoctor builds the command; runF replaces the run function in tests.
func NewCmdDoctor(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, Plugins: f.Plugins, Crontab: systemCrontab}
	cmd := &cobra.Command{
		Use:   "doctor [--deep] [--offline]",
		Short: "Check the profile's setup and say how to fix what is wrong",
		Long: `Check everything coda depends on for the profile, one line per check:
PASS, WARN (works, but will bite), FAIL (broken) or SKIP (not applicable),
each WARN and FAIL with the command that fixes it.

Offline checks: the store is readable and private; the token is present
and unexpired; the timing policy is coherent (helpers refresh well inside
the grace, the interval fits the lifetime); a watcher or the service runs,
or cron runs coda rotate, and the last rotation is recent; the proxy is up
when an agent depends on it; old tokens waiting for deletion; each
plugin's state and whether each literal token file holds the current
token; the coda path inside credential helpers exists and is this coda;
Gemini CLI's folder trust and a project .env hiding ~/.gemini/.env;
HTTP(S)_PROXY without NO_PROXY covering 127.0.0.1.

Online checks (skipped with --offline): the workspace accepts the token;
the clock agrees with the workspace's Date header; the endpoint family
the agents use answers; each model chosen with --model is a serving
endpoint. --deep also sends one tiny real request (a one-token answer) per
configured agent, to the endpoint and model it uses.

No token or key is ever printed. With -o json: a versioned object with the
list of checks. Exits 0 when nothing FAILs (WARNs included), 4 when the
token is absent, expired or rejected (run coda login first), 1 on any
other FAIL.`,
		Example: `  coda doctor
  coda doctor --deep
  coda doctor -p staging -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Deep && opts.Offline {
				return exit.Usagef("--deep sends requests: it cannot be --offline")
			}
			// A bad CODA_* value is one of the things doctor reports, not
			// a reason to stop.
			opts.Timing, opts.TimingErr = f.Timing(cmd, false)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Deep, "deep", false, "also send one tiny real model request per configured agent")
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "skip the checks that need the network")
	return cmd
}

// Status is a check's verdict.
type Status string

const (
	Pass Status = "PASS"
	Warn Status = "WARN"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is one line of the report.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Fix is the command (or the action) that fixes a WARN or FAIL.
	Fix string `json:"fix,omitempty"`

	// auth marks a FAIL that only a new login fixes (exit 4).
	auth bool
}

type reportJSON struct {
	Version  int      `json:"version"`
	Profile  string   `json:"profile"`
	Checks   []Result `json:"checks"`
	Passed   int      `json:"passed"`
	Warnings int      `json:"warnings"`
	Failed   int      `json:"failed"`
	Skipped  int      `json:"skipped"`
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	w, err := newWorld(ctx, opts)
	if err != nil {
		return err
	}
	var results []Result
	for _, c := range checks {
		switch {
		case c.deep && !opts.Deep:
			continue
		case c.online && opts.Offline:
			results = append(results, Result{Name: c.name, Status: Skip, Detail: "offline (--offline)"})
			continue
		}
		for _, r := range c.run(w) {
			if r.Name == "" {
				r.Name = c.name
			}
			r.Detail = redact.Line(redact.Secrets(r.Detail, w.secrets()...), 0)
			r.Fix = redact.Secrets(r.Fix, w.secrets()...)
			results = append(results, r)
		}
	}
	rep := reportJSON{Version: cmdutil.JSONVersion, Profile: w.profile, Checks: results}
	code := exit.OK
	for _, r := range results {
		switch r.Status {
		case Pass:
			rep.Passed++
		case Warn:
			rep.Warnings++
		case Fail:
			rep.Failed++
			if r.auth {
				code = exit.Auth
			} else if code == exit.OK {
				code = exit.Error
			}
		case Skip:
			rep.Skipped++
		}
	}
	if f.JSON() {
		if err := cmdutil.PrintJSON(f.IO.Out, rep); err != nil {
			return err
		}
	} else if err := printText(f.IO.Out, rep); err != nil {
		return err
	}
	if code != exit.OK {
		return &exit.SilentError{Code: code}
	}
	return nil
}

// printText aligns the lines: status, name, detail and, for what is not a
// PASS, the fix.
func printText(out io.Writer, rep reportJSON) error {
	width := 0
	for _, r := range rep.Checks {
		width = max(width, len(r.Name))
	}
	var b strings.Builder
	for _, r := range rep.Checks {
		line := fmt.Sprintf("%-4s  %-*s  %s", r.Status, width, r.Name, r.Detail)
		if r.Fix != "" && (r.Status == Warn || r.Status == Fail) {
			line += "; fix: " + r.Fix
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	fmt.Fprintf(&b, "%d passed, %d warnings, %d failed, %d skipped (profile %s)\n", rep.Passed, rep.Warnings, rep.Failed, rep.Skipped, rep.Profile)
	_, err := io.WriteString(out, b.String())
	return err
}

// systemCrontab is `crontab -l`, with a timeout: no crontab command, or
// none for this user, is an empty crontab.
func systemCrontab(ctx context.Context) (string, error) {
	path, err := exec.LookPath("crontab")
	if err != nil {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-l").Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "", nil // "no crontab for USER"
	}
	return string(out), err
}
