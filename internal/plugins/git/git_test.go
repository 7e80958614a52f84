package git_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/merge/iniedit"
	"github.com/coda-cli/coda/internal/plugins/git"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	homeRel = ".gitconfig"
	xdgRel  = ".config/git/config"
)

func target() configurator.Target {
	host := "https://example.cloud.databricks.com"
	return configurator.Target{
		Profile: "default",
		Host:    host,
		User:    "alice@example.com",
		Endpoints: configurator.Endpoints{Family: "serving",
			Anthropic: host + "/serving-endpoints/anthropic",
			Responses: host + "/serving-endpoints",
			Gemini:    host + "/serving-endpoints/google",
			Chat:      host + "/serving-endpoints"},
		Models:       map[string]string{},
		TokenCommand: []string{"/usr/local/bin/coda", "token", "-p", "default", "--min-ttl", "5m0s"},
		Token:        "dapi-golden-token-0000",
		Lifetime:     15 * time.Minute,
		Grace:        2 * time.Minute,
		Options:      map[string]string{},
	}
}

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

// fixture is a HOME, a state dir and an environment for one test.
type fixture struct {
	home, state string
	vars        map[string]string
	env         configurator.Env
	c           configurator.Configurator
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	f := &fixture{home: t.TempDir(), state: filepath.Join(t.TempDir(), "coda"), c: git.New()}
	f.vars = map[string]string{"HOME": f.home}
	f.env = configurator.Env{
		Home:     f.home,
		Getenv:   func(k string) string { return f.vars[k] },
		StateDir: f.state,
		LookPath: func(file string) (string, error) {
			if file == "git" {
				return "/usr/bin/git", nil
			}
			return "", fs.ErrNotExist
		},
	}
	for rel, content := range files {
		f.write(t, rel, content)
	}
	return f
}

func (f *fixture) write(t *testing.T, rel, content string) {
	t.Helper()
	path := filepath.Join(f.home, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) read(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.home, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (f *fixture) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(f.home, rel))
	return err == nil
}

func (f *fixture) setup(t *testing.T, tgt configurator.Target) configurator.Plan {
	t.Helper()
	p, err := f.c.Plan(f.env, tgt)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if err := f.c.Apply(f.env, p); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if again, err := f.c.Plan(f.env, tgt); err != nil || !again.Empty() {
		t.Fatalf("second Plan: %v\n%s", err, configurator.Diff(again))
	}
	return p
}

func (f *fixture) remove(t *testing.T) configurator.Plan {
	t.Helper()
	p, err := f.c.PlanRemove(f.env, target())
	if err != nil {
		t.Fatalf("PlanRemove: %v", err)
	}
	if err := f.c.Apply(f.env, p); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return p
}

func (f *fixture) status(t *testing.T, tgt configurator.Target) configurator.Status {
	t.Helper()
	st, err := f.c.Status(f.env, tgt)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
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
			p, err := f.c.Plan(f.env, tc.tgt)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range p.Changes {
				if c.New != nil {
					got[goldenPath(t, f, c.Path)] = strings.ReplaceAll(string(c.New), f.home, "$HOME")
				}
			}
			if len(p.Notes) > 0 {
				got["NOTES"] = strings.ReplaceAll(strings.Join(p.Notes, "\n"), f.home, "$HOME") + "\n"
			}
			compareGolden(t, filepath.Join("testdata", "golden", tc.name), got)
		})
	}
}

