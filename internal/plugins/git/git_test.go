package git_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/plugins/git"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	homeRel = ".gitconfig"
	xdgRel  = ".config/git/config"
)

// gitBin is the real git, found before TestMain fences the environment;
// "" when git is not installed.
var gitBin string

// TestMain points every way git could find a global or system config at
// a temporary directory, so that no test (nor a git the plugin runs by
// mistake with coda's own environment) can read or write the real user's
// config; the plugin itself builds git's environment from its Env. It
// fails the run if anything wrote the fenced-off global config.
func TestMain(m *testing.M) {
	gitBin, _ = exec.LookPath("git")
	fence, err := os.MkdirTemp("", "coda-git-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	guard := filepath.Join(fence, "global-config-nothing-may-write")
	for k, v := range map[string]string{
		"HOME":                fence,
		"XDG_CONFIG_HOME":     filepath.Join(fence, "xdg"),
		"GIT_CONFIG_GLOBAL":   guard,
		"GIT_CONFIG_NOSYSTEM": "1",
	} {
		os.Setenv(k, v)
	}
	code := m.Run()
	if _, err := os.Stat(guard); err == nil {
		fmt.Fprintln(os.Stderr, "a test wrote the process's global git config", guard)
		code = 1
	}
	os.RemoveAll(fence)
	os.Exit(code)
}

func requireGit(t testing.TB) {
	t.Helper()
	if gitBin == "" {
		t.Skip("git is not installed")
	}
}

// plugin is the plugin with the real git: the tests' PATHs hold stubs.
func plugin() configurator.Configurator { return git.Plugin{Git: gitBin} }

func target() configurator.Target { return plugintest.Target() }

func force(t configurator.Target) configurator.Target {
	t.Options = map[string]string{git.OptionForce: "true"}
	return t
}

// userGitconfig is a ~/.gitconfig as people keep it: comments of both
// kinds, tabs, subsections, quoted values, an include, a [user] section
// with a signing key but no name or email.
const userGitconfig = `# This is Git's per-user configuration file.
[core]
	editor = vim
	excludesfile = ~/.gitignore_global
[user]
	signingkey = ABCDEF0123456789 ; my key
[alias]
	lg = log --graph --pretty=format:'%h -%d %s (%cr) <%an>'
	co = checkout
[url "git@github.com:"]
	insteadOf = https://github.com/
[includeIf "gitdir:~/work/"]
	path = ~/.gitconfig-work
[pull]
	rebase = true
`

const userXDG = `; XDG config, read before ~/.gitconfig
[color]
	ui = auto
`

func userFiles() map[string]string {
	return map[string]string{homeRel: userGitconfig, xdgRel: userXDG}
}

// gitList is every entry of a config, in file order, as git reads it:
// "key=value" with git's spelling of the key.
func gitList(t testing.TB, data []byte) ([]string, error) {
	requireGit(t)
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gitBin, "config", "--file", path, "--null", "--list")
	cmd.Env = []string{"GIT_CONFIG_NOSYSTEM=1", "HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git config --list: %w", err)
	}
	var entries []string
	for _, e := range strings.Split(string(out), "\x00") {
		if e != "" {
			k, v, _ := strings.Cut(e, "\n")
			entries = append(entries, k+"="+v)
		}
	}
	return entries, nil
}

// split decodes a git config, as git reads it, into every entry coda does
// not own (in order) and user.name and user.email.
func split(t testing.TB) func(rel string, data []byte) (any, any, error) {
	return func(rel string, data []byte) (any, any, error) {
		entries, err := gitList(t, data)
		if err != nil {
			return nil, nil, err
		}
		var foreign []string
		var owned map[string]string
		for _, e := range entries {
			k, v, _ := strings.Cut(e, "=")
			if slices.Contains(git.Keys, k) {
				if owned == nil {
					owned = map[string]string{}
				}
				owned[k] = v
				continue
			}
			foreign = append(foreign, e)
		}
		return foreign, owned, nil
	}
}

func suite(t *testing.T) configuratortest.Suite {
	return configuratortest.Suite{
		New:       plugin,
		Target:    target,
		Binaries:  []string{"git"},
		UserFiles: userFiles(),
		Malformed: map[string]string{
			homeRel: "[user\n\tname = Alice\n",
			xdgRel:  "[color]\n\tui = auto\n\"unterminated = 1\n",
		},
		Split: split(t),
	}
}

