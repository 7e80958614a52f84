package service_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/service"
	"github.com/coda-cli/coda/internal/service/servicetest"
)

var ctx = context.Background()

func spec(profile string) service.Spec {
	return service.Spec{Target: service.Target{Profile: profile}, Exe: "/opt/coda/bin/coda"}
}

func assertCalls(t *testing.T, r *servicetest.Runner, want ...string) {
	t.Helper()
	if got := r.Calls(); !slices.Equal(got, want) {
		t.Errorf("commands run:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	r.Reset()
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestSystemdInstallUninstallStatus(t *testing.T) {
	sys, r := servicetest.System(t, service.Linux)
	unitPath := filepath.Join(sys.Home, ".config", "systemd", "user", "coda-watch-staging.service")

	rep, err := sys.Install(ctx, spec("staging"))
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		"systemctl --user daemon-reload",
		"systemctl --user enable --now coda-watch-staging.service",
		"loginctl show-user alice -p Linger")
	if rep.Unit.Path != unitPath || !rep.Changed || !rep.Installed {
		t.Errorf("report = %+v", rep)
	}
	if m := mode(t, unitPath); m != 0o644 {
		t.Errorf("unit mode = %v, want 0644", m)
	}
	for _, d := range []string{".config", ".config/systemd", ".config/systemd/user"} {
		if m := mode(t, filepath.Join(sys.Home, d)); m != 0o755 {
			t.Errorf("%s mode = %v, want 0755", d, m)
		}
	}
	data, _ := os.ReadFile(unitPath)
	if !strings.Contains(string(data), "ExecStart=/opt/coda/bin/coda rotate --watch -p staging\n") {
		t.Errorf("unit:\n%s", data)
	}

	// Lingering off: a note with the command, never run by coda.
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "stops when you log out") ||
		!strings.Contains(rep.Notes[0], "loginctl enable-linger alice") {
		t.Errorf("notes = %q, want the lingering hint", rep.Notes)
	}

	// Again, unchanged: no restart, and with lingering on no note.
	r.Responses["loginctl show-user alice -p Linger"] = service.Output{Stdout: "Linger=yes\n"}
	rep, err = sys.Install(ctx, spec("staging"))
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		"systemctl --user daemon-reload",
		"systemctl --user enable --now coda-watch-staging.service",
		"loginctl show-user alice -p Linger")
	if rep.Changed || len(rep.Notes) != 0 || rep.Linger != "yes" {
		t.Errorf("reinstall report = %+v", rep)
	}

	// Again, changed (coda moved): the running watcher is restarted.
	moved := spec("staging")
	moved.Exe = "/usr/bin/coda"
	if _, err := sys.Install(ctx, moved); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		"systemctl --user daemon-reload",
		"systemctl --user enable --now coda-watch-staging.service",
		"systemctl --user restart coda-watch-staging.service",
		"loginctl show-user alice -p Linger")

	r.Responses["systemctl --user is-active coda-watch-staging.service"] = service.Output{Stdout: "active\n"}
	rep, err = sys.Status(ctx, service.Target{Profile: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		"systemctl --user is-active coda-watch-staging.service",
		"loginctl show-user alice -p Linger")
	if !rep.Installed || !rep.Active || rep.State != "active" || rep.Linger != "yes" ||
		rep.Unit.LogCommand != "journalctl --user -u coda-watch-staging.service" {
		t.Errorf("status = %+v", rep)
	}

	rep, err = sys.Uninstall(ctx, service.Target{Profile: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		"systemctl --user disable --now coda-watch-staging.service",
		"systemctl --user daemon-reload")
	if !rep.Changed || !rep.Stopped {
		t.Errorf("uninstall report = %+v", rep)
	}
	if _, err := os.Stat(unitPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unit file still there: %v", err)
	}

	// Uninstalled: nothing to do, nothing run; status says inactive.
	rep, err = sys.Uninstall(ctx, service.Target{Profile: "staging"})
	if err != nil || rep.Changed || rep.Stopped {
		t.Errorf("second uninstall = %+v, %v", rep, err)
	}
	assertCalls(t, r)
	r.Responses["systemctl --user is-active coda-watch-staging.service"] = service.Output{Stdout: "inactive\n", Code: 3}
	rep, err = sys.Status(ctx, service.Target{Profile: "staging"})
	if err != nil || rep.Installed || rep.Active || rep.State != "inactive" {
		t.Errorf("status = %+v, %v", rep, err)
	}
}

func TestSystemdAllProfiles(t *testing.T) {
	sys, r := servicetest.System(t, service.Linux)
	all := service.Spec{Target: service.Target{AllProfiles: true}, Exe: "/opt/coda/bin/coda"}
	rep, err := sys.Install(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		"systemctl --user daemon-reload",
		"systemctl --user enable --now coda-watch.service",
		"loginctl show-user alice -p Linger")
	data, _ := os.ReadFile(rep.Unit.Path)
	if !strings.Contains(string(data), "ExecStart=/opt/coda/bin/coda rotate --watch --all-profiles\n") {
		t.Errorf("unit:\n%s", data)
	}
	// A one-profile service next to it is called out, both ways.
	rep, err = sys.Install(ctx, spec("work"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool {
		return strings.Contains(n, "coda-watch.service (all profiles) is installed too")
	}) {
		t.Errorf("notes = %q", rep.Notes)
	}
	rep, err = sys.Install(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool {
		return strings.Contains(n, "coda-watch-work.service (profile work) is installed too") &&
			strings.Contains(n, "coda service uninstall -p work")
	}) {
		t.Errorf("notes = %q", rep.Notes)
	}
}

func TestSystemdUnknownLingering(t *testing.T) {
	sys, r := servicetest.System(t, service.Linux)
	r.Responses["loginctl show-user alice -p Linger"] = service.Output{Code: 1, Stderr: "Failed to get user: User ID 501 is not logged in or lingering"}
	rep, err := sys.Install(ctx, spec("default"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Linger != "" || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "loginctl enable-linger alice") {
		t.Errorf("report = %+v", rep)
	}
}

func TestSystemdFailures(t *testing.T) {
	t.Run("no user bus: the new unit is taken back", func(t *testing.T) {
		sys, r := servicetest.System(t, service.Linux)
		r.Responses["systemctl --user daemon-reload"] = service.Output{Code: 1, Stderr: "Failed to connect to bus: No medium found\n"}
		_, err := sys.Install(ctx, spec("default"))
		if err == nil || !strings.Contains(err.Error(), "systemctl --user daemon-reload failed (exit 1): Failed to connect to bus") ||
			!strings.Contains(err.Error(), "user's systemd instance") {
			t.Fatalf("err = %v", err)
		}
		if _, err := os.Stat(filepath.Join(sys.Home, ".config/systemd/user/coda-watch-default.service")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("unit left behind: %v", err)
		}
		assertCalls(t, r, "systemctl --user daemon-reload")
	})
	t.Run("no user bus: status says why", func(t *testing.T) {
		sys, r := servicetest.System(t, service.Linux)
		r.Responses["systemctl --user is-active coda-watch-default.service"] = service.Output{Code: 1, Stderr: "Failed to connect to bus: No medium found\n"}
		rep, err := sys.Status(ctx, service.Target{Profile: "default"})
		if err != nil || rep.State != "unknown" || rep.Active || len(rep.Notes) != 1 ||
			!strings.Contains(rep.Notes[0], "Could not ask systemd: systemctl --user is-active coda-watch-default.service failed (exit 1): Failed to connect to bus") {
			t.Errorf("status = %+v, %v", rep, err)
		}
	})
	t.Run("no systemctl", func(t *testing.T) {
		sys, r := servicetest.System(t, service.Linux)
		r.Errors = map[string]error{"systemctl --user is-active coda-watch-default.service": exec.ErrNotFound}
		_, err := sys.Status(ctx, service.Target{Profile: "default"})
		if err == nil || !strings.Contains(err.Error(), "systemctl not found") || !strings.Contains(err.Error(), "coda rotate --watch in a terminal") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("disable fails: the unit stays", func(t *testing.T) {
		sys, r := servicetest.System(t, service.Linux)
		if _, err := sys.Install(ctx, spec("default")); err != nil {
			t.Fatal(err)
		}
		r.Reset()
		r.Responses["systemctl --user disable --now coda-watch-default.service"] = service.Output{Code: 1, Stderr: "boom"}
		if _, err := sys.Uninstall(ctx, service.Target{Profile: "default"}); err == nil {
			t.Fatal("uninstall succeeded")
		}
		if _, err := os.Stat(filepath.Join(sys.Home, ".config/systemd/user/coda-watch-default.service")); err != nil {
			t.Errorf("unit removed although the service may still run: %v", err)
		}
		assertCalls(t, r, "systemctl --user disable --now coda-watch-default.service")
	})
}

const launchctlPrint = `gui/501/dev.coda.watch.staging = {
	active count = 1
	path = /Users/alice/Library/LaunchAgents/dev.coda.watch.staging.plist
	type = LaunchAgent
	state = running

	program = /opt/coda/bin/coda
	arguments = {
		/opt/coda/bin/coda
		rotate
	}

	endpoints = {
		"x" = {
			state = active
		}
	}
	pid = 4242
	last exit code = (never exited)
}
`

func TestLaunchdInstallUninstallStatus(t *testing.T) {
	sys, r := servicetest.System(t, service.MacOS)
	plist := filepath.Join(sys.Home, "Library", "LaunchAgents", "dev.coda.watch.staging.plist")
	print := "launchctl print gui/501/dev.coda.watch.staging"
	r.Responses[print] = service.Output{Code: 113, Stderr: "Could not find service"}

	rep, err := sys.Install(ctx, spec("staging"))
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		print,
		"launchctl enable gui/501/dev.coda.watch.staging",
		"launchctl bootstrap gui/501 "+plist)
	if rep.Unit.Path != plist || !rep.Changed || len(rep.Notes) != 0 {
		t.Errorf("report = %+v", rep)
	}
	if m := mode(t, plist); m != 0o644 {
		t.Errorf("plist mode = %v, want 0644", m)
	}
	if m := mode(t, filepath.Join(sys.Home, "Library", "LaunchAgents")); m != 0o755 {
		t.Errorf("LaunchAgents mode = %v, want 0755", m)
	}
	if m := mode(t, filepath.Join(sys.Home, "Library", "Logs", "coda")); m != 0o700 {
		t.Errorf("log dir mode = %v, want 0700", m)
	}

	// Loaded: install again boots the old agent out first.
	r.Responses[print] = service.Output{Stdout: launchctlPrint}
	if _, err := sys.Install(ctx, spec("staging")); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		print,
		"launchctl bootout gui/501/dev.coda.watch.staging",
		"launchctl enable gui/501/dev.coda.watch.staging",
		"launchctl bootstrap gui/501 "+plist)

	rep, err = sys.Status(ctx, service.Target{Profile: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r, print)
	if !rep.Installed || !rep.Loaded || !rep.Active || rep.State != "running" || rep.PID != 4242 ||
		rep.Unit.LogFile != filepath.Join(sys.Home, "Library/Logs/coda/watch-staging.log") {
		t.Errorf("status = %+v", rep)
	}

	rep, err = sys.Uninstall(ctx, service.Target{Profile: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r, print, "launchctl bootout gui/501/dev.coda.watch.staging")
	if !rep.Changed || !rep.Stopped {
		t.Errorf("uninstall = %+v", rep)
	}
	if _, err := os.Stat(plist); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plist still there: %v", err)
	}

	r.Responses[print] = service.Output{Code: 113, Stderr: "Could not find service"}
	rep, err = sys.Status(ctx, service.Target{Profile: "staging"})
	if err != nil || rep.Installed || rep.Active || rep.State != "not loaded" {
		t.Errorf("status = %+v, %v", rep, err)
	}
	rep, err = sys.Uninstall(ctx, service.Target{Profile: "staging"})
	if err != nil || rep.Changed || rep.Stopped {
		t.Errorf("second uninstall = %+v, %v", rep, err)
	}
	assertCalls(t, r, print, print)
}

func TestLaunchdAllProfiles(t *testing.T) {
	sys, r := servicetest.System(t, service.MacOS)
	r.Responses["launchctl print gui/501/dev.coda.watch"] = service.Output{Code: 113}
	if _, err := sys.Install(ctx, service.Spec{Target: service.Target{AllProfiles: true}, Exe: "/opt/coda/bin/coda"}); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, r,
		"launchctl print gui/501/dev.coda.watch",
		"launchctl enable gui/501/dev.coda.watch",
		"launchctl bootstrap gui/501 "+filepath.Join(sys.Home, "Library/LaunchAgents/dev.coda.watch.plist"))
}

func TestRefusals(t *testing.T) {
	t.Run("root", func(t *testing.T) {
		for _, goos := range []string{service.Linux, service.MacOS} {
			sys, r := servicetest.System(t, goos)
			sys.UID = 0
			_, errI := sys.Install(ctx, spec("default"))
			_, errU := sys.Uninstall(ctx, service.Target{Profile: "default"})
			_, errS := sys.Status(ctx, service.Target{Profile: "default"})
			for _, err := range []error{errI, errU, errS} {
				if err == nil || !strings.Contains(err.Error(), "does not run as root: a user service belongs to the user") {
					t.Errorf("%s: err = %v", goos, err)
				}
			}
			assertCalls(t, r)
			if entries, _ := os.ReadDir(sys.Home); len(entries) != 0 {
				t.Errorf("%s: root run wrote %v", goos, entries)
			}
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		for _, goos := range []string{"windows", "freebsd"} {
			sys, r := servicetest.System(t, goos)
			_, err := sys.Install(ctx, spec("staging"))
			if err == nil || !strings.Contains(err.Error(), "not supported on "+goos) ||
				!strings.Contains(err.Error(), "run coda rotate --watch -p staging in a terminal instead") {
				t.Errorf("err = %v", err)
			}
			_, err = sys.Status(ctx, service.Target{AllProfiles: true})
			if err == nil || !strings.Contains(err.Error(), "run coda rotate --watch --all-profiles in a terminal instead") {
				t.Errorf("err = %v", err)
			}
			assertCalls(t, r)
		}
	})
}
