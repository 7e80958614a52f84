// Package service implements `coda service install|uninstall|status`: the
// watcher (`coda rotate --watch`) as a user service. The work is done by
// internal/service; this package parses, checks the profile and renders.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	core "github.com/coda-cli/coda/internal/pluginhost"
	svc "github.com/coda-cli/coda/internal/service"
)

// The subcommands, as Options.Action names them.
const (
	ActionInstall   = "install"
	ActionUninstall = "uninstall"
	ActionStatus    = "status"
)

// Options are the service commands' dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	// Action is the subcommand: install, uninstall or status.
	Action      string
	AllProfiles bool

	// System is the machine and user to act for; tests give a fake
	// runner and any GOOS.
	System func() (svc.System, error)
	// Executable is the absolute path of this coda, which the service runs.
	Executable func() (string, error)
	// RotateHasFlag reports whether this coda's rotate command has a flag
	// (a unit must not run flags its coda does not know).
	RotateHasFlag func(name string) bool
}

// NewCmdService builds the command and its subcommands; runF replaces the
// run function in tests.
func NewCmdService(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, Executable: executable,
		System: func() (svc.System, error) { return svc.Local(f.Getenv) }}
	cmd := &cobra.Command{
		Use:   "service <command>",
		Short: "Run the watcher as a user service (systemd on Linux, launchd on macOS)",
		Long: `Install coda rotate --watch as a service of your user, so the token keeps
rotating without a terminal or tmux pane: a systemd user unit on Linux, a
launchd agent on macOS. One service per profile (-p), or one for every
profile (--all-profiles).

The service runs this coda binary, by its absolute path. It never needs
root (coda service refuses to run as root) and its unit holds no token:
the watcher reads the token from coda's store. Of this shell's
environment only CODA_CONFIG_DIR and XDG_CONFIG_HOME are kept, so the
service uses the same store.`,
		Example: `  coda service install
  coda service status -p staging
  coda service uninstall --all-profiles`,
		// Runnable, so that cobra.NoArgs turns `coda service bogus` into
		// an unknown-command error instead of help and exit 0.
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	cmd.PersistentFlags().BoolVar(&opts.AllProfiles, "all-profiles", false, "one service watching every profile (instead of -p)")

	sub := func(action string, c *cobra.Command) *cobra.Command {
		c.Args = cobra.NoArgs
		c.RunE = func(c *cobra.Command, args []string) error {
			opts.Action = action
			if opts.AllProfiles && f.ProfileChanged {
				return exit.Usagef("--all-profiles and -p exclude each other: a service watches one profile or all of them")
			}
			if opts.RotateHasFlag == nil {
				opts.RotateHasFlag = rotateHasFlag(c.Root())
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return run(c.Context(), opts)
		}
		return c
	}
	cmd.AddCommand(
		sub(ActionInstall, &cobra.Command{
			Use:   "install [-p PROFILE | --all-profiles]",
			Short: "Install and start the watcher as a user service",
			Long: `Install coda rotate --watch -p PROFILE (or --all-profiles) as a user
service and start it. It starts again at each login, and 30s after a
failure. Under systemd a watcher that exits 4 (log in again) or 2 (bad
flags) stays stopped until you fix it and install again; launchd retries
it every 30s.

Linux: writes ~/.config/systemd/user/coda-watch-PROFILE.service
(coda-watch.service with --all-profiles), then runs systemctl --user
daemon-reload and systemctl --user enable --now. The watcher logs to the
journal: journalctl --user -u coda-watch-PROFILE.service. Without
lingering, systemd stops your services when you log out: install says so,
and loginctl enable-linger $USER turns lingering on (coda never runs it).

macOS: writes ~/Library/LaunchAgents/dev.coda.watch.PROFILE.plist
(dev.coda.watch.plist with --all-profiles) and loads it with launchctl
bootstrap gui/$UID. The watcher logs to
~/Library/Logs/coda/watch-PROFILE.log (watch.log).

Other systems: not supported; run coda rotate --watch in a terminal.

The unit runs this coda by its absolute path: install again after moving
it. Of the environment only CODA_CONFIG_DIR and XDG_CONFIG_HOME go into the
unit, never a token or another variable: CODA_LIFETIME and friends do not
reach the service, so keep timing in the profile (coda rotate --interval
...) or config.yaml. Installing again rewrites the unit and restarts the
watcher if anything changed. Only one watcher runs per profile: while a
coda rotate --watch you started by hand runs, the service retries every 30s
and takes over when it stops.

Exits 4 when the profile is not logged in or its token has expired (with
--all-profiles: when no profile has a live token): log in first.`,
			Example: `  coda service install
  coda service install -p staging
  coda service install --all-profiles`,
		}),
		sub(ActionUninstall, &cobra.Command{
			Use:   "uninstall [-p PROFILE | --all-profiles]",
			Short: "Stop the watcher service and remove it",
			Long: `Stop the profile's watcher service, disable it and remove its unit file.

Linux: systemctl --user disable --now, remove the unit, systemctl --user
daemon-reload. macOS: launchctl bootout gui/$UID/LABEL, remove the plist
(its log file stays in ~/Library/Logs/coda).

Nothing installed is not an error: it says so and exits 0. coda's tokens
are untouched: coda revoke deletes them.`,
			Example: `  coda service uninstall
  coda service uninstall -p staging
  coda service uninstall --all-profiles`,
		}),
		sub(ActionStatus, &cobra.Command{
			Use:   "status [-p PROFILE | --all-profiles]",
			Short: "Show whether the watcher service is installed and running",
			Long: `Show the profile's watcher service: its unit file and whether it exists,
whether the watcher runs (systemctl --user is-active; launchctl print
gui/$UID/LABEL), on Linux whether lingering keeps it running after you log
out, and where its logs are.

Exits 0 when the service is installed and running, 1 otherwise. With -o
json it prints a versioned object.`,
			Example: `  coda service status
  coda service status -p staging -o json`,
		}),
	)
	return cmd
}

// rotateHasFlag looks the flag up on root's rotate command.
func rotateHasFlag(root *cobra.Command) func(string) bool {
	return func(name string) bool {
		c, _, err := root.Find([]string{"rotate"})
		return err == nil && c.Name() == "rotate" && c.Flags().Lookup(name) != nil
	}
}

// executable is the path the service runs: how this coda was started,
// made absolute but not resolved through symlinks (a package manager's
// stable link survives upgrades), else the running binary itself.
func executable() (string, error) {
	exe := core.Executable()
	if fi, err := os.Stat(exe); err != nil || !fi.Mode().IsRegular() {
		p, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("cannot find coda's own path: %w", err)
		}
		exe = p
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "", errors.New("this coda is a temporary `go run` build that will be deleted: install coda and run coda service install with the installed binary")
	}
	return exe, nil
}