// TestContract runs the contract; git's identity does not depend on the
// host, so the target goes stale when the workspace user changes.
func TestContract(t *testing.T) {
	requireGit(t)
	st := suite(t)
	st.Stale = func(tgt configurator.Target) configurator.Target {
		tgt.User = "bob.other@example.com"
		return tgt
	}
	configuratortest.Run(t, st)
}

// fixture is plugintest's, with git on its PATH.
type fixture struct{ *plugintest.Fixture }

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	requireGit(t)
	f := plugintest.NewFixture(t, plugin(), files)
	f.Install("git")
	return &fixture{f}
}

// setup applies tgt and checks that a second plan changes nothing.
func (f *fixture) setup(tgt configurator.Target) configurator.Plan {
	f.T.Helper()
	p := f.Apply(tgt)
	if again, err := f.C.Plan(f.Env, tgt); err != nil || !again.Empty() || len(commands(again)) > 0 {
		f.T.Fatalf("second Plan: %v\n%s", err, configurator.Diff(again))
	}
	return p
}

// get asks git for a key of the fixture's global config.
func (f *fixture) get(key string) string {
	f.T.Helper()
	cmd := exec.Command(gitBin, "config", "--get", key)
	cmd.Env = []string{"HOME=" + f.Home, "GIT_CONFIG_NOSYSTEM=1", "XDG_CONFIG_HOME=" + f.Vars["XDG_CONFIG_HOME"]}
	if g := f.Vars["GIT_CONFIG_GLOBAL"]; g != "" {
		cmd.Env = append(cmd.Env, "GIT_CONFIG_GLOBAL="+g)
	}
	cmd.Dir = f.T.TempDir() // no repository
	out, err := cmd.Output()
	if err != nil {
		f.T.Fatalf("git config --get %s: %v", key, err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// notes are a plan's notes for a person; commands are the ones that carry
// the git config commands.
func notes(p configurator.Plan) []string {
	return slices.DeleteFunc(slices.Clone(p.Notes), func(n string) bool { return strings.HasPrefix(n, "runs ") })
}

func commands(p configurator.Plan) []string {
	return slices.DeleteFunc(slices.Clone(p.Notes), func(n string) bool { return !strings.HasPrefix(n, "runs ") })
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		tgt   configurator.Target
	}{
		{"empty", nil, target()},
		{"existing", userFiles(), target()},
		{"xdg-only", map[string]string{xdgRel: userXDG}, target()},
		{"name-set", map[string]string{homeRel: "[user]\n\tname = Alice S.\n"}, target()},
		{"force", map[string]string{homeRel: "[User]\n\tName = Bob\n\temail = bob@example.org # work\n[core]\n\tautocrlf = input\n"}, force(target())},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			p := f.Plan(tc.tgt)
			plugintest.CompareGolden(t, filepath.Join("testdata", "golden", tc.name), f.Golden(p))
		})
	}
}

