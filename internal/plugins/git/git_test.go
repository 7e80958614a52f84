package git_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/merge/iniedit"
	"github.com/coda-cli/coda/internal/plugins/git"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	homeRel = ".gitconfig"
	xdgRel  = ".config/git/config"
)

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

// split decodes a git config into every key coda does not own (in order,
// as section, key, value) and user.name and user.email.
func split(rel string, data []byte) (any, any, error) {
	doc, err := iniedit.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	var foreign []string
	var owned map[string]string
	for _, sec := range doc.Sections() {
		kvs, _ := doc.SectionKeys(sec)
		for _, kv := range kvs {
			dotted := strings.ToLower(sec) + "." + strings.ToLower(kv.Key)
			if slices.Contains(git.Keys, dotted) {
				if owned == nil {
					owned = map[string]string{}
				}
				owned[dotted] = kv.Value
				continue
			}
			foreign = append(foreign, sec+"\x00"+kv.Key+"\x00"+kv.Value)
		}
	}
	return foreign, owned, nil
}

func suite() configuratortest.Suite {
	return configuratortest.Suite{
		New:       git.New,
		Target:    target,
		Binaries:  []string{"git"},
		UserFiles: userFiles(),
		Malformed: map[string]string{
			homeRel: "[user\n\tname = Alice\n",
			xdgRel:  "[color]\n\tui = auto\n\"unterminated = 1\n",
		},
		Split: split,
	}
}

// TestContract runs the contract; git's identity does not depend on the
// host, so the target goes stale when the workspace user changes.
func TestContract(t *testing.T) {
	st := suite()
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
	f := plugintest.NewFixture(t, git.New(), files)
	f.Install("git")
	return &fixture{f}
}

