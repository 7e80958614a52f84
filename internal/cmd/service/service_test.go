package service

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	svc "github.com/coda-cli/coda/internal/service"
	"github.com/coda-cli/coda/internal/service/servicetest"
)

// ---- test harness ----

type testEnv struct {
	*cmdtest.Env
	sys    svc.System
	runner *servicetest.Runner
	exe    string
	// allProfiles says whether the fake rotate has --all-profiles.
	allProfiles bool
}

func newTestEnv(t *testing.T, goos string) *testEnv {
	t.Helper()
	e := cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdService), cmdtest.Cmd(login.NewCmdLogin))
	sys, r := servicetest.System(t, goos)
	return &testEnv{Env: e, sys: sys, runner: r, exe: "/opt/My Tools/coda", allProfiles: true}
}

// run runs `coda service ARGS` over the fake system.
func (e *testEnv) run(args ...string) cmdtest.Result {
	e.T.Helper()
	return e.Exec(func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdService(f, func(ctx context.Context, o *Options) error {
			o.System = func() (svc.System, error) { return e.sys, nil }
			o.Executable = func() (string, error) { return e.exe, nil }
			o.RotateHasFlag = func(name string) bool { return e.allProfiles && name == "all-profiles" }
			return run(ctx, o)
		})
	}, args...)
}

func (e *testEnv) assertCalls(want ...string) {
	e.T.Helper()
	if got := e.runner.Calls(); !slices.Equal(got, want) {
		e.T.Errorf("commands run:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	e.runner.Reset()
}

func (e *testEnv) read(rel string) string {
	e.T.Helper()
	data, err := os.ReadFile(filepath.Join(e.sys.Home, rel))
	if err != nil {
		e.T.Fatal(err)
	}
	return string(data)
}

// ---- flag parsing ----

func TestNewCmdServiceFlags(t *testing.T) {
	tests := []struct {
		args    []string
		action  string
		all     bool
		wantErr int // exit code; 0 for success
	}{
		{args: []string{"install"}, action: ActionInstall},
		{args: []string{"uninstall"}, action: ActionUninstall},
		{args: []string{"status"}, action: ActionStatus},
		{args: []string{"install", "--all-profiles"}, action: ActionInstall, all: true},
		{args: []string{"--all-profiles", "status"}, action: ActionStatus, all: true},
		{args: []string{"install", "-p", "staging"}, action: ActionInstall},
		{args: []string{"install", "--all-profiles", "-p", "staging"}, wantErr: exit.Usage},
		{args: []string{"install", "extra"}, wantErr: exit.Error},
		{args: []string{"bogus"}, wantErr: exit.Error},
		{args: []string{"status", "--bogus"}, wantErr: exit.Error},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			e := cmdtest.New(t, cmdtest.Cmd(NewCmdService))
			res, got := cmdtest.Parse(e, NewCmdService, tt.args...)
			if tt.wantErr != 0 {
				if res.Err == nil || got != nil || res.Code() != tt.wantErr {
					t.Fatalf("err = %v (exit %d), runF called = %v; want exit %d and no call", res.Err, res.Code(), got != nil, tt.wantErr)
				}
				return
			}
			if res.Err != nil || got == nil {
				t.Fatalf("err = %v", res.Err)
			}
			if got.Action != tt.action || got.AllProfiles != tt.all {
				t.Errorf("Action, AllProfiles = %q, %v; want %q, %v", got.Action, got.AllProfiles, tt.action, tt.all)
			}
			if got.F == nil || got.System == nil || got.Executable == nil || got.RotateHasFlag == nil {
				t.Errorf("a dependency is nil: %+v", got)
			}
		})
	}
}

// ---- install, uninstall, status ----

// secretVars are set in the environment of every install: none may reach
// a unit.
var secretVars = map[string]string{
	"DATABRICKS_TOKEN":         "dapi0000fake0000token0000value0001",
	"DATABRICKS_CLIENT_SECRET": "dose-fake-client-secret",
	"DATABRICKS_HOST":          "https://leak.example.com",
	"CODA_TOKEN":               "coda-fake-token-value",
	"CODA_SECRET":              "coda-fake-secret",
	"CODA_PROFILE":             "default",
	"CODA_LIFETIME":            "20m",
	"CODA_MIN_TTL":             "6m",
	"GITHUB_TOKEN":             "ghp_fakefakefake",
	"XDG_CONFIG_HOME":          "/home/alice/xdg config",
}