// TestUnsetSetForce is the main table: what setup does to each starting
// ~/.gitconfig, what status says, and that remove gives the file back.
func TestUnsetSetForce(t *testing.T) {
	cases := []struct {
		name    string
		start   string // ~/.gitconfig; "" means none
		force   bool
		after   string // "" means the file does not exist
		state   configurator.State
		notes   []string // substrings, one per note
		removed string   // after remove; "" means the file does not exist
	}{
		{name: "nothing set", start: "",
			after: "[user]\n\tname = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured},
		{name: "unset in an existing file", start: "[core]\n\teditor = vim\n",
			after: "[core]\n\teditor = vim\n[user]\n\tname = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured,
			removed: "[core]\n\teditor = vim\n"},
		{name: "name set", start: "[user]\n\tname = Alice S.\n",
			after: "[user]\n\tname = Alice S.\n\temail = alice@example.com\n", state: configurator.StateForeign,
			notes: []string{`keeps your user.name "Alice S."`}, removed: "[user]\n\tname = Alice S.\n"},
		{name: "both set to coda's values", start: "[user]\n\temail = alice@example.com\n\tname = Alice\n",
			after: "[user]\n\temail = alice@example.com\n\tname = Alice\n", state: configurator.StateConfigured,
			removed: "[user]\n\temail = alice@example.com\n\tname = Alice\n"},
		{name: "both set to others", start: "[user]\n\tname = Bob\n\temail = bob@example.org\n",
			after: "[user]\n\tname = Bob\n\temail = bob@example.org\n", state: configurator.StateForeign,
			notes: []string{"keeps your user.name", "keeps your user.email"}, removed: "[user]\n\tname = Bob\n\temail = bob@example.org\n"},
		// git rewrites a line it sets: the value comes back, its comment
		// and quotes (which git did not need) do not.
		{name: "force replaces both", start: "[user]\n\tname = \"Bob B\" ; me\n\temail = bob@example.org\n", force: true,
			after: "[user]\n\tname = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured,
			removed: "[user]\n\tname = Bob B\n\temail = bob@example.org\n"},
		{name: "force restores a value git must quote", start: "[user]\n\tname = \"Bob #1\" ; nick\n", force: true,
			after: "[user]\n\tname = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured,
			removed: "[user]\n\tname = \"Bob #1\"\n"},
		{name: "an unquoted # starts a comment", start: "[user]\n\tname = Bob#1\n", force: true,
			after: "[user]\n\tname = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured,
			removed: "[user]\n\tname = Bob\n"},
		{name: "force with nothing set", start: "", force: true,
			after: "[user]\n\tname = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured},
		{name: "case-insensitive names", start: "[User]\n\tNAME = Bob\n",
			after: "[User]\n\tNAME = Bob\n\temail = alice@example.com\n", state: configurator.StateForeign,
			notes: []string{"keeps your user.name"}, removed: "[User]\n\tNAME = Bob\n"},
		{name: "force in place in the user's [User]", start: "[User]\n\tNAME = Bob\n", force: true,
			after: "[User]\n\tname = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured,
			removed: "[User]\n\tname = Bob\n"},
		{name: "subsection is not [user]", start: "[user \"work\"]\n\tname = Bob\n",
			after: "[user \"work\"]\n\tname = Bob\n[user]\n\tname = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured,
			removed: "[user \"work\"]\n\tname = Bob\n"},
		{name: "multi-valued left alone even with force", start: "[user]\n\tname = Bob\n\tname = Robert\n", force: true,
			after: "[user]\n\tname = Bob\n\tname = Robert\n\temail = alice@example.com\n", state: configurator.StateForeign,
			notes: []string{"user.name is set more than once in ~/.gitconfig"}, removed: "[user]\n\tname = Bob\n\tname = Robert\n"},
		{name: "same key in two [user] blocks", start: "[user]\n\tname = Bob\n[core]\n\teditor = vi\n[user]\n\tname = Robert\n", force: true,
			after: "[user]\n\tname = Bob\n[core]\n\teditor = vi\n[user]\n\tname = Robert\n\temail = alice@example.com\n", state: configurator.StateForeign,
			notes: []string{"more than once"}, removed: "[user]\n\tname = Bob\n[core]\n\teditor = vi\n[user]\n\tname = Robert\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.start != "" {
				files[homeRel] = tc.start
			}
			f := newFixture(t, files)
			tgt := target()
			tgt.Options = map[string]string{git.OptionName: "Alice"}
			if tc.force {
				tgt.Options[git.OptionForce] = "true"
			}
			if st := f.Status(tgt); tc.start == "" && st.State != configurator.StateNotConfigured {
				t.Errorf("status before: %+v", st)
			}
			p := f.setup(tgt)
			if got := notes(p); len(got) != len(tc.notes) {
				t.Errorf("notes %q, want %q", got, tc.notes)
			} else {
				for i, n := range tc.notes {
					if !strings.Contains(got[i], n) {
						t.Errorf("note %q lacks %q", got[i], n)
					}
				}
			}
			if got := f.Read(homeRel); got != tc.after {
				t.Fatalf("after setup:\n%s\nwant\n%s", got, tc.after)
			}
			if st := f.Status(tgt); st.State != tc.state {
				t.Errorf("status %+v, want %s", st, tc.state)
			}
			if tc.start != "" && tc.after != tc.start {
				if bak := f.Read(homeRel + ".bak"); bak != tc.start {
					t.Errorf(".bak:\n%s", bak)
				}
			}
			f.Remove(target())
			if tc.removed == "" {
				if f.Exists(homeRel) {
					t.Errorf("remove left the file coda created:\n%s", f.Read(homeRel))
				}
			} else if got := f.Read(homeRel); got != tc.removed {
				t.Errorf("after remove:\n%s\nwant\n%s", got, tc.removed)
			}
			if _, err := os.Stat(filepath.Join(f.State, "plugins", "git.json")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the sidecar is still there: %v", err)
			}
		})
	}
}