type reportJSON struct {
	Version     int    `json:"version"`
	Action      string `json:"action,omitempty"`
	Manager     string `json:"manager"`
	Name        string `json:"name"`
	File        string `json:"file"`
	Profile     string `json:"profile,omitempty"`
	AllProfiles bool   `json:"all_profiles"`
	Installed   bool   `json:"installed"`
	// Active is known to status only.
	Active *bool  `json:"active,omitempty"`
	State  string `json:"state,omitempty"`
	PID    int    `json:"pid,omitempty"`
	// Linger is "yes", "no" or "unknown" under systemd.
	Linger     string `json:"linger,omitempty"`
	LogFile    string `json:"log_file,omitempty"`
	LogCommand string `json:"log_command"`
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	sys, err := opts.System()
	if err != nil {
		return err
	}
	t := svc.Target{AllProfiles: opts.AllProfiles}
	if !t.AllProfiles {
		if t.Profile, err = f.Profile(); err != nil {
			return err
		}
	}
	// Root and unsupported systems are refused before anything is read.
	if err := sys.Check(t); err != nil {
		return err
	}
	var r *svc.Report
	action := ""
	switch opts.Action {
	case ActionInstall:
		if r, err = install(ctx, opts, sys, t); err != nil {
			return err
		}
		action = "installed"
		if !r.Changed {
			action = "unchanged"
		}
	case ActionUninstall:
		if r, err = sys.Uninstall(ctx, t); err != nil {
			return err
		}
		action = "uninstalled"
		if !r.Changed && !r.Stopped {
			action = "not_installed"
		}
	case ActionStatus:
		if r, err = sys.Status(ctx, t); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown service action %q", opts.Action)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(f.IO.ErrOut, n)
	}
	if f.JSON() {
		out := reportJSON{Version: cmdutil.JSONVersion, Action: action, Manager: r.Unit.Kind, Name: r.Unit.Name,
			File: r.Unit.Path, Profile: t.Profile, AllProfiles: t.AllProfiles, Installed: r.Installed,
			State: r.State, PID: r.PID, LogFile: r.Unit.LogFile, LogCommand: r.Unit.LogCommand}
		if opts.Action == ActionStatus {
			out.Active = &r.Active
		}
		if r.Unit.Kind == "systemd" && opts.Action != ActionUninstall {
			out.Linger = r.Linger
			if out.Linger == "" {
				out.Linger = "unknown"
			}
		}
		if err := cmdutil.PrintJSON(f.IO.Out, out); err != nil {
			return err
		}
	} else {
		printText(f.IO.Out, opts.Action, sys, t, r)
	}
	if opts.Action == ActionStatus && !(r.Installed && r.Active) {
		if !r.Installed {
			fmt.Fprintf(f.IO.ErrOut, "Install it with: coda service install%s\n", t.Flags())
		}
		return &exit.SilentError{Code: exit.Error}
	}
	return nil
}

