// Package service installs `coda rotate --watch` as a user service: a
// systemd --user unit on Linux, a launchd agent on macOS. It generates the
// unit or plist, writes it, and drives systemctl, loginctl and launchctl
// through a Runner, so tests never run them and both platforms are tested
// on either.
//
// The unit and plist are written directly (plain strings), not through
// github.com/kardianos/service. That library targets daemons that embed it
// (its Run/Start/Stop interface); its user-service support runs systemctl
// and launchctl itself, with no seam for a fake runner, writes its own
// templates (no RestartPreventExitStatus, its own log paths), and would be
// a new dependency for what is two short text files and five commands.
// Written here, every byte of the unit is covered by a golden test and the
// quoting rules are ours to check.
//
// What goes into a unit is decided here once: the absolute path of coda,
// `rotate --watch -p PROFILE` (or `--all-profiles`), and of the environment
// only CODA_CONFIG_DIR and XDG_CONFIG_HOME, the two variables that say
// where coda's state lives (see Environment). A token, a PAT or any other
// variable never enters a unit: the watcher reads its token from the store.
//
// Names: coda-watch-PROFILE.service and dev.coda.watch.PROFILE for one
// profile, coda-watch.service and dev.coda.watch for --all-profiles (a
// profile name is never empty, so the two never collide).
package service

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"unicode"

	"github.com/coda-cli/coda/internal/shellquote"
	"github.com/coda-cli/coda/internal/store"
)

// The platforms coda can install a service on, by their GOOS.
const (
	Linux = "linux"
	MacOS = "darwin"
)

// RestartDelay is how long the service manager waits before restarting a
// watcher that failed (systemd RestartSec, launchd ThrottleInterval), in
// seconds.
const RestartDelay = 30

// System is the machine and user a service is installed for. Tests build
// one with a fake Runner and any GOOS.
type System struct {
	GOOS string
	UID  int
	// User is the login name, for loginctl.
	User string
	Home string
	Run  Runner
}

// Local is the system coda runs on, for the user running it.
func Local(getenv func(string) string) (System, error) {
	s := System{GOOS: runtime.GOOS, UID: os.Getuid(), User: getenv("USER"), Home: getenv("HOME"), Run: Exec}
	if s.User == "" || s.Home == "" {
		u, err := user.Current()
		if err != nil {
			return s, fmt.Errorf("cannot tell who you are (set USER and HOME): %w", err)
		}
		if s.User == "" {
			s.User = u.Username
		}
		if s.Home == "" {
			s.Home = u.HomeDir
		}
	}
	if !filepath.IsAbs(s.Home) {
		return s, fmt.Errorf("home directory %q is not an absolute path: set HOME", s.Home)
	}
	return s, nil
}

// Target says which watcher: one profile's, or one for every profile.
type Target struct {
	Profile     string
	AllProfiles bool
}

// Args are the watcher's arguments after coda's path.
func (t Target) Args() []string {
	if t.AllProfiles {
		return []string{"rotate", "--watch", "--all-profiles"}
	}
	return []string{"rotate", "--watch", "-p", t.Profile}
}

// Describe names what the watcher watches, for people.
func (t Target) Describe() string {
	if t.AllProfiles {
		return "all profiles"
	}
	return "profile " + t.Profile
}

// Flags are the service command's flags that select t, for hints.
func (t Target) Flags() string {
	if t.AllProfiles {
		return " --all-profiles"
	}
	return " -p " + t.Profile
}

func (t Target) check() error {
	if t.AllProfiles {
		if t.Profile != "" {
			return errors.New("a service watches one profile or all of them, not both")
		}
		return nil
	}
	// The name goes into a file name and a launchd label.
	return store.ValidateProfileName(t.Profile)
}

// EnvVar is one environment variable a unit sets.
type EnvVar struct{ Name, Value string }