// setup applies tgt and checks that a second plan changes nothing.
func (f *fixture) setup(tgt configurator.Target) configurator.Plan {
	f.T.Helper()
	p := f.Apply(tgt)
	if again, err := f.C.Plan(f.Env, tgt); err != nil || !again.Empty() {
		f.T.Fatalf("second Plan: %v\n%s", err, configurator.Diff(again))
	}
	return p
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
			after: "[user]\nname = Alice\nemail = alice@example.com\n", state: configurator.StateConfigured},
		{name: "unset in an existing file", start: "[core]\n\teditor = vim\n",
			after: "[core]\n\teditor = vim\n\n[user]\nname = Alice\nemail = alice@example.com\n", state: configurator.StateConfigured,
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
		{name: "force replaces both", start: "[user]\n\tname = \"Bob B\" ; me\n\temail = bob@example.org\n", force: true,
			after: "[user]\n\tname = Alice ; me\n\temail = alice@example.com\n", state: configurator.StateConfigured,
			removed: "[user]\n\tname = Bob B ; me\n\temail = bob@example.org\n"},
		{name: "force keeps a value it could not restore", start: "[user]\n\tname = Bob#1\n", force: true,
			after: "[user]\n\tname = Bob#1\n\temail = alice@example.com\n", state: configurator.StateForeign,
			notes: []string{"cannot replace user.name: coda could not restore its current value exactly"}, removed: "[user]\n\tname = Bob#1\n"},
		{name: "force with nothing set", start: "", force: true,
			after: "[user]\nname = Alice\nemail = alice@example.com\n", state: configurator.StateConfigured},
		{name: "case-insensitive names", start: "[User]\n\tNAME = Bob\n",
			after: "[User]\n\tNAME = Bob\n\temail = alice@example.com\n", state: configurator.StateForeign,
			notes: []string{"keeps your user.name"}, removed: "[User]\n\tNAME = Bob\n"},
		{name: "force in place with the user's spelling", start: "[User]\n\tNAME = Bob\n", force: true,
			after: "[User]\n\tNAME = Alice\n\temail = alice@example.com\n", state: configurator.StateConfigured,
			removed: "[User]\n\tNAME = Bob\n"},
		{name: "subsection is not [user]", start: "[user \"work\"]\n\tname = Bob\n",
			after: "[user \"work\"]\n\tname = Bob\n\n[user]\nname = Alice\nemail = alice@example.com\n", state: configurator.StateConfigured,
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
			if len(p.Notes) != len(tc.notes) {
				t.Errorf("notes %q, want %q", p.Notes, tc.notes)
			} else {
				for i, n := range tc.notes {
					if !strings.Contains(p.Notes[i], n) {
						t.Errorf("note %q lacks %q", p.Notes[i], n)
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

// TestForceRestoresExactly: the user's original file comes back byte for
// byte after --force and remove, including a quoted value and comments.
func TestForceRestoresExactly(t *testing.T) {
	start := "# me\n[user]\n\tname = Bob ; nick\n\temail = bob@example.org\n\tsigningkey = K\n"
	f := newFixture(t, map[string]string{homeRel: start})
	f.setup(force(target()))
	want := "# me\n[user]\n\tname = Alice ; nick\n\temail = alice@example.com\n\tsigningkey = K\n"
	if got := f.Read(homeRel); got != want {
		t.Fatalf("after --force:\n%s", got)
	}
	f.Remove(target())
	if got := f.Read(homeRel); got != start {
		t.Fatalf("after remove:\n%s\nwant\n%s", got, start)
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
		if got := f.Read(xdgRel); got != userXDG+"\n[user]\nname = Alice\nemail = alice@example.com\n" {
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
		if got := f.Read(homeRel); got != "[core]\n\teditor = vim\n\n[user]\nemail = alice@example.com\n" {
			t.Errorf("~/.gitconfig:\n%s", got)
		}
		if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], `keeps your user.name "Bob"`) {
			t.Errorf("notes %q", p.Notes)
		}
		// --force overrides it from ~/.gitconfig, which git reads last, and
		// leaves the XDG file alone.
		f.setup(force(target()))
		if got := f.Read(homeRel); got != "[core]\n\teditor = vim\n\n[user]\nemail = alice@example.com\nname = Alice\n" {
			t.Errorf("~/.gitconfig after --force:\n%s", got)
		}
		if st := f.Status(target()); st.State != configurator.StateConfigured {
			t.Errorf("status %+v", st)
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
		if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "cannot replace user.name: it is set in ~/.gitconfig") {
			t.Errorf("notes %q", p.Notes)
		}
		if st := f.Status(target()); st.State != configurator.StateForeign {
			t.Errorf("status %+v", st)
		}
	})
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
	if got := f.Read(homeRel); got != "[user]\nname = Bob Builder\nemail = bob.builder@example.com\n" {
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
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "kept user.name") {
		t.Errorf("notes %q", p.Notes)
	}
	if got := f.Read(homeRel); got != "[user]\nname = Robert\n" {
		t.Errorf("after remove:\n%s", got)
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
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "kept user.name in ~/.gitconfig: changed since coda set it") {
		t.Errorf("notes %q", p.Notes)
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

func TestNameOption(t *testing.T) {
	f := newFixture(t, nil)
	tgt := target()
	tgt.Options = map[string]string{git.OptionName: "Alice O'Neil"}
	f.setup(tgt)
	if got := f.Read(homeRel); !strings.Contains(got, "name = Alice O'Neil\n") {
		t.Errorf("file:\n%s", got)
	}
	for _, bad := range []string{`Alice "Al" Smith`, "Alice #1", "a;b", `back\slash`, " Alice", "'Alice'", "Ali\tce"} {
		tgt.Options[git.OptionName] = bad
		if _, err := f.C.Plan(f.Env, tgt); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	tgt = target()
	tgt.User = ""
	if _, err := f.C.Plan(f.Env, tgt); err == nil || !strings.Contains(err.Error(), "coda login") {
		t.Errorf("no user: %v", err)
	}
}

// TestRefusedSyntax: git config lines iniedit cannot edit safely are
// refused with an error naming the file and the line, never its content.
func TestRefusedSyntax(t *testing.T) {
	for name, content := range map[string]string{
		"bare boolean key":     "[core]\n\tbare\n",
		"line continuation":    "[alias]\n\tst = !git status \\\n\t\t-s\n",
		"key after the header": "[user] name = secret-value\n",
		"unterminated header":  "[user\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{homeRel: content})
			for op, call := range map[string]func() error{
				"Plan":       func() error { _, err := f.C.Plan(f.Env, target()); return err },
				"PlanRemove": func() error { _, err := f.C.PlanRemove(f.Env, target()); return err },
				"Status":     func() error { _, err := f.C.Status(f.Env, target()); return err },
			} {
				err := call()
				if err == nil || !strings.Contains(err.Error(), "~/.gitconfig") || !strings.Contains(err.Error(), "line ") ||
					strings.Contains(err.Error(), "secret-value") || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: %v", op, err)
				}
			}
		})
	}
}

func TestAbsentAndDetect(t *testing.T) {
	f := newFixture(t, nil)
	f.Env.LookPath = func(string) (string, error) { return "", fs.ErrNotExist }
	if st := f.Status(target()); st.State != configurator.StateAbsent {
		t.Errorf("without git: %+v", st)
	}
	// Once coda has set values, they are reported even without git.
	f.setup(target())
	if st := f.Status(target()); st.State != configurator.StateConfigured {
		t.Errorf("without git, after setup: %+v", st)
	}
	c := git.New()
	if c.Name() != "git" || c.InAll() || c.Delivery() != configurator.DeliveryNone {
		t.Errorf("%s in-all %v delivery %s", c.Name(), c.InAll(), c.Delivery())
	}
}

// TestRealGitReadsIt asks the git on PATH what it makes of the files coda
// wrote: the identity it uses, and that the user's other keys survive.
func TestRealGitReadsIt(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not on PATH")
	}
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
			get := func(key string) string {
				cmd := exec.Command(gitBin, "config", "--global", "--get", key)
				cmd.Env = []string{"HOME=" + f.Home, "XDG_CONFIG_HOME=", "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH")}
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("git config --get %s: %v %s", key, err, out)
				}
				return strings.TrimSuffix(string(out), "\n")
			}
			if got := get("user.name"); got != tc.name {
				t.Errorf("git reads user.name %q, want %q", got, tc.name)
			}
			if got := get("user.email"); got != tc.mail {
				t.Errorf("git reads user.email %q, want %q", got, tc.mail)
			}
			if _, ok := tc.files[homeRel]; ok && strings.Contains(tc.files[homeRel], "alias") {
				if got := get("alias.lg"); got != "log --graph --pretty=format:'%h -%d %s (%cr) <%an>'" {
					t.Errorf("alias.lg %q", got)
				}
			}
		})
	}
}