// TestForceRestoresValues: after --force and remove, git reads the user's
// original values again, and every other line is as it was.
func TestForceRestoresValues(t *testing.T) {
	start := "# me\n[user]\n\tname = Bob ; nick\n\temail = bob@example.org\n\tsigningkey = K\n[core]\n\teditor = vim\n"
	f := newFixture(t, map[string]string{homeRel: start})
	p := f.setup(force(target()))
	if got, want := commands(p), []string{
		"runs git config --global user.name Alice",
		"runs git config --global user.email alice@example.com",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	want := "# me\n[user]\n\tname = Alice\n\temail = alice@example.com\n\tsigningkey = K\n[core]\n\teditor = vim\n"
	if got := f.Read(homeRel); got != want {
		t.Fatalf("after --force:\n%s", got)
	}
	p = f.Remove(target())
	if got, want := commands(p), []string{
		"runs git config --global user.name Bob",
		"runs git config --global user.email bob@example.org",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("remove commands %q, want %q", got, want)
	}
	if got, want := f.Read(homeRel), "# me\n[user]\n\tname = Bob\n\temail = bob@example.org\n\tsigningkey = K\n[core]\n\teditor = vim\n"; got != want {
		t.Fatalf("after remove:\n%s\nwant\n%s", got, want)
	}
	if f.get("user.name") != "Bob" || f.get("user.email") != "bob@example.org" {
		t.Error("git does not read the user's values back")
	}
}

func TestXDG(t *testing.T) {
	t.Run("only the XDG file exists", func(t *testing.T) {
		f := newFixture(t, map[string]string{xdgRel: userXDG})
		if got := f.C.Detect(f.Env).Files; !reflect.DeepEqual(got, []string{filepath.Join(f.Home, xdgRel)}) {
			t.Errorf("Detect files %v", got)
		}
		f.setup(target())
		if f.Exists(homeRel) {
			t.Error("~/.gitconfig was created although git writes the XDG file")
		}
		if got := f.Read(xdgRel); got != userXDG+"[user]\n\tname = Alice\n\temail = alice@example.com\n" {
			t.Errorf("XDG file:\n%s", got)
		}
		f.Remove(target())
		if got := f.Read(xdgRel); got != userXDG {
			t.Errorf("after remove:\n%s", got)
		}
	})
	t.Run("XDG_CONFIG_HOME", func(t *testing.T) {
		f := newFixture(t, map[string]string{"xdg/git/config": "[user]\n\tname = Bob\n", xdgRel: "[user]\n\temail = ignored@example.org\n"})
		f.Vars["XDG_CONFIG_HOME"] = filepath.Join(f.Home, "xdg")
		f.setup(target())
		if got := f.Read("xdg/git/config"); got != "[user]\n\tname = Bob\n\temail = alice@example.com\n" {
			t.Errorf("$XDG_CONFIG_HOME/git/config:\n%s", got)
		}
		if got := f.Read(xdgRel); got != "[user]\n\temail = ignored@example.org\n" {
			t.Errorf("~/.config/git/config was touched:\n%s", got)
		}
	})
	t.Run("a value in the XDG file is set", func(t *testing.T) {
		f := newFixture(t, map[string]string{xdgRel: "[user]\n\tname = Bob\n", homeRel: "[core]\n\teditor = vim\n"})
		p := f.setup(target())
		if got := f.Read(homeRel); got != "[core]\n\teditor = vim\n[user]\n\temail = alice@example.com\n" {
			t.Errorf("~/.gitconfig:\n%s", got)
		}
		if got := notes(p); len(got) != 1 || !strings.Contains(got[0], `keeps your user.name "Bob"`) {
			t.Errorf("notes %q", got)
		}
		// --force overrides it from ~/.gitconfig, which git reads last, and
		// leaves the XDG file alone.
		f.setup(force(target()))
		if got := f.Read(homeRel); got != "[core]\n\teditor = vim\n[user]\n\temail = alice@example.com\n\tname = Alice\n" {
			t.Errorf("~/.gitconfig after --force:\n%s", got)
		}
		if st := f.Status(target()); st.State != configurator.StateConfigured || f.get("user.name") != "Alice" {
			t.Errorf("status %+v, git reads %q", st, f.get("user.name"))
		}
		f.Remove(target())
		if got := f.Read(homeRel); got != "[core]\n\teditor = vim\n" {
			t.Errorf("~/.gitconfig after remove:\n%s", got)
		}
		if got := f.Read(xdgRel); got != "[user]\n\tname = Bob\n" {
			t.Errorf("XDG after remove:\n%s", got)
		}
	})
	t.Run("a value in ~/.gitconfig wins over coda's XDG file", func(t *testing.T) {
		f := newFixture(t, map[string]string{xdgRel: "[core]\n\teditor = vim\n"})
		f.setup(target())
		f.Write(homeRel, "[user]\n\tname = Bob\n")
		p := f.setup(force(target()))
		if got := notes(p); len(got) != 1 || !strings.Contains(got[0], "cannot replace user.name: it is set in ~/.gitconfig") {
			t.Errorf("notes %q", got)
		}
		if st := f.Status(target()); st.State != configurator.StateForeign {
			t.Errorf("status %+v", st)
		}
	})
}

// TestGitConfigGlobal: with $GIT_CONFIG_GLOBAL set, git reads and writes
// only that file, and so does coda.
func TestGitConfigGlobal(t *testing.T) {
	f := newFixture(t, map[string]string{homeRel: "[user]\n\tname = Bob\n", xdgRel: "[user]\n\temail = bob@example.org\n"})
	custom := filepath.Join(f.Home, "custom", "gitconfig")
	f.Vars["GIT_CONFIG_GLOBAL"] = custom
	if got := f.C.Detect(f.Env).Files; !reflect.DeepEqual(got, []string{custom}) {
		t.Errorf("Detect files %v", got)
	}
	p := f.setup(target())
	if len(notes(p)) != 0 {
		t.Errorf("notes %q: the other files are not read", notes(p))
	}
	if got := f.Read("custom/gitconfig"); got != "[user]\n\tname = Alice\n\temail = alice@example.com\n" {
		t.Errorf("$GIT_CONFIG_GLOBAL:\n%s", got)
	}
	if f.Read(homeRel) != "[user]\n\tname = Bob\n" || f.Read(xdgRel) != "[user]\n\temail = bob@example.org\n" {
		t.Error("the usual global files were touched")
	}
	f.Remove(target())
	if f.Exists("custom/gitconfig") {
		t.Errorf("remove left the file coda created:\n%s", f.Read("custom/gitconfig"))
	}
}

// TestDryRun: a plan shows the commands it will run and, as a diff, what
// they do to the user's file; coda's record is not part of the diff.
func TestDryRun(t *testing.T) {
	f := newFixture(t, map[string]string{homeRel: "[core]\n\teditor = vim\n"})
	p := f.Plan(target())
	if got, want := commands(p), []string{
		"runs git config --global user.name Alice",
		"runs git config --global user.email alice@example.com",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	diff := configurator.DiffWith(p, configurator.DiffOptions{StateDir: f.State})
	want := "--- " + f.Path(homeRel) + "\n+++ " + f.Path(homeRel) + "\n@@ -1,2 +1,5 @@\n [core]\n \teditor = vim\n+[user]\n+\tname = Alice\n+\temail = alice@example.com\n" +
		"note (git): runs git config --global user.name Alice\nnote (git): runs git config --global user.email alice@example.com\n"
	if diff != want {
		t.Errorf("dry run:\n%s\nwant\n%s", diff, want)
	}
	if f.Read(homeRel) != "[core]\n\teditor = vim\n" {
		t.Error("Plan wrote the file")
	}
	// A name that needs quoting for a shell is quoted in the note and set
	// as it is.
	tgt := target()
	tgt.Options = map[string]string{git.OptionName: "Alice O'Neil #2"}
	p = f.setup(tgt)
	if got := commands(p)[0]; got != `runs git config --global user.name 'Alice O'\''Neil #2'` {
		t.Errorf("command %q", got)
	}
	if got := f.get("user.name"); got != "Alice O'Neil #2" {
		t.Errorf("git reads user.name %q", got)
	}
}

// TestApplyRunsOnlyWhatPlanWrites: Apply runs git config commands of the
// forms Plan writes, and nothing else a plan's notes might say.
func TestApplyRunsOnlyWhatPlanWrites(t *testing.T) {
	for _, note := range []string{
		"runs git config --global core.editor vim",
		"runs git config --global --add user.name Eve",
		"runs git config --global user.name",
		"runs git config --system user.name Eve",
		"runs git config --global user.name 'Eve",
		"runs git config --global user.name 'Eve\nMallory'",
		"runs rm -rf /",
		"runs git config --global user.name Eve; rm -rf /",
	} {
		t.Run(note, func(t *testing.T) {
			f := newFixture(t, map[string]string{homeRel: "[core]\n\teditor = vim\n"})
			p := f.Plan(target())
			p.Notes = append(p.Notes, note)
			if err := configurator.Apply(f.Env, f.C, p); err == nil {
				t.Fatal("Apply ran a plan with a foreign command")
			}
			if got := f.Read(homeRel); got != "[core]\n\teditor = vim\n" {
				t.Errorf("the file changed:\n%s", got)
			}
			if _, err := os.Stat(filepath.Join(f.State, "plugins", "git.json")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the record was written: %v", err)
			}
		})
	}
}

func TestApplyRefusesAFileChangedMeanwhile(t *testing.T) {
	f := newFixture(t, map[string]string{homeRel: "[core]\n\teditor = vim\n"})
	p := f.Plan(target())
	f.Write(homeRel, "[core]\n\teditor = emacs\n")
	if err := configurator.Apply(f.Env, f.C, p); !errors.Is(err, configurator.ErrChangedMeanwhile) {
		t.Fatalf("Apply: %v", err)
	}
	if got := f.Read(homeRel); got != "[core]\n\teditor = emacs\n" {
		t.Errorf("the file changed:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(f.State, "plugins", "git.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the record was written: %v", err)
	}
}

// TestStaleAndUserEdits: values coda set follow the profile's user; values
// the user changed afterwards are theirs.
func TestStaleAndUserEdits(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(target())
	bob := target()
	bob.User = "bob.builder@example.com"
	if st := f.Status(bob); st.State != configurator.StateStale || !strings.Contains(st.Detail, `"bob.builder@example.com"`) {
		t.Errorf("status for another user: %+v", st)
	}
	f.setup(bob)
	if got := f.Read(homeRel); got != "[user]\n\tname = Bob Builder\n\temail = bob.builder@example.com\n" {
		t.Fatalf("after the user changed:\n%s", got)
	}
	// The user edits the name by hand: it is theirs from now on.
	f.Write(homeRel, "[user]\nname = Robert\nemail = bob.builder@example.com\n")
	if st := f.Status(bob); st.State != configurator.StateForeign {
		t.Errorf("status after a hand edit: %+v", st)
	}
	if p, err := f.C.Plan(f.Env, bob); err != nil || !p.Empty() {
		t.Errorf("Plan after a hand edit: %v %s", err, configurator.Diff(p))
	}
	p := f.Remove(target())
	if got := notes(p); len(got) != 1 || !strings.Contains(got[0], "kept user.name") {
		t.Errorf("notes %q", got)
	}
	if got := f.Read(homeRel); got != "[user]\nname = Robert\n" {
		t.Errorf("after remove:\n%s", got)
	}
}

// TestSetAgainAfterTheUserUnsetIt: a value coda set and the user removed
// is set again; the plan is not empty although coda's record stays.
func TestSetAgainAfterTheUserUnsetIt(t *testing.T) {
	f := newFixture(t, map[string]string{homeRel: "[core]\n\teditor = vim\n"})
	f.setup(target())
	f.Write(homeRel, "[core]\n\teditor = vim\n[user]\n\tname = Alice\n")
	p := f.Plan(target())
	if p.Empty() || !reflect.DeepEqual(commands(p), []string{"runs git config --global user.email alice@example.com"}) {
		t.Fatalf("plan: %q\n%s", p.Notes, configurator.Diff(p))
	}
	f.setup(target())
	if f.get("user.email") != "alice@example.com" {
		t.Error("user.email was not set again")
	}
}

func TestRemoveAfterTheUserDeletedTheFile(t *testing.T) {
	f := newFixture(t, map[string]string{homeRel: "[core]\n\teditor = vim\n"})
	f.setup(target())
	if err := os.Remove(filepath.Join(f.Home, homeRel)); err != nil {
		t.Fatal(err)
	}
	f.Remove(target())
	if f.Exists(homeRel) {
		t.Errorf("remove recreated the file:\n%s", f.Read(homeRel))
	}
}

func TestRemoveKeepsChangedValues(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(target())
	f.Write(homeRel, "[user]\nname = Robert\nemail = alice@example.com\n")
	p := f.Remove(target())
	if got := notes(p); len(got) != 1 || !strings.Contains(got[0], "kept user.name in ~/.gitconfig: changed since coda set it") {
		t.Errorf("notes %q", got)
	}
	if got := f.Read(homeRel); got != "[user]\nname = Robert\n" {
		t.Errorf("after remove:\n%s", got)
	}
}

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"alice.smith@example.com":     "Alice Smith",
		"alice@example.com":           "Alice",
		"jean-luc_picard@example.com": "Jean Luc Picard",
		"bob.smith+dev@example.com":   "Bob Smith",
		"mcDonald.o@example.com":      "McDonald O",
		"émile.zola@example.fr":       "Émile Zola",
		"x@example.com":               "X",
		"@example.com":                "@example.com",
		"no-at-sign":                  "No At Sign",
	} {
		if got := git.DisplayName(in); got != want {
			t.Errorf("DisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNameOption: git config quotes and escapes what it needs, so any
// name without a control character is set as it is.
func TestNameOption(t *testing.T) {
	for _, name := range []string{"Alice O'Neil", `Alice "Al" Smith`, "Alice #1", "a;b", `back\slash`, " Alice ", "'Alice'", "Ünïcödé"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			tgt := target()
			tgt.Options = map[string]string{git.OptionName: name}
			f.setup(tgt)
			if got := f.get("user.name"); got != name {
				t.Errorf("git reads user.name %q, want %q", got, name)
			}
			if st := f.Status(tgt); st.State != configurator.StateConfigured {
				t.Errorf("status %+v", st)
			}
			f.Remove(tgt)
			if f.Exists(homeRel) {
				t.Errorf("after remove:\n%s", f.Read(homeRel))
			}
		})
	}
	f := newFixture(t, nil)
	for _, bad := range []string{"Ali\tce", "Ali\nce", "Ali\x7fce"} {
		tgt := target()
		tgt.Options = map[string]string{git.OptionName: bad}
		if _, err := f.C.Plan(f.Env, tgt); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	tgt := target()
	tgt.User = ""
	if _, err := f.C.Plan(f.Env, tgt); err == nil || !strings.Contains(err.Error(), "coda login") {
		t.Errorf("no user: %v", err)
	}
}

// TestGitSyntax: git, not coda, decides what a git config may hold: what
// git reads is kept as it is, and what git refuses is refused with an
// error naming the file and the line, never its content.
func TestGitSyntax(t *testing.T) {
	for name, content := range map[string]string{
		"bare boolean key":  "[core]\n\tbare\n",
		"line continuation": "[alias]\n\tst = !git status \\\n\t\t-s\n",
		"key on the header": "[core] editor = vim\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{homeRel: content})
			before, err := gitList(t, []byte(content))
			if err != nil {
				t.Fatal(err)
			}
			f.setup(target())
			after, err := gitList(t, []byte(f.Read(homeRel)))
			if err != nil {
				t.Fatal(err)
			}
			want := append(before, "user.name=Alice", "user.email=alice@example.com")
			if !reflect.DeepEqual(after, want) {
				t.Errorf("git reads %q, want %q", after, want)
			}
			f.Remove(target())
			if got := f.Read(homeRel); got != content {
				t.Errorf("after remove:\n%s", got)
			}
		})
	}
	for name, content := range map[string]string{
		"unterminated header": "[user\n\tname = secret-value\n",
		"bad key":             "[user]\n\t\"secret-value = 1\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{homeRel: content})
			for op, call := range map[string]func() error{
				"Plan":       func() error { _, err := f.C.Plan(f.Env, target()); return err },
				"PlanRemove": func() error { _, err := f.C.PlanRemove(f.Env, target()); return err },
				"Status":     func() error { _, err := f.C.Status(f.Env, target()); return err },
			} {
				plugintest.Refused(t, op, call(), homeRel, "line ", "secret-value")
			}
			if got := f.Read(homeRel); got != content {
				t.Errorf("the file changed:\n%s", got)
			}
		})
	}
}

