package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/coda-cli/coda/internal/atomicfile"
)

// Report is what Install, Uninstall or Status found and did.
type Report struct {
	Unit   Unit
	Target Target
	// Installed says whether the unit file exists (after the action).
	Installed bool
	// Changed says whether install wrote the file (new or different
	// content) or uninstall removed it.
	Changed bool
	// Loaded (launchd) says whether launchd knows the agent.
	Loaded bool
	// Stopped says whether uninstall stopped (or unloaded) the service.
	Stopped bool
	// Active says whether the watcher runs; State is the service manager's
	// word for it (systemctl is-active, launchctl print's state).
	Active bool
	State  string
	PID    int
	// Linger (systemd) is "yes", "no", or "" when unknown.
	Linger string
	// Notes are hints for a person.
	Notes []string
}

// Install writes spec's unit and starts it. Installing again rewrites the
// unit and restarts the watcher when anything changed (a new coda path, a
// new CODA_CONFIG_DIR), and starts it if it had stopped.
func (s System) Install(ctx context.Context, spec Spec) (*Report, error) {
	if err := s.Check(spec.Target); err != nil {
		return nil, err
	}
	u, content, err := s.Generate(spec)
	if err != nil {
		return nil, err
	}
	r := &Report{Unit: u, Target: spec.Target, Installed: true}
	old, err := os.ReadFile(u.Path)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", u.Path, err)
	}
	r.Changed = !existed || !bytes.Equal(old, content)
	if r.Changed {
		if err := mkdirs(filepath.Dir(u.Path), 0o755); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(u.Path, content, 0o644, nil); err != nil {
			return nil, fmt.Errorf("writing %s: %w", u.Path, err)
		}
	}
	// A unit that never worked is not left behind.
	undo := func(err error) (*Report, error) {
		if !existed {
			_ = os.Remove(u.Path)
		}
		return nil, err
	}
	r.Notes = append(r.Notes, s.overlaps(spec.Target)...)
	if s.GOOS == MacOS {
		if err := mkdirs(filepath.Dir(u.LogFile), 0o700); err != nil {
			return undo(err)
		}
		if r.Loaded, err = s.loaded(ctx, u); err != nil {
			return undo(err)
		}
		if r.Loaded {
			// bootstrap refuses a loaded agent; this also restarts the
			// watcher with the new plist.
			if _, err := s.run(ctx, "launchctl", "bootout", s.domain()+"/"+u.Name); err != nil {
				return nil, err
			}
		}
		// Clears a `launchctl disable` left from before, which would make
		// bootstrap fail.
		if _, err := s.run(ctx, "launchctl", "enable", s.domain()+"/"+u.Name); err != nil {
			return undo(err)
		}
		if _, err := s.run(ctx, "launchctl", "bootstrap", s.domain(), u.Path); err != nil {
			return undo(err)
		}
		r.Loaded = true
		return r, nil
	}
	if _, err := s.run(ctx, "systemctl", "--user", "daemon-reload"); err != nil {
		return undo(err)
	}
	if _, err := s.run(ctx, "systemctl", "--user", "enable", "--now", u.Name); err != nil {
		return nil, err
	}
	if existed && r.Changed {
		// enable --now leaves a running watcher on the old unit.
		if _, err := s.run(ctx, "systemctl", "--user", "restart", u.Name); err != nil {
			return nil, err
		}
	}
	s.linger(ctx, r)
	switch r.Linger {
	case "yes":
	case "no":
		r.Notes = append(r.Notes, fmt.Sprintf("Lingering is off for %s: the service stops when you log out and starts again at your next login. "+
			"To keep it running while you are logged out, run: loginctl enable-linger %s", s.User, s.User))
	default:
		r.Notes = append(r.Notes, fmt.Sprintf("Could not tell whether lingering is on for %s: if the service should keep running while you are logged out, run: loginctl enable-linger %s", s.User, s.User))
	}
	return r, nil
}