func TestInstallLinux(t *testing.T) {
	e := newTestEnv(t, svc.Linux)
	e.Login()
	for k, v := range secretVars {
		e.Vars[k] = v
	}
	res := e.run("install")
	if res.Err != nil {
		t.Fatalf("install: %v\n%s", res.Err, res.ErrOut)
	}
	e.assertCalls(
		"systemctl --user daemon-reload",
		"systemctl --user enable --now coda-watch-default.service",
		"loginctl show-user alice -p Linger")
	unit := e.read(".config/systemd/user/coda-watch-default.service")
	if !strings.Contains(unit, `ExecStart="/opt/My Tools/coda" rotate --watch -p default`+"\n") {
		t.Errorf("unit:\n%s", unit)
	}
	assertOnlyConfigEnv(t, e, unit, regexp.MustCompile(`(?m)^Environment=.*$`), []string{
		`Environment=CODA_CONFIG_DIR=` + e.Dir,
		`Environment="XDG_CONFIG_HOME=/home/alice/xdg config"`,
	})
	want := fmt.Sprintf("Installed coda-watch-default.service for profile default: %s/.config/systemd/user/coda-watch-default.service\n"+
		"Started: systemd runs coda rotate --watch -p default now and whenever your user session starts, and again 30s after a failure.\n"+
		"Logs: journalctl --user -u coda-watch-default.service\n", e.sys.Home)
	if res.Out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", res.Out, want)
	}
	// Lingering is off in the fake: the hint, on stderr.
	if !strings.Contains(res.ErrOut, "Lingering is off for alice: the service stops when you log out") ||
		!strings.Contains(res.ErrOut, "run: loginctl enable-linger alice") {
		t.Errorf("stderr lacks the lingering hint:\n%s", res.ErrOut)
	}
	e.AssertNoSecrets(res.Out, res.ErrOut, unit)

	// Installed again with nothing changed.
	e.runner.Responses["loginctl show-user alice -p Linger"] = svc.Output{Stdout: "Linger=yes\n"}
	res = e.run("install")
	if res.Err != nil || !strings.Contains(res.Out, "coda-watch-default.service for profile default is up to date") || res.ErrOut != "" {
		t.Errorf("reinstall: %v\nstdout: %s\nstderr: %s", res.Err, res.Out, res.ErrOut)
	}
	res = e.run("install", "-o", "json")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m := cmdtest.DecodeJSON(t, res.Out)
	for k, v := range map[string]any{"action": "unchanged", "manager": "systemd", "name": "coda-watch-default.service",
		"installed": true, "linger": "yes", "profile": "default"} {
		if m[k] != v {
			t.Errorf("json %s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["active"]; ok {
		t.Errorf("install JSON claims to know whether it runs: %v", m)
	}
}

func TestInstallMacOS(t *testing.T) {
	e := newTestEnv(t, svc.MacOS)
	e.Login("-p", "staging")
	for k, v := range secretVars {
		e.Vars[k] = v
	}
	e.runner.Responses["launchctl print gui/501/dev.coda.watch.staging"] = svc.Output{Code: 113}
	res := e.run("install", "-p", "staging")
	if res.Err != nil {
		t.Fatalf("install: %v\n%s", res.Err, res.ErrOut)
	}
	plist := filepath.Join(e.sys.Home, "Library/LaunchAgents/dev.coda.watch.staging.plist")
	e.assertCalls(
		"launchctl print gui/501/dev.coda.watch.staging",
		"launchctl enable gui/501/dev.coda.watch.staging",
		"launchctl bootstrap gui/501 "+plist)
	content := e.read("Library/LaunchAgents/dev.coda.watch.staging.plist")
	assertOnlyConfigEnv(t, e, content, regexp.MustCompile(`<key>[A-Z_]+</key>`), []string{
		"<key>CODA_CONFIG_DIR</key>", "<key>XDG_CONFIG_HOME</key>",
	})
	if !strings.Contains(content, "<string>/opt/My Tools/coda</string>\n\t\t<string>rotate</string>\n\t\t<string>--watch</string>\n\t\t<string>-p</string>\n\t\t<string>staging</string>") {
		t.Errorf("plist:\n%s", content)
	}
	if res.ErrOut != "" {
		t.Errorf("stderr: %s", res.ErrOut)
	}
	if !strings.Contains(res.Out, "Loaded: launchd runs coda rotate --watch -p staging now and at each login") ||
		!strings.Contains(res.Out, "Logs: tail -f "+filepath.Join(e.sys.Home, "Library/Logs/coda/watch-staging.log")) {
		t.Errorf("stdout:\n%s", res.Out)
	}
	e.AssertNoSecrets(res.Out, res.ErrOut, content)
}

// assertOnlyConfigEnv checks that the unit's environment entries (found by
// re) are exactly want, and that no other variable's value, no PAT and no
// stored token is anywhere in it.
func assertOnlyConfigEnv(t *testing.T, e *testEnv, unit string, re *regexp.Regexp, want []string) {
	t.Helper()
	got := re.FindAllString(unit, -1)
	if !slices.Equal(got, want) {
		t.Errorf("environment entries = %q, want %q", got, want)
	}
	for k, v := range secretVars {
		if k != "XDG_CONFIG_HOME" && k != "CODA_PROFILE" && strings.Contains(unit, v) {
			t.Errorf("the unit holds the value of %s", k)
		}
		if k != "XDG_CONFIG_HOME" && strings.Contains(unit, k) {
			t.Errorf("the unit names %s", k)
		}
	}
	if strings.Contains(unit, e.PAT) {
		t.Error("the unit holds the PAT")
	}
	for _, name := range e.State().ProfileNames() {
		if tok := e.State().Profile(name).Token; strings.Contains(unit, tok) {
			t.Errorf("the unit holds profile %s's token", name)
		}
	}
}

func TestInstallAllProfiles(t *testing.T) {
	e := newTestEnv(t, svc.Linux)
	e.Login("-p", "work")
	res := e.run("install", "--all-profiles")
	if res.Err != nil {
		t.Fatalf("install: %v\n%s", res.Err, res.ErrOut)
	}
	e.assertCalls(
		"systemctl --user daemon-reload",
		"systemctl --user enable --now coda-watch.service",
		"loginctl show-user alice -p Linger")
	if unit := e.read(".config/systemd/user/coda-watch.service"); !strings.Contains(unit, `ExecStart="/opt/My Tools/coda" rotate --watch --all-profiles`+"\n") {
		t.Errorf("unit:\n%s", unit)
	}

	// A coda whose rotate lacks --all-profiles installs no such unit.
	e2 := newTestEnv(t, svc.Linux)
	e2.Login()
	e2.allProfiles = false
	res = e2.run("install", "--all-profiles")
	if res.Err == nil || !strings.Contains(res.Err.Error(), "rotate has no --all-profiles") {
		t.Errorf("err = %v", res.Err)
	}
	e2.assertCalls()
}

func TestInstallNeedsALiveToken(t *testing.T) {
	e := newTestEnv(t, svc.Linux)
	res := e.run("install", "-p", "staging")
	if res.Code() != exit.Auth || !strings.Contains(res.Err.Error(), `profile "staging" is not logged in`) ||
		!strings.Contains(res.Err.Error(), "run: coda login -p staging") {
		t.Errorf("not logged in: exit %d, %v", res.Code(), res.Err)
	}
	res = e.run("install", "--all-profiles")
	if res.Code() != exit.Auth || !strings.Contains(res.Err.Error(), "no profile is logged in") {
		t.Errorf("all profiles, none logged in: exit %d, %v", res.Code(), res.Err)
	}

	e.Login()
	e.Clock.Advance(24 * time.Hour)
	res = e.run("install")
	if res.Code() != exit.Auth || !strings.Contains(res.Err.Error(), "token has expired") {
		t.Errorf("expired: exit %d, %v", res.Code(), res.Err)
	}
	e.assertCalls()
	if entries, _ := os.ReadDir(e.sys.Home); len(entries) != 0 {
		t.Errorf("wrote %v", entries)
	}
}

func TestRefusesRoot(t *testing.T) {
	for _, goos := range []string{svc.Linux, svc.MacOS} {
		t.Run(goos, func(t *testing.T) {
			e := newTestEnv(t, goos)
			e.Login()
			e.sys.UID = 0
			for _, action := range []string{"install", "uninstall", "status"} {
				res := e.run(action)
				if res.Code() != exit.Error || !strings.Contains(res.Err.Error(), "does not run as root: a user service belongs to the user") {
					t.Errorf("%s as root: exit %d, %v", action, res.Code(), res.Err)
				}
			}
			e.assertCalls()
			if entries, _ := os.ReadDir(e.sys.Home); len(entries) != 0 {
				t.Errorf("wrote %v", entries)
			}
		})
	}
}

func TestUnsupportedOS(t *testing.T) {
	e := newTestEnv(t, "windows")
	e.Login()
	res := e.run("install", "-p", "default")
	if res.Err == nil || !strings.Contains(res.Err.Error(), "not supported on windows") ||
		!strings.Contains(res.Err.Error(), "run coda rotate --watch -p default in a terminal instead") {
		t.Errorf("err = %v", res.Err)
	}
	e.assertCalls()
}

func TestUninstall(t *testing.T) {
	e := newTestEnv(t, svc.Linux)
	e.Login()
	if res := e.run("install"); res.Err != nil {
		t.Fatal(res.Err)
	}
	e.runner.Reset()
	res := e.run("uninstall")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	e.assertCalls(
		"systemctl --user disable --now coda-watch-default.service",
		"systemctl --user daemon-reload")
	path := filepath.Join(e.sys.Home, ".config/systemd/user/coda-watch-default.service")
	if want := "Removed coda-watch-default.service for profile default (stopped and disabled): " + path + "\n"; res.Out != want {
		t.Errorf("stdout = %q, want %q", res.Out, want)
	}
	res = e.run("uninstall", "-o", "json")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	e.assertCalls()
	if m := cmdtest.DecodeJSON(t, res.Out); m["action"] != "not_installed" || m["installed"] != false || m["active"] != nil {
		t.Errorf("json = %v", m)
	}
}

func TestStatus(t *testing.T) {
	e := newTestEnv(t, svc.Linux)
	e.Login()
	active := "systemctl --user is-active coda-watch-default.service"

	e.runner.Responses[active] = svc.Output{Stdout: "inactive\n", Code: 3}
	res := e.run("status")
	if res.Code() != exit.Error || !strings.Contains(res.ErrOut, "Install it with: coda service install -p default") {
		t.Errorf("not installed: exit %d\nstderr: %s", res.Code(), res.ErrOut)
	}
	e.assertCalls(active, "loginctl show-user alice -p Linger")

	if res := e.run("install"); res.Err != nil {
		t.Fatal(res.Err)
	}
	e.runner.Reset()
	e.runner.Responses[active] = svc.Output{Stdout: "active\n"}
	res = e.run("status")
	if res.Err != nil {
		t.Fatalf("status: %v", res.Err)
	}
	e.assertCalls(active, "loginctl show-user alice -p Linger")
	path := filepath.Join(e.sys.Home, ".config/systemd/user/coda-watch-default.service")
	want := "Service:       coda-watch-default.service (systemd user unit, profile default)\n" +
		"File:          " + path + "\n" +
		"Installed:     yes\n" +
		"State:         active\n" +
		"Lingering:     no: it stops when you log out (loginctl enable-linger alice keeps it running)\n" +
		"Logs:          journalctl --user -u coda-watch-default.service\n"
	if res.Out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", res.Out, want)
	}

	res = e.run("status", "-o", "json")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m := cmdtest.DecodeJSON(t, res.Out)
	for k, v := range map[string]any{"manager": "systemd", "name": "coda-watch-default.service", "file": path,
		"profile": "default", "all_profiles": false, "installed": true, "active": true, "state": "active",
		"linger": "no", "log_command": "journalctl --user -u coda-watch-default.service"} {
		if m[k] != v {
			t.Errorf("json %s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["action"]; ok {
		t.Errorf("status JSON has an action: %v", m)
	}

	// Installed but failed: exit 1.
	e.runner.Responses[active] = svc.Output{Stdout: "failed\n", Code: 3}
	if res := e.run("status"); res.Code() != exit.Error || !strings.Contains(res.Out, "State:         failed\n") {
		t.Errorf("failed: exit %d\n%s", res.Code(), res.Out)
	}
}

func TestStatusMacOS(t *testing.T) {
	e := newTestEnv(t, svc.MacOS)
	print := "launchctl print gui/501/dev.coda.watch"
	e.runner.Responses[print] = svc.Output{Stdout: "gui/501/dev.coda.watch = {\n\tstate = running\n\tpid = 77\n}\n"}
	res := e.run("status", "--all-profiles", "-o", "json")
	// Loaded and running, but its plist is gone: not installed, exit 1.
	if res.Code() != exit.Error {
		t.Errorf("exit %d", res.Code())
	}
	e.assertCalls(print)
	m := cmdtest.DecodeJSON(t, res.Out)
	for k, v := range map[string]any{"manager": "launchd", "name": "dev.coda.watch", "all_profiles": true,
		"installed": false, "active": true, "state": "running", "pid": float64(77),
		"log_file": filepath.Join(e.sys.Home, "Library/Logs/coda/watch.log")} {
		if m[k] != v {
			t.Errorf("json %s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["linger"]; ok {
		t.Error("launchd status has lingering")
	}
}
