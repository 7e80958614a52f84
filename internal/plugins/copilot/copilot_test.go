package copilot

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/internal/shellenv"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	bashrcRel = ".bashrc"
	zshrcRel  = ".zshrc"
	fishRel   = ".config/fish/config.fish"
)

// userBashrc is a .bashrc with the user's settings and no line break at
// its end.
const userBashrc = "# ~/.bashrc\nexport PATH=\"$HOME/bin:$PATH\"\nalias ll='ls -l'\n[ -f ~/.fzf.bash ] && source ~/.fzf.bash"

const userFish = "set -gx EDITOR vim\nfish_add_path ~/bin\n"

func userFiles() map[string]string {
	return map[string]string{bashrcRel: userBashrc, fishRel: userFish}
}

func target() configurator.Target { return plugintest.Target() }

// withShellRC is target with the shell-rc option.
func withShellRC() configurator.Target {
	t := target()
	t.Options[OptionShellRC] = "true"
	return t
}

func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New:       New,
		Target:    withShellRC,
		Binaries:  []string{"copilot"},
		UserFiles: userFiles(),
		Malformed: map[string]string{
			bashrcRel: "alias ll='ls -l'\n" + blockStart + "\nif [ -f x ]; then . x; fi\n",
		},
		Split: split,
	})
}

// split tells coda's block in an rc file from the rest.
func split(rel string, data []byte) (foreign, owned any, err error) {
	start, end, found, err := findBlock(data)
	if err != nil || !found {
		return string(data), "", err
	}
	return string(data[:start]) + string(data[end:]), string(data[start:end]), nil
}

// --- fixture ---------------------------------------------------------------

type fixture struct{ *plugintest.Fixture }

// newFixture is a fixture with copilot on PATH and SHELL set to shell
// ("" leaves it unset).
func newFixture(t *testing.T, shell string, files map[string]string) *fixture {
	t.Helper()
	f := plugintest.NewFixture(t, Plugin{GOOS: "linux"}, files)
	f.Install("copilot")
	if shell != "" {
		f.Vars["SHELL"] = shell
	}
	return &fixture{f}
}

func (f *fixture) snippet(s shellenv.Shell) string { return SnippetPath(f.Env, s) }

// --- golden files --------------------------------------------------------------

func TestGolden(t *testing.T) {
	proxied := plugintest.ProxiedTarget(8123, "coda-local-golden-key-000000000000000000000")
	proxied.Options[OptionShellRC] = "true"

	cases := []struct {
		name   string
		shell  string
		vars   map[string]string
		files  map[string]string
		tgt    configurator.Target
		remove bool
	}{
		{name: "empty", shell: "/bin/bash", tgt: target()},
		{name: "bash-shell-rc", shell: "/bin/bash", files: userFiles(), tgt: withShellRC()},
		{name: "bash-shell-rc-removed", shell: "/bin/bash", files: userFiles(), tgt: withShellRC(), remove: true},
		{name: "zsh-zdotdir-shell-rc", shell: "/usr/bin/zsh", vars: map[string]string{"ZDOTDIR": "$HOME/.config/zsh"}, tgt: withShellRC()},
		{name: "fish-shell-rc", shell: "/usr/bin/fish", files: userFiles(), tgt: withShellRC()},
		{name: "powershell", shell: "/usr/bin/pwsh", tgt: withShellRC()},
		{name: "proxied", shell: "/bin/bash", tgt: proxied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.shell, tc.files)
			for k, v := range tc.vars {
				f.Vars[k] = strings.ReplaceAll(v, "$HOME", f.Home)
			}
			f.CheckGolden(t, tc.name, tc.tgt, tc.remove)
		})
	}
}

// --- the variables -----------------------------------------------------------------