func TestAbsentAndDetect(t *testing.T) {
	requireGit(t)
	// No git at all: absent, and nothing to plan with.
	f := plugintest.NewFixture(t, git.New(), nil)
	if st := f.Status(target()); st.State != configurator.StateAbsent {
		t.Errorf("without git: %+v", st)
	}
	if _, err := f.C.Plan(f.Env, target()); err == nil || !strings.Contains(err.Error(), "git is not on PATH") {
		t.Errorf("Plan without git: %v", err)
	}
	// Set up with a git that is not on PATH: once coda has set values,
	// they are reported, though git is not on PATH.
	f.C = plugin()
	f.Apply(target())
	if st := f.Status(target()); st.State != configurator.StateConfigured {
		t.Errorf("with git off PATH, after setup: %+v", st)
	}
	f.C = git.New()
	if st := f.Status(target()); st.State != configurator.StateAbsent || !strings.Contains(st.Detail, "git is not on PATH") {
		t.Errorf("without any git, after setup: %+v", st)
	}
	c := git.New()
	if c.Info().Name != "git" || c.Info().InAll || c.Info().Delivery != configurator.DeliveryNone {
		t.Errorf("%s in-all %v delivery %s", c.Info().Name, c.Info().InAll, c.Info().Delivery)
	}
}