// install checks that the watcher has something to watch and that this
// coda can run it, then installs.
func install(ctx context.Context, opts *Options, sys svc.System, t svc.Target) (*svc.Report, error) {
	f := opts.F
	if t.AllProfiles && !opts.RotateHasFlag("all-profiles") {
		return nil, errors.New("this coda's rotate has no --all-profiles: install one service per profile (coda service install -p PROFILE)")
	}
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	state, err := st.Load()
	if err != nil {
		return nil, err
	}
	now := f.Clock.Now()
	if t.AllProfiles {
		live := false
		for _, name := range state.ProfileNames() {
			live = live || state.Profile(name).Live(now)
		}
		if !live {
			return nil, exit.Authf("no profile is logged in with a live token, so the watcher would stop at once; run: coda login")
		}
	} else if p := state.Profile(t.Profile); !p.HasToken() {
		return nil, lifecycle.LoginRequired(t.Profile, fmt.Sprintf("profile %q is not logged in, so the watcher would stop at once", t.Profile))
	} else if !p.Live(now) {
		return nil, lifecycle.LoginRequired(t.Profile, fmt.Sprintf("profile %q's token has expired, so the watcher would stop at once", t.Profile))
	}
	exe, err := opts.Executable()
	if err != nil {
		return nil, err
	}
	return sys.Install(ctx, svc.Spec{Target: t, Exe: exe, Env: svc.Environment(f.Getenv)})
}

func printText(w io.Writer, action string, sys svc.System, t svc.Target, r *svc.Report) {
	u := r.Unit
	logs := "Logs: " + u.LogCommand
	switch action {
	case ActionInstall:
		if r.Changed {
			fmt.Fprintf(w, "Installed %s for %s: %s\n", u.Name, t.Describe(), u.Path)
		} else {
			fmt.Fprintf(w, "%s for %s is up to date: %s\n", u.Name, t.Describe(), u.Path)
		}
		if u.Kind == "launchd" {
			fmt.Fprintf(w, "Loaded: launchd runs coda %s now and at each login, and again %ds after a failure.\n",
				strings.Join(t.Args(), " "), svc.RestartDelay)
		} else {
			fmt.Fprintf(w, "Started: systemd runs coda %s now and whenever your user session starts, and again %ds after a failure.\n",
				strings.Join(t.Args(), " "), svc.RestartDelay)
		}
		fmt.Fprintln(w, logs)
	case ActionUninstall:
		switch {
		case r.Changed:
			fmt.Fprintf(w, "Removed %s for %s (stopped and disabled): %s\n", u.Name, t.Describe(), u.Path)
		case r.Stopped:
			fmt.Fprintf(w, "Stopped %s for %s (its file was already gone: %s)\n", u.Name, t.Describe(), u.Path)
		default:
			fmt.Fprintf(w, "No service installed for %s (no %s).\n", t.Describe(), u.Path)
		}
	case ActionStatus:
		row := func(k, v string) { fmt.Fprintf(w, "%-15s%s\n", k+":", v) }
		kind := "systemd user unit"
		if u.Kind == "launchd" {
			kind = "launchd agent"
		}
		row("Service", fmt.Sprintf("%s (%s, %s)", u.Name, kind, t.Describe()))
		installed := "no"
		if r.Installed {
			installed = "yes"
		}
		row("File", u.Path)
		row("Installed", installed)
		state := r.State
		if r.PID > 0 {
			state += fmt.Sprintf(" (PID %d)", r.PID)
		}
		row("State", state)
		if u.Kind == "systemd" {
			switch r.Linger {
			case "yes":
				row("Lingering", "yes: it keeps running while you are logged out")
			case "no":
				row("Lingering", "no: it stops when you log out (loginctl enable-linger "+sys.User+" keeps it running)")
			default:
				row("Lingering", "unknown")
			}
		}
		row("Logs", u.LogCommand)
	}
}

// Install installs the watcher of the factory's profile as a user service,
// as `coda service install` does: coda setup offers it when an agent
// depends on the proxy and nothing serves it.
func Install(ctx context.Context, f *cmdutil.Factory) error {
	return run(ctx, &Options{F: f, Action: ActionInstall, Executable: executable,
		System:        func() (svc.System, error) { return svc.Local(f.Getenv) },
		RotateHasFlag: func(string) bool { return false }})
}