func TestEnvVars(t *testing.T) {
	vars, err := Plugin{}.EnvVars(configurator.Env{}, target())
	if err != nil {
		t.Fatal(err)
	}
	want := []configurator.EnvVar{
		{Name: VarType, Value: "openai"},
		{Name: VarBaseURL, Value: plugintest.GoldenHost + "/serving-endpoints"},
		{Name: VarModel, Value: DefaultModel},
		{Name: VarKeyCommand, Value: "/usr/local/bin/coda token -p default"},
		{Name: VarBearerToken, Value: ""},
	}
	if !slices.Equal(vars, want) {
		t.Errorf("EnvVars = %q\nwant %q", vars, want)
	}
	for _, v := range vars {
		if strings.Contains(v.Value, plugintest.GoldenToken) {
			t.Errorf("%s holds the token", v.Name)
		}
	}

	tgt := target()
	tgt.Models["model"] = "databricks-gpt-5-4"
	tgt.TokenCommand = []string{"/Users/Jo Smith/bin/coda", "token", "-p", "it's"}
	vars, _ = Plugin{}.EnvVars(configurator.Env{}, tgt)
	if got := value(vars, VarModel); got != "databricks-gpt-5-4" {
		t.Errorf("model = %q", got)
	}
	if got, want := value(vars, VarKeyCommand), `'/Users/Jo Smith/bin/coda' token -p 'it'\''s'`; got != want {
		t.Errorf("key command = %s, want %s", got, want)
	}

	for _, bad := range []func(*configurator.Target){
		func(t *configurator.Target) { t.Endpoints.Chat = "" },
		func(t *configurator.Target) { t.TokenCommand = nil },
	} {
		tgt := target()
		bad(&tgt)
		if _, err := (Plugin{}).EnvVars(configurator.Env{}, tgt); err == nil {
			t.Error("EnvVars accepted a target without a chat endpoint or token command")
		}
	}
}

func value(vars []configurator.EnvVar, name string) string {
	for _, v := range vars {
		if v.Name == name {
			return v.Value
		}
	}
	return "<unset>"
}

