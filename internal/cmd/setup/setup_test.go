package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/plugins"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/pkg/configurator"
)

func testFactory(t *testing.T, tty bool, stdin string) (*cmdutil.Factory, *strings.Builder) {
	t.Helper()
	ios, in, _, errOut := cmdutil.TestStreams(tty)
	in.WriteString(stdin)
	vars := map[string]string{"CODA_CONFIG_DIR": filepath.Join(t.TempDir(), "coda")}
	f := &cmdutil.Factory{IO: ios, Getenv: func(k string) string { return vars[k] }, Clock: clock.Real{}, Output: "text", Plugins: plugins.Builtins()}
	sb := &strings.Builder{}
	ios.ErrOut = io.MultiWriter(errOut, sb)
	return f, sb
}

func TestSetupFlags(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
		check    func(*testing.T, *Options)
	}{
		{args: []string{"--all"}, check: func(t *testing.T, o *Options) {
			if !o.All || o.Endpoint != "auto" || o.DryRun || o.Remove || o.GeminiTrustHome {
				t.Errorf("options %+v", o)
			}
		}},
		{args: []string{"claude", "codex", "--dry-run", "--endpoint", "ai-gateway"}, check: func(t *testing.T, o *Options) {
			if !slices.Equal(o.Names, []string{"claude", "codex"}) || !o.DryRun || o.Endpoint != "ai-gateway" {
				t.Errorf("options %+v", o)
			}
		}},
		{args: []string{"--all", "--model", "claude.haiku=m1", "--model", "codex=m2", "--grace", "30s"}, check: func(t *testing.T, o *Options) {
			in, toStore, err := o.Timing.Resolve(policy.Settings{})
			if !slices.Equal(o.Models, []string{"claude.haiku=m1", "codex=m2"}) || err != nil || in.GraceD() != 30*time.Second ||
				toStore.Grace == nil || *toStore.Grace != policy.Duration(30*time.Second) {
				t.Errorf("options %+v, grace %s, stored %+v, %v", o, in.GraceD(), toStore, err)
			}
		}},
		{args: nil, wantCode: exit.Usage, wantErr: "or pass --all"},
		{args: []string{"--all", "claude"}, wantCode: exit.Usage, wantErr: "or pass --all"},
		{args: []string{"nosuch"}, wantCode: exit.Usage, wantErr: `unknown plugin "nosuch": choose from databricks, claude,`},
		{args: []string{"claud"}, wantCode: exit.Usage, wantErr: `unknown plugin "claud" (did you mean claude?)`},
		{args: []string{"--all", "--model", "gemnii=m"}, wantCode: exit.Usage, wantErr: `got "gemnii=m" (did you mean gemini?)`},
		{args: []string{"--all", "--endpoint", "x"}, wantCode: exit.Usage, wantErr: "--endpoint must be one of"},
		{args: []string{"--all", "--model", "nosuch=m"}, wantCode: exit.Usage, wantErr: "--model wants PLUGIN=MODEL"},
		{args: []string{"--all", "--model", "claude="}, wantCode: exit.Usage, wantErr: "--model wants PLUGIN=MODEL"},
		{args: []string{"gemini", "--gemini-trust-home"}, check: func(t *testing.T, o *Options) {
			if !o.GeminiTrustHome {
				t.Errorf("options %+v", o)
			}
		}},
		{args: []string{"--all", "--gemini-trust-home", "--dry-run"}, check: func(t *testing.T, o *Options) {
			if !o.GeminiTrustHome || !o.All {
				t.Errorf("options %+v", o)
			}
		}},
		{args: []string{"claude", "--gemini-trust-home"}, wantCode: exit.Usage, wantErr: "--gemini-trust-home is for setting up gemini"},
		{args: []string{"gemini", "--remove", "--gemini-trust-home"}, wantCode: exit.Usage, wantErr: "without --remove"},
		{args: []string{"copilot", "--shell-rc"}, check: func(t *testing.T, o *Options) {
			if !o.ShellRC || !o.ShellRCSet {
				t.Errorf("options %+v", o)
			}
		}},
		{args: []string{"--all", "--shell-rc=false"}, check: func(t *testing.T, o *Options) {
			if o.ShellRC || !o.ShellRCSet {
				t.Errorf("options %+v", o)
			}
		}},
		{args: []string{"copilot"}, check: func(t *testing.T, o *Options) {
			if o.ShellRC || o.ShellRCSet {
				t.Errorf("options %+v: --shell-rc not given must leave the profile's choice", o)
			}
		}},
		{args: []string{"claude", "--shell-rc"}, wantCode: exit.Usage, wantErr: "--shell-rc is for setting up tools configured through environment variables (copilot)"},
		{args: []string{"copilot", "--remove", "--shell-rc"}, wantCode: exit.Usage, wantErr: "without --remove"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _ := testFactory(t, false, "")
			var got *Options
			cmd := NewCmdSetup(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if exit.CodeOf(err) != tt.wantCode || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v (exit %d), want exit %d with %q", err, exit.CodeOf(err), tt.wantCode, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func TestInstall(t *testing.T) {
	notInstalled := configurator.Env{
		Home:     "/home/alice",
		Getenv:   func(string) string { return "" },
		LookPath: func(string) (string, error) { return "", errors.New("not found") },
	}
	all := plugins.Builtins()
	// Every pinned package, sorted.
	var wantCalls []string
	for _, pl := range all {
		if pkg := pl.Info().NPMPackage; pkg != "" {
			wantCalls = append(wantCalls, "install -g --prefix /home/alice/.local "+pkg)
		}
	}
	slices.Sort(wantCalls)
	for _, pkg := range []string{"@anthropic-ai/claude-code@2.1.328", "@github/copilot@1.0.102", "opencode-ai@1.18.33"} {
		if !slices.Contains(wantCalls, "install -g --prefix /home/alice/.local "+pkg) {
			t.Fatalf("no plugin pins %s", pkg)
		}
	}
	tests := []struct {
		name      string
		tty       bool
		answer    bool
		yes       bool
		wantCode  int
		wantCalls []string
	}{
		{name: "no terminal, no --yes: refuse and say how", wantCode: exit.Usage},
		{name: "--yes installs every missing agent", yes: true, wantCalls: wantCalls},
		{name: "terminal, answer no", tty: true},
		{name: "terminal, answer yes", tty: true, answer: true, wantCalls: wantCalls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := testFactory(t, tt.tty, "")
			prompter := &choosingPrompter{confirm: tt.answer}
			f.Prompter = func() cmdutil.Prompter { return prompter }
			var calls []string
			opts := &Options{F: f, Yes: tt.yes, Plugins: all, NPM: func(_ context.Context, _ io.Writer, args ...string) error {
				calls = append(calls, strings.Join(args, " "))
				return nil
			}}
			err := opts.install(context.Background(), notInstalled, all)
			if exit.CodeOf(err) != tt.wantCode {
				t.Fatalf("err = %v, want exit %d", err, tt.wantCode)
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("npm calls %q, want %q", calls, tt.wantCalls)
			}
			if slices.ContainsFunc(calls, func(c string) bool { return strings.Contains(c, "sudo") }) {
				t.Error("npm was run with sudo")
			}
			if tt.wantCode == exit.Usage && !strings.Contains(err.Error(), "--yes") {
				t.Errorf("the refusal does not say how to confirm: %v", err)
			}
			// Asked through the Prompter (huh on a terminal), default no.
			if asked := len(prompter.asked) == 1 && strings.HasPrefix(prompter.asked[0], "Install ") && strings.Contains(prompter.asked[0], " with npm? (default false)"); asked != (tt.tty && !tt.yes) {
				t.Errorf("questions %q", prompter.asked)
			}
		})
	}
	// Installed tools and plugins without an npm package are left alone.
	installed := notInstalled
	installed.LookPath = func(file string) (string, error) { return filepath.Join("/usr/bin", file), nil }
	f, _ := testFactory(t, false, "")
	opts := &Options{F: f, Yes: true, Plugins: all, NPM: func(context.Context, io.Writer, ...string) error {
		t.Error("npm ran although every tool is installed")
		return nil
	}}
	if err := opts.install(context.Background(), installed, all); err != nil {
		t.Fatal(err)
	}
}

// --dry-run diffs are coloured only on a terminal without NO_COLOR.
func TestDryRunColour(t *testing.T) {
	for _, tc := range []struct {
		tty     bool
		noColor string
		want    bool
	}{{true, "", true}, {true, "1", false}, {false, "", false}} {
		e := cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdSetup), cmdtest.Cmd(login.NewCmdLogin))
		e.Vars["HOME"] = t.TempDir()
		e.Login()
		e.TTY, e.Vars["NO_COLOR"] = tc.tty, tc.noColor
		res := e.Run("codex", "--dry-run", "--endpoint", "serving")
		if res.Err != nil {
			t.Fatalf("setup --dry-run: %v\n%s", res.Err, res.ErrOut)
		}
		if !strings.Contains(res.Out, "config.toml") {
			t.Fatalf("no diff:\n%s", res.Out)
		}
		if got := strings.Contains(res.Out, "\x1b["); got != tc.want {
			t.Errorf("tty %v NO_COLOR %q: coloured %v, want %v", tc.tty, tc.noColor, got, tc.want)
		}
	}
}