// TestRealGitReadsIt asks git what it makes of the files coda wrote: the
// identity it uses, and that the user's other keys survive.
func TestRealGitReadsIt(t *testing.T) {
	cases := map[string]struct {
		files      map[string]string
		tgt        configurator.Target
		name, mail string
	}{
		"user files":   {userFiles(), target(), "Alice", "alice@example.com"},
		"xdg only":     {map[string]string{xdgRel: userXDG}, target(), "Alice", "alice@example.com"},
		"case, forced": {map[string]string{homeRel: "[User]\n\tNAME = \"Bob\"\n"}, force(target()), "Alice", "alice@example.com"},
		"kept":         {map[string]string{homeRel: "[User]\n\tNAME = Bob\n"}, target(), "Bob", "alice@example.com"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			f.setup(tc.tgt)
			if got := f.get("user.name"); got != tc.name {
				t.Errorf("git reads user.name %q, want %q", got, tc.name)
			}
			if got := f.get("user.email"); got != tc.mail {
				t.Errorf("git reads user.email %q, want %q", got, tc.mail)
			}
			if _, ok := tc.files[homeRel]; ok && strings.Contains(tc.files[homeRel], "alias") {
				if got := f.get("alias.lg"); got != "log --graph --pretty=format:'%h -%d %s (%cr) <%an>'" {
					t.Errorf("alias.lg %q", got)
				}
			}
		})
	}
}