// Uninstall stops t's service, disables it and removes its unit file.
// Nothing installed is not an error.
func (s System) Uninstall(ctx context.Context, t Target) (*Report, error) {
	r, err := s.report(t)
	if err != nil {
		return nil, err
	}
	u := r.Unit
	exists, err := fileExists(u.Path)
	if err != nil {
		return nil, err
	}
	if s.GOOS == MacOS {
		if r.Loaded, err = s.loaded(ctx, u); err != nil {
			return nil, err
		}
		if r.Loaded {
			if _, err := s.run(ctx, "launchctl", "bootout", s.domain()+"/"+u.Name); err != nil {
				return nil, err
			}
			r.Loaded, r.Stopped = false, true
		}
	} else {
		if !exists {
			return r, nil
		}
		if _, err := s.run(ctx, "systemctl", "--user", "disable", "--now", u.Name); err != nil {
			return nil, err
		}
		r.Stopped = true
	}
	if exists {
		if err := os.Remove(u.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("removing %s: %w", u.Path, err)
		}
		r.Changed = true
	}
	if s.GOOS == Linux {
		if _, err := s.run(ctx, "systemctl", "--user", "daemon-reload"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Status reports whether t's service is installed and running.
func (s System) Status(ctx context.Context, t Target) (*Report, error) {
	r, err := s.report(t)
	if err != nil {
		return nil, err
	}
	u := r.Unit
	if r.Installed, err = fileExists(u.Path); err != nil {
		return nil, err
	}
	if s.GOOS == MacOS {
		out, err := s.probe(ctx, "launchctl", "print", s.domain()+"/"+u.Name)
		if err != nil {
			return nil, err
		}
		r.Loaded = out.Code == 0
		r.State = "not loaded"
		if r.Loaded {
			r.State, r.PID = parseLaunchctlPrint(out.Stdout)
			r.Active = r.State == "running"
		}
		return r, nil
	}
	out, err := s.probe(ctx, "systemctl", "--user", "is-active", u.Name)
	if err != nil {
		return nil, err
	}
	r.State = firstLine(out.Stdout)
	if r.State == "" {
		// No answer at all: say why (no user systemd instance, usually).
		r.State = "unknown"
		argv := []string{"systemctl", "--user", "is-active", u.Name}
		r.Notes = append(r.Notes, "Could not ask systemd: "+(&CommandError{Argv: argv, Out: out, Hint: s.hint(out)}).Error())
	}
	r.Active = out.Code == 0 && r.State == "active"
	s.linger(ctx, r)
	return r, nil
}

// probe runs argv for its answer: only a command that cannot run is an
// error.
// report checks t and starts its report with t's unit.
func (s System) report(t Target) (*Report, error) {
	if err := s.Check(t); err != nil {
		return nil, err
	}
	u, err := s.Unit(t)
	if err != nil {
		return nil, err
	}
	return &Report{Unit: u, Target: t}, nil
}

func (s System) probe(ctx context.Context, argv ...string) (Output, error) {
	out, err := s.run(ctx, argv...)
	var ce *CommandError
	if errors.As(err, &ce) {
		return out, nil
	}
	return out, err
}

// linger asks logind whether s.User's services outlive their sessions.
// No loginctl, or a logind that does not know the user, leaves it unknown.
func (s System) linger(ctx context.Context, r *Report) {
	out, err := s.probe(ctx, "loginctl", "show-user", s.User, "-p", "Linger")
	if err != nil || out.Code != 0 {
		return
	}
	switch strings.TrimSpace(out.Stdout) {
	case "Linger=yes":
		r.Linger = "yes"
	case "Linger=no":
		r.Linger = "no"
	}
}

func (s System) domain() string { return "gui/" + strconv.Itoa(s.UID) }

func (s System) loaded(ctx context.Context, u Unit) (bool, error) {
	out, err := s.probe(ctx, "launchctl", "print", s.domain()+"/"+u.Name)
	return err == nil && out.Code == 0, err
}

// parseLaunchctlPrint reads the service's own state and pid from
// `launchctl print`: the lines one tab in (deeper ones belong to nested
// sections).
func parseLaunchctlPrint(out string) (state string, pid int) {
	state = "unknown"
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "\tstate = "); ok {
			state = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "\tpid = "); ok {
			pid, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return state, pid
}

// overlaps warns when the all-profiles service and a one-profile service
// are both installed: only one watcher runs per profile, so the other one
// fails and restarts until the first stops.
func (s System) overlaps(t Target) []string {
	all, err := s.Unit(Target{AllProfiles: true})
	if err != nil {
		return nil
	}
	const why = "only one watcher runs per profile, so one of the two keeps failing and restarting"
	if !t.AllProfiles {
		if ok, _ := fileExists(all.Path); ok {
			return []string{fmt.Sprintf("%s (all profiles) is installed too: %s. Remove one: coda service uninstall --all-profiles", all.Name, why)}
		}
		return nil
	}
	pattern := "coda-watch-*.service"
	if s.GOOS == MacOS {
		pattern = "dev.coda.watch.*.plist"
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(all.Path), pattern))
	var notes []string
	for _, m := range matches {
		name := filepath.Base(m)
		profile := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(name, "coda-watch-"), "dev.coda.watch."), filepath.Ext(name))
		notes = append(notes, fmt.Sprintf("%s (profile %s) is installed too: %s. Remove one: coda service uninstall -p %s", name, profile, why, profile))
	}
	return notes
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", path, err)
	}
	return true, nil
}

// mkdirs creates dir and its missing parents with perm, whatever the
// umask; existing directories keep theirs.
func mkdirs(dir string, perm os.FileMode) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", d, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], perm); errors.Is(err, fs.ErrExist) {
			continue // made meanwhile by someone else: theirs
		} else if err != nil {
			return fmt.Errorf("creating %s: %w", missing[i], err)
		}
		if err := os.Chmod(missing[i], perm); err != nil {
			return fmt.Errorf("creating %s: %w", missing[i], err)
		}
	}
	return nil
}