// --gemini-trust-home reaches the gemini plugin as its option trust-home,
// kept in the profile for status; a setup of gemini without it takes the
// trust back, a setup of other plugins leaves it.
func TestGeminiTrustHome(t *testing.T) {
	e := cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdSetup), cmdtest.Cmd(login.NewCmdLogin))
	home := t.TempDir()
	e.Vars["HOME"] = home
	e.Login()
	trusted := filepath.Join(home, ".gemini", "trustedFolders.json")
	option := func() string { return e.State().Profile("default").Settings["option.gemini.trust-home"] }

	res := e.Run("gemini", "--endpoint", "serving")
	if res.Err != nil {
		t.Fatalf("setup gemini: %v\n%s", res.Err, res.ErrOut)
	}
	if _, err := os.Stat(trusted); !os.IsNotExist(err) {
		t.Errorf("setup without --gemini-trust-home wrote %s (%v)", trusted, err)
	}
	if !strings.Contains(res.Out, "coda setup --gemini-trust-home trusts every folder under "+home) {
		t.Errorf("the result does not say how to trust HOME:\n%s", res.Out)
	}

	res = e.Run("gemini", "--gemini-trust-home", "--endpoint", "serving")
	if res.Err != nil {
		t.Fatalf("setup gemini --gemini-trust-home: %v\n%s", res.Err, res.ErrOut)
	}
	data, err := os.ReadFile(trusted)
	if err != nil || !strings.Contains(string(data), `"`+home+`": "TRUST_FOLDER"`) {
		t.Errorf("%s: %v\n%s", trusted, err, data)
	}
	if option() != "true" {
		t.Errorf("the profile keeps option.gemini.trust-home = %q", option())
	}
	if !strings.Contains(res.Out, "trusts "+home+" in ~/.gemini/trustedFolders.json (--gemini-trust-home)") {
		t.Errorf("the result does not say what it trusted:\n%s", res.Out)
	}

	if res = e.Run("claude", "--endpoint", "serving"); res.Err != nil || option() != "true" {
		t.Errorf("setup claude: %v; option.gemini.trust-home = %q", res.Err, option())
	}

	res = e.Run("gemini", "--endpoint", "serving")
	if res.Err != nil {
		t.Fatalf("setup gemini: %v\n%s", res.Err, res.ErrOut)
	}
	if _, err := os.Stat(trusted); !os.IsNotExist(err) {
		t.Errorf("setup without --gemini-trust-home left %s (%v)", trusted, err)
	}
	if option() != "" {
		t.Errorf("option.gemini.trust-home = %q after a setup without the flag", option())
	}
	if !strings.Contains(res.Out, "took back the TRUST_FOLDER rule for "+home) {
		t.Errorf("the result does not say it took the trust back:\n%s", res.Out)
	}
}