// goldenPath names a planned file: relative to HOME, or STATE/... for
// coda's state directory.
func goldenPath(t *testing.T, f *fixture, path string) string {
	t.Helper()
	if rel, err := filepath.Rel(f.home, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	if rel, err := filepath.Rel(f.state, path); err == nil && !strings.HasPrefix(rel, "..") {
		return "STATE/" + filepath.ToSlash(rel)
	}
	t.Fatalf("planned file outside HOME and the state dir: %s", path)
	return ""
}

func compareGolden(t *testing.T, dir string, got map[string]string) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for rel, content := range got {
			path := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		want[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("%v (run go test -update to create the golden files)", err)
	}
	for rel := range want {
		if _, ok := got[rel]; !ok {
			t.Errorf("%s: golden file, but the plan does not write it", rel)
		}
	}
	for rel, content := range got {
		if w, ok := want[rel]; !ok {
			t.Errorf("%s: planned, but there is no golden file (run go test -update)", rel)
		} else if w != content {
			t.Errorf("%s differs from its golden file:\n--- got\n%s--- want\n%s", rel, content, w)
		}
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
			if st := f.status(t, tgt); tc.start == "" && st.State != configurator.StateNotConfigured {
				t.Errorf("status before: %+v", st)
			}
			p := f.setup(t, tgt)
			if len(p.Notes) != len(tc.notes) {
				t.Errorf("notes %q, want %q", p.Notes, tc.notes)
			} else {
				for i, n := range tc.notes {
					if !strings.Contains(p.Notes[i], n) {
						t.Errorf("note %q lacks %q", p.Notes[i], n)
					}
				}
			}
			if got := f.read(t, homeRel); got != tc.after {
				t.Fatalf("after setup:\n%s\nwant\n%s", got, tc.after)
			}
			if st := f.status(t, tgt); st.State != tc.state {
				t.Errorf("status %+v, want %s", st, tc.state)
			}
			if tc.start != "" && tc.after != tc.start {
				if bak := f.read(t, homeRel+".bak"); bak != tc.start {
					t.Errorf(".bak:\n%s", bak)
				}
			}
			f.remove(t)
			if tc.removed == "" {
				if f.exists(homeRel) {
					t.Errorf("remove left the file coda created:\n%s", f.read(t, homeRel))
				}
			} else if got := f.read(t, homeRel); got != tc.removed {
				t.Errorf("after remove:\n%s\nwant\n%s", got, tc.removed)
			}
			if _, err := os.Stat(filepath.Join(f.state, "plugins", "git.json")); !errors.Is(err, fs.ErrNotExist) {
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
	f.setup(t, force(target()))
	want := "# me\n[user]\n\tname = Alice ; nick\n\temail = alice@example.com\n\tsigningkey = K\n"
	if got := f.read(t, homeRel); got != want {
		t.Fatalf("after --force:\n%s", got)
	}
	f.remove(t)
	if got := f.read(t, homeRel); got != start {
		t.Fatalf("after remove:\n%s\nwant\n%s", got, start)
	}
}

func TestXDG(t *testing.T) {
	t.Run("only the XDG file exists", func(t *testing.T) {
		f := newFixture(t, map[string]string{xdgRel: userXDG})
		if got := f.c.Detect(f.env).Files; !reflect.DeepEqual(got, []string{filepath.Join(f.home, xdgRel)}) {
			t.Errorf("Detect files %v", got)
		}
		f.setup(t, target())
		if f.exists(homeRel) {
			t.Error("~/.gitconfig was created although git writes the XDG file")
		}
		if got := f.read(t, xdgRel); got != userXDG+"\n[user]\nname = Alice\nemail = alice@example.com\n" {
			t.Errorf("XDG file:\n%s", got)
		}
		f.remove(t)
		if got := f.read(t, xdgRel); got != userXDG {
			t.Errorf("after remove:\n%s", got)
		}
	})
	t.Run("XDG_CONFIG_HOME", func(t *testing.T) {
		f := newFixture(t, map[string]string{"xdg/git/config": "[user]\n\tname = Bob\n", xdgRel: "[user]\n\temail = ignored@example.org\n"})
		f.vars["XDG_CONFIG_HOME"] = filepath.Join(f.home, "xdg")
		f.setup(t, target())
		if got := f.read(t, "xdg/git/config"); got != "[user]\n\tname = Bob\n\temail = alice@example.com\n" {
			t.Errorf("$XDG_CONFIG_HOME/git/config:\n%s", got)
		}
		if got := f.read(t, xdgRel); got != "[user]\n\temail = ignored@example.org\n" {
			t.Errorf("~/.config/git/config was touched:\n%s", got)
		}
	})
	t.Run("a value in the XDG file is set", func(t *testing.T) {
		f := newFixture(t, map[string]string{xdgRel: "[user]\n\tname = Bob\n", homeRel: "[core]\n\teditor = vim\n"})
		p := f.setup(t, target())
		if got := f.read(t, homeRel); got != "[core]\n\teditor = vim\n\n[user]\nemail = alice@example.com\n" {
			t.Errorf("~/.gitconfig:\n%s", got)
		}
		if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], `keeps your user.name "Bob"`) {
			t.Errorf("notes %q", p.Notes)
		}
		// --force overrides it from ~/.gitconfig, which git reads last, and
		// leaves the XDG file alone.
		f.setup(t, force(target()))
		if got := f.read(t, homeRel); got != "[core]\n\teditor = vim\n\n[user]\nemail = alice@example.com\nname = Alice\n" {
			t.Errorf("~/.gitconfig after --force:\n%s", got)
		}
		if st := f.status(t, target()); st.State != configurator.StateConfigured {
			t.Errorf("status %+v", st)
		}
		f.remove(t)
		if got := f.read(t, homeRel); got != "[core]\n\teditor = vim\n" {
			t.Errorf("~/.gitconfig after remove:\n%s", got)
		}
		if got := f.read(t, xdgRel); got != "[user]\n\tname = Bob\n" {
			t.Errorf("XDG after remove:\n%s", got)
		}
	})
	t.Run("a value in ~/.gitconfig wins over coda's XDG file", func(t *testing.T) {
		f := newFixture(t, map[string]string{xdgRel: "[core]\n\teditor = vim\n"})
		f.setup(t, target())
		f.write(t, homeRel, "[user]\n\tname = Bob\n")
		p := f.setup(t, force(target()))
		if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "cannot replace user.name: it is set in ~/.gitconfig") {
			t.Errorf("notes %q", p.Notes)
		}
		if st := f.status(t, target()); st.State != configurator.StateForeign {
			t.Errorf("status %+v", st)
		}
	})
}