// TestLegacyRecord: a user who set up with the coda before the shared
// record (its sidecar of version 1) gets from remove what a user who set up
// with this one gets: the identity as it was (git rewrites the lines it
// sets).
func TestLegacyRecord(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		tgt   configurator.Target
	}{
		{"empty", nil, target()},
		{"existing", userFiles(), target()},
		{"xdg-only", map[string]string{xdgRel: userXDG}, target()},
		{"name-set", map[string]string{homeRel: "[user]\n\tname = Alice S.\n"}, target()},
		{"force", map[string]string{homeRel: "[User]\n\tName = Bob\n\temail = bob@example.org # work\n[core]\n\tautocrlf = input\n"}, force(target())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			removed := func(legacy bool) map[string]string {
				f := newFixture(t, tc.files)
				f.Apply(tc.tgt)
				if legacy {
					want := f.Status(tc.tgt)
					f.WriteLegacyRecord(tc.name)
					if st := f.Status(tc.tgt); st != want {
						t.Errorf("status %+v, with the current record %+v", st, want)
					}
					// The same record in the older layout: nothing to write.
					if p := f.Plan(tc.tgt); !p.Empty() || len(commands(p)) > 0 {
						t.Errorf("a plan rewrites the legacy record:\n%s", configurator.Diff(p))
					}
				}
				f.Remove(tc.tgt)
				if _, err := os.Stat(filepath.Join(f.State, "plugins", "git.json")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the sidecar is still there: %v", err)
				}
				files := map[string]string{}
				for _, rel := range []string{homeRel, xdgRel} {
					if f.Exists(rel) {
						files[rel] = f.Read(rel)
					}
				}
				return files
			}
			if got, want := removed(true), removed(false); !reflect.DeepEqual(got, want) {
				t.Errorf("after remove with the legacy record: %q\nwith the current one: %q", got, want)
			}
			if tc.name == "force" {
				if got := removed(true)[homeRel]; !strings.Contains(got, "name = Bob") || !strings.Contains(got, "email = bob@example.org") {
					t.Errorf("the values --force replaced are not back:\n%s", got)
				}
			}
		})
	}
}