// --shell-rc reaches the env plugins (copilot) as their option shell-rc,
// kept in the profile: later setups keep coda's block in ~/.bashrc,
// --shell-rc=false takes it out (and the result says which line to add
// instead), a remove forgets the choice. Plan notes are in the result,
// with and without --dry-run.
func TestShellRC(t *testing.T) {
	e := cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdSetup), cmdtest.Cmd(login.NewCmdLogin))
	home := t.TempDir()
	e.Vars["HOME"], e.Vars["SHELL"] = home, "/bin/bash"
	e.Login()
	bashrc := filepath.Join(home, ".bashrc")
	if err := os.WriteFile(bashrc, []byte("alias ll='ls -l'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	option := func() string { return e.State().Profile("default").Settings["option.copilot.shell-rc"] }
	read := func() string {
		data, err := os.ReadFile(bashrc)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	snippet := filepath.Join(e.Dir, "env", "copilot.sh")
	hint := "add this line to ~/.bashrc (or run coda setup copilot --shell-rc): if [ -f '" + snippet + "' ]"

	res := e.Run("copilot", "--endpoint", "serving", "--dry-run")
	if res.Err != nil || !strings.Contains(res.Out, "note (copilot): to load Copilot's settings in new shells, "+hint) {
		t.Errorf("setup --dry-run: %v\n%s", res.Err, res.Out)
	}
	res = e.Run("copilot", "--endpoint", "serving")
	if res.Err != nil || !strings.Contains(res.Out, hint) {
		t.Errorf("setup without --dry-run does not show the line to add: %v\n%s", res.Err, res.Out)
	}
	if read() != "alias ll='ls -l'\n" || option() != "" {
		t.Errorf("setup without --shell-rc: option %q, .bashrc %q", option(), read())
	}

	res = e.Run("copilot", "--shell-rc", "--endpoint", "serving")
	if res.Err != nil || option() != "true" {
		t.Fatalf("setup --shell-rc: %v, option %q\n%s", res.Err, option(), res.ErrOut)
	}
	withBlock := read()
	if !strings.HasPrefix(withBlock, "alias ll='ls -l'\n\n# >>> coda copilot >>>\n") || !strings.Contains(withBlock, ". '"+snippet+"'") {
		t.Errorf(".bashrc after --shell-rc:\n%s", withBlock)
	}
	if strings.Contains(res.Out, hint) {
		t.Errorf("the result asks for a line the block has:\n%s", res.Out)
	}

	for _, args := range [][]string{{"claude"}, {"copilot"}, {"--all"}} {
		if res := e.Run(append(args, "--endpoint", "serving")...); res.Err != nil || option() != "true" || read() != withBlock {
			t.Errorf("setup %v: %v; option %q; .bashrc changed: %v", args, res.Err, option(), read() != withBlock)
		}
	}

	res = e.Run("copilot", "--shell-rc=false", "--endpoint", "serving")
	if res.Err != nil || option() != "" || read() != "alias ll='ls -l'\n" {
		t.Errorf("setup --shell-rc=false: %v; option %q; .bashrc %q", res.Err, option(), read())
	}
	if !strings.Contains(res.Out, hint) {
		t.Errorf("the result does not say which line to add:\n%s", res.Out)
	}

	if res := e.Run("copilot", "--shell-rc", "--endpoint", "serving"); res.Err != nil {
		t.Fatal(res.Err)
	}
	res = e.Run("--remove", "copilot")
	if res.Err != nil || option() != "" || read() != "alias ll='ls -l'\n" {
		t.Errorf("setup --remove copilot: %v; option %q; .bashrc %q", res.Err, option(), read())
	}
	if _, err := os.Stat(snippet); !os.IsNotExist(err) {
		t.Errorf("%s is left after remove (%v)", snippet, err)
	}
}

// choosingPrompter answers every yes-or-no question with confirm and
// records the questions, each with its default.
type choosingPrompter struct {
	confirm bool
	asked   []string
}

func (p *choosingPrompter) Login(cmdutil.LoginPrompt) (string, string, error) { return "", "", nil }

func (p *choosingPrompter) Confirm(title string, def bool) (bool, error) {
	p.asked = append(p.asked, fmt.Sprintf("%s (default %v)", title, def))
	return p.confirm, nil
}

func (p *choosingPrompter) Choose(title string, _ []cmdutil.Option) (string, error) {
	return "", errors.New("setup asks yes-or-no questions only")
}

// An agent set up to use the proxy is never left pointing at a proxy
// nobody runs without the user being told: on a terminal setup offers to
// install the watcher as a service (and does it on yes); otherwise, or on
// no, it prints the commands that serve the proxy.
func TestSetupOffersTheServiceForTheProxy(t *testing.T) {
	for _, tc := range []struct {
		tty       bool
		answer    bool
		installed bool
	}{{true, true, true}, {true, false, false}, {false, false, false}} {
		e := cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdSetup), cmdtest.Cmd(login.NewCmdLogin))
		e.Vars["HOME"] = t.TempDir()
		e.Login()
		prompter := &choosingPrompter{confirm: tc.answer}
		e.Prompter, e.TTY = prompter, tc.tty
		installs := 0
		res := e.Exec(func(f *cmdutil.Factory) *cobra.Command {
			return NewCmdSetup(f, func(ctx context.Context, o *Options) error {
				o.InstallService = func(context.Context, *cmdutil.Factory) error { installs++; return nil }
				return run(ctx, o)
			})
		}, "gemini", "--endpoint", "serving")
		if (installs == 1) != tc.installed {
			t.Errorf("tty %v answer %v: %d installs", tc.tty, tc.answer, installs)
		}
		if res.Err != nil {
			t.Fatalf("setup: %v\n%s", res.Err, res.ErrOut)
		}
		if !strings.Contains(res.ErrOut, "gemini go through coda's proxy on http://127.0.0.1:") {
			t.Errorf("stderr = %q", res.ErrOut)
		}
		asked := len(prompter.asked) == 1 && strings.HasSuffix(prompter.asked[0], "(default true)")
		if asked != tc.tty {
			t.Errorf("tty %v: asked %v", tc.tty, prompter.asked)
		}
		hint := strings.Contains(res.ErrOut, "coda service install")
		if hint == tc.installed {
			t.Errorf("tty %v answer %v: hint shown %v", tc.tty, tc.answer, hint)
		}
	}
}