// TestStaleAndUserEdits: values coda set follow the profile's user; values
// the user changed afterwards are theirs.
func TestStaleAndUserEdits(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(t, target())
	bob := target()
	bob.User = "bob.builder@example.com"
	if st := f.status(t, bob); st.State != configurator.StateStale || !strings.Contains(st.Detail, `"bob.builder@example.com"`) {
		t.Errorf("status for another user: %+v", st)
	}
	f.setup(t, bob)
	if got := f.read(t, homeRel); got != "[user]\nname = Bob Builder\nemail = bob.builder@example.com\n" {
		t.Fatalf("after the user changed:\n%s", got)
	}
	// The user edits the name by hand: it is theirs from now on.
	f.write(t, homeRel, "[user]\nname = Robert\nemail = bob.builder@example.com\n")
	if st := f.status(t, bob); st.State != configurator.StateForeign {
		t.Errorf("status after a hand edit: %+v", st)
	}
	if p, err := f.c.Plan(f.env, bob); err != nil || !p.Empty() {
		t.Errorf("Plan after a hand edit: %v %s", err, configurator.Diff(p))
	}
	p := f.remove(t)
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "kept user.name") {
		t.Errorf("notes %q", p.Notes)
	}
	if got := f.read(t, homeRel); got != "[user]\nname = Robert\n" {
		t.Errorf("after remove:\n%s", got)
	}
}

func TestRemoveAfterTheUserDeletedTheFile(t *testing.T) {
	f := newFixture(t, map[string]string{homeRel: "[core]\n\teditor = vim\n"})
	f.setup(t, target())
	if err := os.Remove(filepath.Join(f.home, homeRel)); err != nil {
		t.Fatal(err)
	}
	f.remove(t)
	if f.exists(homeRel) {
		t.Errorf("remove recreated the file:\n%s", f.read(t, homeRel))
	}
}

func TestRemoveKeepsChangedValues(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(t, target())
	f.write(t, homeRel, "[user]\nname = Robert\nemail = alice@example.com\n")
	p := f.remove(t)
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "kept user.name in ~/.gitconfig: changed since coda set it") {
		t.Errorf("notes %q", p.Notes)
	}
	if got := f.read(t, homeRel); got != "[user]\nname = Robert\n" {
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
	f.setup(t, tgt)
	if got := f.read(t, homeRel); !strings.Contains(got, "name = Alice O'Neil\n") {
		t.Errorf("file:\n%s", got)
	}
	for _, bad := range []string{`Alice "Al" Smith`, "Alice #1", "a;b", `back\slash`, " Alice", "'Alice'", "Ali\tce"} {
		tgt.Options[git.OptionName] = bad
		if _, err := f.c.Plan(f.env, tgt); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	tgt = target()
	tgt.User = ""
	if _, err := f.c.Plan(f.env, tgt); err == nil || !strings.Contains(err.Error(), "coda login") {
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
				"Plan":       func() error { _, err := f.c.Plan(f.env, target()); return err },
				"PlanRemove": func() error { _, err := f.c.PlanRemove(f.env, target()); return err },
				"Status":     func() error { _, err := f.c.Status(f.env, target()); return err },
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
	f.env.LookPath = func(string) (string, error) { return "", fs.ErrNotExist }
	if st := f.status(t, target()); st.State != configurator.StateAbsent {
		t.Errorf("without git: %+v", st)
	}
	// Once coda has set values, they are reported even without git.
	f.setup(t, target())
	if st := f.status(t, target()); st.State != configurator.StateConfigured {
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
			f.setup(t, tc.tgt)
			get := func(key string) string {
				cmd := exec.Command(gitBin, "config", "--global", "--get", key)
				cmd.Env = []string{"HOME=" + f.home, "XDG_CONFIG_HOME=", "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH")}
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