// Environment is what a unit sets from getenv: CODA_CONFIG_DIR (made
// absolute, since the service starts in another directory) and
// XDG_CONFIG_HOME (only when absolute: coda ignores a relative one), each
// only when set. The service manager's own environment has neither, so
// without them the watcher would look for a different store than the one
// this shell uses. Nothing else is ever copied: the list is fixed here, it
// is not a filter over the environment.
func Environment(getenv func(string) string) []EnvVar {
	var env []EnvVar
	if d := getenv("CODA_CONFIG_DIR"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		env = append(env, EnvVar{"CODA_CONFIG_DIR", d})
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		env = append(env, EnvVar{"XDG_CONFIG_HOME", x})
	}
	return env
}

// Spec is what an installed service runs.
type Spec struct {
	Target
	// Exe is the absolute path of the coda binary.
	Exe string
	Env []EnvVar
}

func (s Spec) check() error {
	if err := s.Target.check(); err != nil {
		return err
	}
	if !filepath.IsAbs(s.Exe) {
		return fmt.Errorf("coda's path %q is not absolute", s.Exe)
	}
	if hasControl(s.Exe) {
		return fmt.Errorf("coda's path %q holds a control character; a service cannot run it", s.Exe)
	}
	for _, e := range s.Env {
		if hasControl(e.Value) {
			return fmt.Errorf("%s holds a control character; a service cannot set it", e.Name)
		}
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// Unit locates one service: its name for the service manager, its file,
// and its logs.
type Unit struct {
	// Kind is "systemd" or "launchd".
	Kind string
	// Name is the systemd unit or the launchd label.
	Name string
	Path string
	// LogFile is where a launchd agent's output goes ("" under systemd:
	// the journal).
	LogFile string
	// LogCommand shows the logs, ready for a shell.
	LogCommand string
}

// Unit locates t's service on s.
func (s System) Unit(t Target) (Unit, error) {
	if err := t.check(); err != nil {
		return Unit{}, err
	}
	switch s.GOOS {
	case Linux:
		name := "coda-watch.service"
		if !t.AllProfiles {
			name = "coda-watch-" + t.Profile + ".service"
		}
		return Unit{Kind: "systemd", Name: name, Path: filepath.Join(s.Home, ".config", "systemd", "user", name),
			LogCommand: "journalctl --user -u " + name}, nil
	case MacOS:
		label, log := "dev.coda.watch", "watch.log"
		if !t.AllProfiles {
			label, log = label+"."+t.Profile, "watch-"+t.Profile+".log"
		}
		logFile := filepath.Join(s.Home, "Library", "Logs", "coda", log)
		return Unit{Kind: "launchd", Name: label, Path: filepath.Join(s.Home, "Library", "LaunchAgents", label+".plist"),
			LogFile: logFile, LogCommand: "tail -f " + shellquote.Quote(logFile)}, nil
	}
	return Unit{}, s.unsupported(t)
}

// Check refuses what coda service never does: run on a platform without
// a user service manager it knows, or as root.
func (s System) Check(t Target) error {
	if s.GOOS != Linux && s.GOOS != MacOS {
		return s.unsupported(t)
	}
	if s.UID == 0 {
		return errors.New("coda service does not run as root: a user service belongs to the user whose tokens it rotates. " +
			"Run it as that user, without sudo")
	}
	return nil
}

func (s System) unsupported(t Target) error {
	return fmt.Errorf("coda service is not supported on %s (it installs a systemd user unit on Linux or a launchd agent on macOS): "+
		"run coda %s in a terminal instead", s.GOOS, strings.Join(t.Args(), " "))
}

// Generate returns the unit file or plist that runs spec on s.
func (s System) Generate(spec Spec) (Unit, []byte, error) {
	if err := spec.check(); err != nil {
		return Unit{}, nil, err
	}
	u, err := s.Unit(spec.Target)
	if err != nil {
		return Unit{}, nil, err
	}
	if s.GOOS == MacOS {
		return u, []byte(Plist(u, spec)), nil
	}
	if err := systemdExecutable(spec.Exe); err != nil {
		return Unit{}, nil, err
	}
	return u, []byte(SystemdUnit(u, spec)), nil
}