// The text result: one line per plugin in the plugins' order (not the
// order they finish in), each fitting 100 columns, the files as ~/...;
// tools not installed named once; the plans' notes after; and nothing on
// stderr about progress when setup is quick.
func TestSetupOutput(t *testing.T) {
	e := cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdSetup), cmdtest.Cmd(login.NewCmdLogin))
	e.Vars["HOME"] = t.TempDir()
	e.Login()
	res := e.Run("--all", "--endpoint", "serving")
	if res.Err != nil {
		t.Fatalf("setup: %v\n%s", res.Err, res.ErrOut)
	}
	var order []string
	notInstalled := 0
	for _, line := range strings.Split(strings.TrimSuffix(res.Out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "note ("):
			continue // a note keeps a command whole, however long
		case strings.HasPrefix(line, "Not installed here, set up for when they are: "):
			notInstalled++
			continue
		}
		if len([]rune(line)) > lineWidth {
			t.Errorf("a line of %d columns: %s", len([]rune(line)), line)
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[1] != "configured" || strings.Contains(line, "not installed") {
			t.Errorf("result line %q", line)
		}
		order = append(order, fields[0])
	}
	var want []string
	for _, pl := range plugins.Builtins() {
		if pl.Info().InAll {
			want = append(want, pl.Info().Name)
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("plugins in order %v, want %v", order, want)
	}
	if notInstalled > 1 {
		t.Errorf("tools not installed named %d times", notInstalled)
	}
	if !regexp.MustCompile(`(?m)^claude +configured +~/\.claude/settings\.json, ~/\.claude\.json$`).MatchString(res.Out) {
		t.Errorf("claude's line does not name its files:\n%s", res.Out)
	}
	if !strings.Contains(res.Out, "\nnote (gemini): Gemini CLI reads ~/.gemini/.env only in folders you trust") {
		t.Errorf("no note from gemini:\n%s", res.Out)
	}
	for _, pl := range want {
		if strings.Contains(res.ErrOut, pl+": configured") || strings.Contains(res.ErrOut, "Waiting for") {
			t.Errorf("progress on stderr for a quick setup:\n%s", res.ErrOut)
			break
		}
	}
}