// TestSnippetsThroughRealShells sources each snippet in the shells found
// on PATH, reads every variable back, and runs the key command the way
// Copilot CLI does (sh -c) from a coda path with a space and a quote.
func TestSnippetsThroughRealShells(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "it's a dir")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fakeCoda := filepath.Join(dir, "co da")
	// Prints its arguments, one per line, as the "token".
	if err := os.WriteFile(fakeCoda, []byte("#!/bin/sh\nfor a; do echo \"[$a]\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tgt := target()
	tgt.TokenCommand = []string{fakeCoda, "token", "-p", "my profile", "$HOME"}
	tgt.Models["model"] = "model with 'quotes' and $dollar"
	f := newFixture(t, "/bin/bash", nil)
	f.Apply(tgt)
	want, _ := Plugin{}.EnvVars(f.Env, tgt)

	cases := []struct {
		bin   string
		shell shellenv.Shell
		load  string
		print string
	}{
		{"bash", shellenv.Bash, `. "$1"`, `printf '%s\0' "$COPILOT_PROVIDER_TYPE" "$COPILOT_PROVIDER_BASE_URL" "$COPILOT_MODEL" "$COPILOT_PROVIDER_API_KEY_COMMAND" "$COPILOT_PROVIDER_BEARER_TOKEN"`},
		{"dash", shellenv.Sh, `. "$1"`, `printf '%s\0' "$COPILOT_PROVIDER_TYPE" "$COPILOT_PROVIDER_BASE_URL" "$COPILOT_MODEL" "$COPILOT_PROVIDER_API_KEY_COMMAND" "$COPILOT_PROVIDER_BEARER_TOKEN"`},
		{"zsh", shellenv.Zsh, `. "$1"`, `printf '%s\0' "$COPILOT_PROVIDER_TYPE" "$COPILOT_PROVIDER_BASE_URL" "$COPILOT_MODEL" "$COPILOT_PROVIDER_API_KEY_COMMAND" "$COPILOT_PROVIDER_BEARER_TOKEN"`},
		{"fish", shellenv.Fish, `source $argv[1]`, `printf '%s\0' "$COPILOT_PROVIDER_TYPE" "$COPILOT_PROVIDER_BASE_URL" "$COPILOT_MODEL" "$COPILOT_PROVIDER_API_KEY_COMMAND" "$COPILOT_PROVIDER_BEARER_TOKEN"`},
	}
	ran := 0
	for _, c := range cases {
		bin, err := exec.LookPath(c.bin)
		if err != nil {
			t.Logf("%s is not on PATH: not checked", c.bin)
			continue
		}
		ran++
		script := c.load + "; " + c.print
		args := []string{"-c", script, "sh", f.snippet(c.shell)}
		if c.shell == shellenv.Fish {
			args = []string{"-c", script, f.snippet(c.shell)}
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + f.Home, "COPILOT_PROVIDER_BEARER_TOKEN=dapi-elsewhere"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", c.bin, err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		for i, v := range want {
			if i >= len(got) || got[i] != v.Value {
				t.Errorf("%s: %s = %q, want %q", c.bin, v.Name, at(got, i), v.Value)
			}
		}
	}
	if ran == 0 {
		t.Fatal("neither bash nor dash is on PATH")
	}

	// Copilot runs the key command with sh -c.
	out, err := exec.Command("sh", "-c", value(want, VarKeyCommand)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "[token]\n[-p]\n[my profile]\n[$HOME]\n"; got != want {
		t.Errorf("the key command ran with arguments\n%s\nwant\n%s", got, want)
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<missing>"
}

// TestBashrcBlockLoadsTheSnippet starts an interactive bash with coda's
// .bashrc and checks it has the variables; without the snippet it starts
// as before.
func TestBashrcBlockLoadsTheSnippet(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not on PATH")
	}
	f := newFixture(t, "/bin/bash", map[string]string{bashrcRel: "export MINE=1\n"})
	f.Apply(withShellRC())
	run := func() string {
		cmd := exec.Command(bash, "-i", "-c", `printf '%s|%s' "$MINE" "$COPILOT_PROVIDER_BASE_URL"`)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + f.Home, "TERM=dumb"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash -i: %v", err)
		}
		return string(out)
	}
	if got, want := run(), "1|"+plugintest.GoldenHost+"/serving-endpoints"; got != want {
		t.Errorf("interactive bash printed %q, want %q", got, want)
	}
	if err := os.Remove(f.snippet(shellenv.Sh)); err != nil {
		t.Fatal(err)
	}
	if got, want := run(), "1|"; got != want {
		t.Errorf("without the snippet, interactive bash printed %q, want %q", got, want)
	}
}

// --- rc files ------------------------------------------------------------------------

// TestRCBlockRoundTrip adds coda's block to rc files of every shape,
// checks everything else stays byte for byte, a second setup changes
// nothing, and remove gives back the original exactly (or no file when
// coda created it).
func TestRCBlockRoundTrip(t *testing.T) {
	cases := []struct {
		name     string
		shell    string
		rel      string
		original *string
		sep      string // what coda puts before its block
	}{
		{"missing", "/bin/bash", bashrcRel, nil, ""},
		{"empty", "/bin/bash", bashrcRel, ptr(""), ""},
		{"ends with a line break", "/bin/bash", bashrcRel, ptr("alias ll='ls -l'\n"), "\n"},
		{"no line break at the end", "/bin/bash", bashrcRel, ptr(userBashrc), "\n\n"},
		{"blank lines and CRLF", "/bin/bash", bashrcRel, ptr("a=1\r\n\r\n\n"), "\n"},
		{"zsh", "/bin/zsh", zshrcRel, ptr("setopt autocd\n"), "\n"},
		{"fish, no config dir", "/usr/bin/fish", fishRel, nil, ""},
		{"fish", "/usr/bin/fish", fishRel, ptr(userFish), "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.original != nil {
				files[tc.rel] = *tc.original
			}
			f := newFixture(t, tc.shell, files)
			p := f.Apply(withShellRC())
			if !slices.Contains(plugintest.Changed(p), f.Path(tc.rel)) {
				t.Fatalf("the plan does not change %s", tc.rel)
			}
			orig := ""
			if tc.original != nil {
				orig = *tc.original
			}
			want := orig + tc.sep + block(f.Env, shellOf(f.Path(tc.rel)))
			if got := f.Read(tc.rel); got != want {
				t.Errorf("%s after setup:\n%q\nwant\n%q", tc.rel, got, want)
			}
			if tc.original != nil && *tc.original != "" {
				if got := f.Read(tc.rel + ".bak"); got != orig {
					t.Errorf(".bak = %q, want the original", got)
				}
			}
			if again := f.Plan(withShellRC()); !again.Empty() {
				t.Errorf("a second setup changes %v", plugintest.Changed(again))
			}
			f.Remove(withShellRC())
			switch {
			case tc.original == nil && f.Exists(tc.rel):
				t.Errorf("%s, which coda created, is left: %q", tc.rel, f.Read(tc.rel))
			case tc.original != nil && f.Read(tc.rel) != orig:
				t.Errorf("%s after remove:\n%q\nwant the original\n%q", tc.rel, f.Read(tc.rel), orig)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestRCUserEditsAroundTheBlock: lines the user adds before and after
// coda's block stay when the block goes, and so does the blank line coda
// put before it once it separates the user's lines.
func TestRCUserEditsAroundTheBlock(t *testing.T) {
	cases := []struct {
		name, original string
		edit           func(pre, blk string) string
		want           string
	}{
		{"lines after", "a=1\n", func(pre, blk string) string { return pre + blk + "b=2\n" }, "a=1\nb=2\n"},
		{"lines after, original without a line break", "a=1", func(pre, blk string) string { return pre + blk + "b=2\n" }, "a=1\nb=2\n"},
		{"a line before the blank line", "a=1\n", func(pre, blk string) string { return "a=1\nc=3\n\n" + blk }, "a=1\nc=3\n"},
		{"a line after the blank line", "a=1\n", func(pre, blk string) string { return pre + "c=3\n" + blk }, "a=1\n\nc=3\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "/bin/bash", map[string]string{bashrcRel: tc.original})
			f.Apply(withShellRC())
			data := f.Read(bashrcRel)
			start, end, _, _ := findBlock([]byte(data))
			f.Write(bashrcRel, tc.edit(data[:start], data[start:end]))
			f.Remove(withShellRC())
			if got := f.Read(bashrcRel); got != tc.want {
				t.Errorf("after remove %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRCEditedBlockReplaced: a block the user edited is replaced by coda's
// in place, with a note and a .bak; the rest stays.
func TestRCEditedBlockReplaced(t *testing.T) {
	f := newFixture(t, "/bin/bash", map[string]string{bashrcRel: "a=1\n"})
	f.Apply(withShellRC())
	applied := f.Read(bashrcRel)
	edited := strings.Replace(applied, "; then .", "; then echo loading; .", 1) + "b=2\n"
	f.Write(bashrcRel, edited)
	p := f.Plan(withShellRC())
	if st := f.Status(withShellRC()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "was edited") {
		t.Errorf("status %+v, want stale: edited", st)
	}
	if !hasNote(p, "was edited") {
		t.Errorf("no note about the edited block: %q", p.Notes)
	}
	if err := configurator.Apply(f.Env, f.C, p); err != nil {
		t.Fatal(err)
	}
	if got := f.Read(bashrcRel); got != applied+"b=2\n" {
		t.Errorf(".bashrc = %q, want coda's block back and the user's line kept", got)
	}
	if got := f.Read(bashrcRel + ".bak"); got != edited {
		t.Errorf(".bak = %q, want the edited file", got)
	}
}

func TestRCBrokenMarkersRefused(t *testing.T) {
	line := "if [ -f x ]; then . x; fi\n"
	cases := map[string]string{
		"start only":         "a=1\n" + blockStart + "\n" + line,
		"end only":           "a=1\n" + line + blockEnd + "\n",
		"end before start":   blockEnd + "\n" + line + blockStart + "\n",
		"two blocks":         blockStart + "\n" + blockEnd + "\n" + blockStart + "\n" + blockEnd + "\n",
		"start twice":        blockStart + "\n" + blockStart + "\n" + blockEnd + "\n",
		"in another shell's": "",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			rel := bashrcRel
			if name == "in another shell's" {
				rel, content = zshrcRel, blockStart+"\n"
			}
			f := newFixture(t, "/bin/bash", map[string]string{rel: content})
			_, err := f.C.Plan(f.Env, withShellRC())
			plugintest.Refused(t, "Plan", err, rel, "coda's copilot block", "then . x")
			_, err = f.C.PlanRemove(f.Env, withShellRC())
			plugintest.Refused(t, "PlanRemove", err, rel, "coda's copilot block", "then . x")
			_, err = f.C.Status(f.Env, withShellRC())
			plugintest.Refused(t, "Status", err, rel, "fix it or move it aside", "then . x")
			if f.Read(rel) != content {
				t.Errorf("%s was modified", rel)
			}
		})
	}
}

// TestShellRCOff: a setup without shell-rc takes coda's block out again
// (and puts the file back), and notes the line instead.
func TestShellRCOff(t *testing.T) {
	f := newFixture(t, "/bin/bash", map[string]string{bashrcRel: userBashrc})
	f.Apply(withShellRC())
	p := f.Apply(target())
	if got := f.Read(bashrcRel); got != userBashrc {
		t.Errorf(".bashrc = %q, want the original back", got)
	}
	if !hasNote(p, "add this line to ~/.bashrc (or run coda setup copilot --shell-rc): "+SourceLine(f.Env, shellenv.Bash)) {
		t.Errorf("notes %q lack the line to add", p.Notes)
	}
	if plugintest.Exists(pluginSidecar(f)) {
		t.Error("the record is left with no block anywhere")
	}
}

func pluginSidecar(f *fixture) string { return filepath.Join(f.State, "plugins", "copilot.json") }

// TestUserLineInRC: a line of the user's that sources the snippet is
// enough: no note, status says new shells load it.
func TestUserLineInRC(t *testing.T) {
	f := newFixture(t, "/bin/bash", nil)
	f.Write(bashrcRel, ". "+f.snippet(shellenv.Sh)+"\n")
	p := f.Apply(target())
	if hasNote(p, "add this line") {
		t.Errorf("notes %q ask for a line the user has", p.Notes)
	}
	if st := f.Status(target()); !strings.Contains(st.Detail, "~/.bashrc loads it in new shells") {
		t.Errorf("status %q", st.Detail)
	}
}

// TestSymlinkedRC: coda does not replace an rc file that is a symbolic
// link (a dotfiles manager's): it notes the line instead, and leaves the
// link and its target alone.
func TestSymlinkedRC(t *testing.T) {
	f := newFixture(t, "/bin/bash", map[string]string{"dotfiles/bashrc": "a=1\n"})
	if err := os.Symlink(f.Path("dotfiles/bashrc"), f.Path(bashrcRel)); err != nil {
		t.Fatal(err)
	}
	p := f.Apply(withShellRC())
	if slices.Contains(plugintest.Changed(p), f.Path(bashrcRel)) {
		t.Error("the plan replaces the symbolic link")
	}
	if !hasNote(p, "~/.bashrc is a symbolic link") || !hasNote(p, SourceLine(f.Env, shellenv.Bash)) {
		t.Errorf("notes %q", p.Notes)
	}
	if info, err := os.Lstat(f.Path(bashrcRel)); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Error("~/.bashrc is no longer a symbolic link")
	}
	if got := f.Read("dotfiles/bashrc"); got != "a=1\n" {
		t.Errorf("the link's target changed: %q", got)
	}
}

// TestShellNotes: the notes for shells whose start-up files coda does not
// edit, macOS bash, and the shell coda runs in.
func TestShellNotes(t *testing.T) {
	cases := []struct {
		name, shell, goos string
		want              []string
	}{
		{"powershell", "/usr/bin/pwsh", "linux", []string{"add this line to your $PROFILE: if (Test-Path -LiteralPath '"}},
		{"windows without SHELL", "", "windows", []string{"$PROFILE", "copilot.ps1"}},
		{"sh", "/bin/sh", "linux", []string{"add this line to ~/.profile (or the file $ENV names): if [ -f '"}},
		{"tcsh is sh", "/bin/tcsh", "linux", []string{"~/.profile"}},
		{"macOS bash", "/bin/bash", "darwin", []string{"~/.bash_profile"}},
		{"this shell", "/bin/bash", "linux", []string{"shells started before now do not have Copilot's settings: run . '"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := plugintest.NewFixture(t, Plugin{GOOS: tc.goos}, nil)
			if tc.shell != "" {
				f.Vars["SHELL"] = tc.shell
			}
			p := f.Plan(withShellRC())
			for _, w := range tc.want {
				if !hasNote(p, w) {
					t.Errorf("notes %q lack %q", p.Notes, w)
				}
			}
		})
	}
}

func hasNote(p configurator.Plan, s string) bool {
	return slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, s) })
}

// --- status -----------------------------------------------------------------------------

func TestStatus(t *testing.T) {
	other := target()
	other.Endpoints.Chat = "https://elsewhere.example.com/serving-endpoints"
	otherModel := target()
	otherModel.Models["model"] = "databricks-gpt-5-4"
	otherProfile := target()
	otherProfile.Profile = "work"
	otherProfile.TokenCommand = []string{"/usr/local/bin/coda", "token", "-p", "work"}

	cases := []struct {
		name      string
		installed bool
		apply     *configurator.Target
		shellVars bool // the shell has coda's variables
		vars      map[string]string
		check     configurator.Target
		state     configurator.State
		detail    []string
	}{
		{name: "absent", check: target(), state: configurator.StateAbsent, detail: []string{"not on PATH"}},
		{name: "not configured", installed: true, check: target(), state: configurator.StateNotConfigured},
		{name: "foreign", installed: true, vars: map[string]string{VarBaseURL: plugintest.GoldenHost + "/serving-endpoints"}, check: target(),
			state: configurator.StateForeign, detail: []string{"coda did not set it"}},
		{name: "configured, not in the rc file nor this shell", installed: true, apply: ptrT(target()), check: target(),
			state: configurator.StateConfigured, detail: []string{"~/.bashrc does not load it: add this line there", "this shell has not loaded them"}},
		{name: "configured with shell-rc, in this shell", installed: true, apply: ptrT(withShellRC()), shellVars: true, check: withShellRC(),
			state: configurator.StateConfigured, detail: []string{"~/.bashrc loads it in new shells", "this shell has the settings"}},
		{name: "configured, this shell has another model", installed: true, apply: ptrT(target()), shellVars: true,
			vars: map[string]string{VarModel: "x"}, check: target(),
			state: configurator.StateConfigured, detail: []string{"this shell sets COPILOT_MODEL otherwise"}},
		{name: "configured but not installed", apply: ptrT(target()), check: target(), state: configurator.StateConfigured},
		{name: "stale: host", installed: true, apply: ptrT(target()), check: other, state: configurator.StateStale,
			detail: []string{"does not set COPILOT_PROVIDER_BASE_URL to https://elsewhere.example.com/serving-endpoints"}},
		{name: "stale: model", installed: true, apply: ptrT(target()), check: otherModel, state: configurator.StateStale,
			detail: []string{"does not set COPILOT_MODEL to databricks-gpt-5-4"}},
		{name: "stale: profile", installed: true, apply: ptrT(target()), check: otherProfile, state: configurator.StateStale,
			detail: []string{"differs from what coda writes"}},
		{name: "stale: shell-rc asked, no block", installed: true, apply: ptrT(target()), check: withShellRC(), state: configurator.StateStale,
			detail: []string{"~/.bashrc lacks coda's block"}},
		{name: "stale: block, shell-rc off", installed: true, apply: ptrT(withShellRC()), check: target(), state: configurator.StateStale,
			detail: []string{"~/.bashrc holds coda's block, but --shell-rc is off"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "/bin/bash", nil)
			if !tc.installed {
				delete(f.Bins, "copilot")
			}
			if tc.apply != nil {
				f.Apply(*tc.apply)
			}
			if tc.shellVars {
				vars, _ := Plugin{}.EnvVars(f.Env, tc.check)
				for _, v := range vars {
					f.Vars[v.Name] = v.Value
				}
			}
			for k, v := range tc.vars {
				f.Vars[k] = v
			}
			st := f.Status(tc.check)
			if st.State != tc.state {
				t.Errorf("state %s (%s), want %s", st.State, st.Detail, tc.state)
			}
			for _, d := range tc.detail {
				if !strings.Contains(st.Detail, d) {
					t.Errorf("detail %q lacks %q", st.Detail, d)
				}
			}
			if strings.Contains(st.Detail, plugintest.GoldenToken) {
				t.Error("the detail holds the token")
			}
		})
	}
}

func ptrT(t configurator.Target) *configurator.Target { return &t }

// TestRemoveWithoutRecord: with coda's record lost, remove still takes the
// block and the blank line coda put before it out.
func TestRemoveWithoutRecord(t *testing.T) {
	f := newFixture(t, "/bin/bash", map[string]string{bashrcRel: "a=1\n"})
	f.Apply(withShellRC())
	if err := os.Remove(pluginSidecar(f)); err != nil {
		t.Fatal(err)
	}
	if p := f.Plan(withShellRC()); !slices.Equal(plugintest.Changed(p), []string{pluginSidecar(f)}) {
		t.Errorf("setup without the record changes %v, want only the record", plugintest.Changed(p))
	}
	f.Remove(withShellRC())
	if got := f.Read(bashrcRel); got != "a=1\n" {
		t.Errorf(".bashrc = %q", got)
	}
}

// TestRemoveFromEveryShell: remove takes coda's blocks out of every rc
// file, whichever shell the user has now.
func TestRemoveFromEveryShell(t *testing.T) {
	f := newFixture(t, "/bin/bash", map[string]string{bashrcRel: "a=1\n", zshrcRel: "b=2\n"})
	f.Apply(withShellRC())
	f.Vars["SHELL"] = "/bin/zsh"
	f.Apply(withShellRC())
	if !strings.Contains(f.Read(bashrcRel), blockStart) || !strings.Contains(f.Read(zshrcRel), blockStart) {
		t.Fatal("setup in zsh took the block out of ~/.bashrc or did not add one to ~/.zshrc")
	}
	f.Vars["SHELL"] = "/usr/bin/fish"
	f.Remove(withShellRC())
	if f.Read(bashrcRel) != "a=1\n" || f.Read(zshrcRel) != "b=2\n" {
		t.Errorf("after remove: .bashrc %q, .zshrc %q", f.Read(bashrcRel), f.Read(zshrcRel))
	}
	for _, s := range []shellenv.Shell{shellenv.Sh, shellenv.Fish, shellenv.PowerShell} {
		if plugintest.Exists(f.snippet(s)) {
			t.Errorf("%s is left", f.snippet(s))
		}
	}
}