// slowPlugin takes a while to plan; it configures nothing.
type slowPlugin struct{ delay time.Duration }

func (s slowPlugin) Info() configurator.Info {
	return configurator.Info{Name: "slow", Description: "takes its time", Delivery: configurator.DeliveryNone}
}
func (s slowPlugin) Detect(configurator.Env) configurator.Detection { return configurator.Detection{} }
func (s slowPlugin) Plan(configurator.Env, configurator.Target) (configurator.Plan, error) {
	time.Sleep(s.delay)
	return configurator.Plan{Plugin: "slow"}, nil
}
func (s slowPlugin) Status(configurator.Env, configurator.Target) (configurator.Status, error) {
	return configurator.Status{State: configurator.StateConfigured}, nil
}
func (s slowPlugin) PlanRemove(configurator.Env, configurator.Target) (configurator.Plan, error) {
	return configurator.Plan{Plugin: "slow"}, nil
}

// A step that outlasts the progress delay says on stderr what setup waits
// for, naming only the plugins not done yet; stdout is unchanged.
func TestSetupProgressWhenSlow(t *testing.T) {
	e := cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdSetup), cmdtest.Cmd(login.NewCmdLogin))
	e.Vars["HOME"] = t.TempDir()
	e.Login()
	res := e.Exec(func(f *cmdutil.Factory) *cobra.Command {
		f.Plugins = append(f.Plugins, slowPlugin{delay: 600 * time.Millisecond})
		return NewCmdSetup(f, func(ctx context.Context, o *Options) error {
			o.ProgressDelay = 200 * time.Millisecond
			return run(ctx, o)
		})
	}, "claude", "slow", "--endpoint", "serving")
	if res.Err != nil {
		t.Fatalf("setup: %v\n%s", res.Err, res.ErrOut)
	}
	// claude is done long before slow, or nearly so on a loaded machine.
	if !regexp.MustCompile(`(?m)^Waiting for (claude, )?slow…$`).MatchString(res.ErrOut) {
		t.Errorf("stderr:\n%s", res.ErrOut)
	}
	if !regexp.MustCompile(`(?m)^claude +configured .*\nslow +unchanged$`).MatchString(res.Out) {
		t.Errorf("stdout:\n%s", res.Out)
	}
}
