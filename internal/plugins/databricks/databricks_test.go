package databricks_test

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/merge/iniedit"
	"github.com/coda-cli/coda/internal/plugins/databricks"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	cfgRel      = ".databrickscfg"
	goldenHost  = "https://example.cloud.databricks.com"
	goldenToken = "dapi-golden-token-0000"
	nextToken   = "dapi-next-token-1111"
)

func target() configurator.Target {
	return configurator.Target{
		Profile: "default",
		Host:    goldenHost,
		User:    "alice@example.com",
		Endpoints: configurator.Endpoints{Family: "serving",
			Anthropic: goldenHost + "/serving-endpoints/anthropic",
			Responses: goldenHost + "/serving-endpoints",
			Gemini:    goldenHost + "/serving-endpoints/google",
			Chat:      goldenHost + "/serving-endpoints"},
		Models:       map[string]string{},
		TokenCommand: []string{"/usr/local/bin/coda", "token", "-p", "default", "--min-ttl", "5m0s"},
		Token:        goldenToken,
		Lifetime:     15 * time.Minute,
		Grace:        2 * time.Minute,
		Options:      map[string]string{},
	}
}

// userCfg is a ~/.databrickscfg with the things people keep in it: a
// settings section, profiles with their own tokens and OAuth credentials,
// comments (some inline), odd spacing, blank lines, and no DEFAULT.
const userCfg = `; Databricks profiles (managed by hand)
[__settings__]
default_profile = work

# Work workspace, personal token
[work]
host  = https://work.cloud.databricks.com/
token = dapi-user-work-token-not-coda ; rotated by hand
cluster_id = 0123-456789-abcdef

[staging]
host=https://staging.cloud.databricks.com
client_id     = 11111111-2222-3333-4444-555555555555
client_secret = not-a-real-secret
auth_type = oauth-m2m
# trailing comment of staging
`

// split decodes a managed file into the sections and keys coda does not
// own and coda's keys of [DEFAULT] (the suite's target profile).
func split(rel string, data []byte) (any, any, error) {
	if rel != cfgRel {
		return nil, nil, errors.New("unexpected file " + rel)
	}
	return splitSection(data, iniedit.DefaultSection)
}

func splitSection(data []byte, section string) (foreign, owned map[string]map[string]string, err error) {
	doc, err := iniedit.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	foreign = map[string]map[string]string{}
	for _, name := range doc.Sections() {
		kvs, _ := doc.Section(name)
		for k, v := range kvs {
			if name == section && slices.Contains(databricks.OwnedKeys, k) {
				if owned == nil {
					owned = map[string]map[string]string{name: {}}
				}
				owned[name][k] = v
				delete(kvs, k)
			}
		}
		if len(kvs) > 0 || name != section {
			foreign[name] = kvs
		}
	}
	return foreign, owned, nil
}

func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New:      databricks.New,
		Target:   target,
		Binaries: []string{"databricks"},
		// The profile serves every SDK consumer, not only the CLI.
		NeverAbsent: true,
		UserFiles:   map[string]string{cfgRel: userCfg},
		Malformed: map[string]string{
			cfgRel: "[work]\nhost = https://work.cloud.databricks.com\n[broken\ntoken = x\n",
		},
		Split: func(rel string, data []byte) (any, any, error) { return split(rel, data) },
	})
}

// fixture is a HOME, a state dir and an environment for one test.
type fixture struct {
	home, state string
	vars        map[string]string
	bins        map[string]bool
	env         configurator.Env
	c           configurator.Configurator
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	f := &fixture{home: t.TempDir(), state: filepath.Join(t.TempDir(), "coda"), bins: map[string]bool{}, c: databricks.New()}
	f.vars = map[string]string{"HOME": f.home}
	f.env = configurator.Env{
		Home:     f.home,
		Getenv:   func(k string) string { return f.vars[k] },
		StateDir: f.state,
		LookPath: func(file string) (string, error) {
			if f.bins[file] {
				return "/usr/bin/" + file, nil
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

func (f *fixture) setup(t *testing.T, tgt configurator.Target) configurator.Plan {
	t.Helper()
	p, err := f.c.Plan(f.env, tgt)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if err := f.c.Apply(f.env, p); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return p
}

func (f *fixture) remove(t *testing.T, tgt configurator.Target) configurator.Plan {
	t.Helper()
	p, err := f.c.PlanRemove(f.env, tgt)
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

func withProfile(tgt configurator.Target, name string) configurator.Target {
	tgt.Options = map[string]string{databricks.OptionProfile: name}
	return tgt
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		tgt   configurator.Target
	}{
		{"empty", nil, target()},
		{"existing", map[string]string{cfgRel: userCfg}, target()},
		{"named-profile", map[string]string{cfgRel: "[DEFAULT]\nhost = https://other.cloud.databricks.com\ntoken = dapi-someone-else\n"},
			withProfile(target(), "coda")},
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

// TestOtherProfilesKeptByteForByte: apply only appends coda's section,
// a rotation changes only the token line, and remove gives back the
// user's exact bytes.
func TestOtherProfilesKeptByteForByte(t *testing.T) {
	f := newFixture(t, map[string]string{cfgRel: userCfg})
	f.setup(t, target())
	wantSection := "\n[DEFAULT]\nhost = " + goldenHost + "\ntoken = " + goldenToken + "\nauth_type = pat\n"
	if got := f.read(t, cfgRel); got != userCfg+wantSection {
		t.Fatalf("after setup:\n%s\nwant the user's file plus:\n%s", got, wantSection)
	}
	if bak := f.read(t, cfgRel+".bak"); bak != userCfg {
		t.Errorf(".bak is not the user's file:\n%s", bak)
	}
	next := target()
	next.Token = nextToken
	f.setup(t, next)
	if got := f.read(t, cfgRel); got != userCfg+strings.Replace(wantSection, goldenToken, nextToken, 1) {
		t.Fatalf("after rotation:\n%s", got)
	}
	if bak := f.read(t, cfgRel+".bak"); bak != userCfg {
		t.Errorf("a rotation replaced the .bak (it would keep only the dead token):\n%s", bak)
	}
	f.remove(t, next)
	if got := f.read(t, cfgRel); got != userCfg {
		t.Fatalf("after remove:\n%s\nwant the user's file back", got)
	}
	if _, err := os.Stat(filepath.Join(f.state, "plugins", "databricks.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the sidecar is still there after remove: %v", err)
	}
}

// TestRotationChangesOnlyTheTokenLine compares the files line by line.
func TestRotationChangesOnlyTheTokenLine(t *testing.T) {
	for _, name := range []string{"", "coda"} {
		t.Run("profile="+name, func(t *testing.T) {
			f := newFixture(t, map[string]string{cfgRel: userCfg})
			tgt := withProfile(target(), name)
			f.setup(t, tgt)
			before := strings.Split(f.read(t, cfgRel), "\n")
			next := tgt
			next.Token = nextToken
			p := f.setup(t, next)
			after := strings.Split(f.read(t, cfgRel), "\n")
			if len(before) != len(after) {
				t.Fatalf("rotation changed the number of lines: %d → %d", len(before), len(after))
			}
			var changed []string
			for i := range before {
				if before[i] != after[i] {
					changed = append(changed, after[i])
				}
			}
			if !reflect.DeepEqual(changed, []string{"token = " + nextToken}) {
				t.Errorf("rotation changed these lines: %q", changed)
			}
			for _, c := range p.Changes {
				if c.Backup && filepath.Base(c.Path) == cfgRel {
					t.Error("a rotation asks for a .bak")
				}
			}
			info, err := os.Stat(filepath.Join(f.home, cfgRel))
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("mode %o, want 0600", info.Mode().Perm())
			}
		})
	}
}

func TestRevokeRemovesTheToken(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(t, target())
	revoked := target()
	revoked.Token = ""
	f.setup(t, revoked)
	want := "[DEFAULT]\nhost = " + goldenHost + "\nauth_type = pat\n"
	if got := f.read(t, cfgRel); got != want {
		t.Fatalf("after revoke:\n%s\nwant\n%s", got, want)
	}
	if st := f.status(t, revoked); st.State != configurator.StateConfigured {
		t.Errorf("status for the token-less target: %+v", st)
	}
	if st := f.status(t, target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "no token") {
		t.Errorf("status after revoke for the old target: %+v", st)
	}
	// The next login's token goes back in.
	next := target()
	next.Token = nextToken
	f.setup(t, next)
	if got := f.read(t, cfgRel); !strings.Contains(got, "token = "+nextToken+"\n") {
		t.Fatalf("after a new login:\n%s", got)
	}
	f.remove(t, next)
	if _, err := os.Stat(filepath.Join(f.home, cfgRel)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the file coda created is still there after remove: %v", err)
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, value, rel string }{
		{"absolute", "", "conf/databricks.ini"},
		{"tilde", "~/alt/.databrickscfg", "alt/.databrickscfg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.vars["DATABRICKS_CONFIG_FILE"] = tc.value
			if tc.value == "" {
				f.vars["DATABRICKS_CONFIG_FILE"] = filepath.Join(f.home, tc.rel)
			}
			if got := f.c.Detect(f.env).Files; !reflect.DeepEqual(got, []string{filepath.Join(f.home, tc.rel)}) {
				t.Errorf("Detect files %v", got)
			}
			f.setup(t, target())
			if _, err := os.Stat(filepath.Join(f.home, cfgRel)); !errors.Is(err, fs.ErrNotExist) {
				t.Error("~/.databrickscfg was written although DATABRICKS_CONFIG_FILE names another file")
			}
			if got := f.read(t, tc.rel); !strings.Contains(got, "token = "+goldenToken) {
				t.Fatalf("%s:\n%s", tc.rel, got)
			}
			if st := f.status(t, target()); st.State != configurator.StateConfigured {
				t.Errorf("status %+v", st)
			}
			f.remove(t, target())
			if _, err := os.Stat(filepath.Join(f.home, tc.rel)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("remove left the file it created: %v", err)
			}
		})
	}
}

// TestRefusals: sections coda must not take over, and names it must not use.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name, cfg, profile string
		want               []string // substrings of the error
	}{
		{"default for another host", "[DEFAULT]\nhost = https://other.cloud.databricks.com\n", "",
			[]string{"~/.databrickscfg already has a [DEFAULT] profile for https://other.cloud.databricks.com", "coda setup databricks --databricks-profile coda"}},
		{"implicit default for another host", "host = https://other.cloud.databricks.com\n\n[coda]\nhost = https://x\n", "",
			[]string{"[DEFAULT] profile for https://other.cloud.databricks.com", "--databricks-profile coda-2"}},
		{"named profile for another host", "[work]\nhost = https://other.cloud.databricks.com\n", "work",
			[]string{"[work] profile for https://other", "--databricks-profile coda"}},
		{"client_id", "[DEFAULT]\nhost = " + goldenHost + "\nclient_id = abc\nclient_secret = shh\n", "",
			[]string{"[DEFAULT] profile with its own credentials (client_id, client_secret)", "--databricks-profile coda"}},
		{"client_id without host", "[DEFAULT]\nclient_id = abc\n", "",
			[]string{"own credentials (client_id)", "--databricks-profile"}},
		{"azure", "[DEFAULT]\nhost = " + goldenHost + "\nazure_client_id = x\nazure_tenant_id = y\n", "",
			[]string{"own credentials (azure_client_id, azure_tenant_id)"}},
		{"google", "[DEFAULT]\nhost = " + goldenHost + "\ngoogle_service_account = sa@x\n", "",
			[]string{"own credentials (google_service_account)"}},
		{"basic auth", "[DEFAULT]\nhost = " + goldenHost + "\nusername = u\npassword = p\n", "",
			[]string{"own credentials (username, password)"}},
		{"auth_type", "[DEFAULT]\nhost = " + goldenHost + "\nauth_type = databricks-cli\n", "",
			[]string{"own credentials (auth_type = databricks-cli)"}},
		{"user's token for the same host", "[DEFAULT]\nhost = " + goldenHost + "\ntoken = dapi-user-own\n", "",
			[]string{"own credentials (a token)", "--databricks-profile coda"}},
		{"settings section", "", "__settings__",
			[]string{"__settings__ is reserved", "--databricks-profile NAME"}},
		{"bad name", "", "a]b", []string{`"a]b" cannot be a profile name`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.cfg != "" {
				files[cfgRel] = tc.cfg
			}
			f := newFixture(t, files)
			tgt := withProfile(target(), tc.profile)
			_, err := f.c.Plan(f.env, tgt)
			if err == nil {
				t.Fatal("Plan accepted the section")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, goldenToken) || strings.Contains(msg, "dapi-user-own") || strings.Contains(msg, "shh") {
				t.Errorf("error is not one line or holds a secret: %q", msg)
			}
			if tc.cfg != "" && f.read(t, cfgRel) != tc.cfg {
				t.Error("the file changed")
			}
			// Nothing of coda's to remove.
			if p, err := f.c.PlanRemove(f.env, tgt); tc.profile != "__settings__" && tc.profile != "a]b" && (err != nil || !p.Empty()) {
				t.Errorf("PlanRemove: %v %v", err, p)
			}
		})
	}
}

// TestAdoptAndRestore: a section with this host and no credentials is
// taken over and put back on remove; a section coda created is deleted.
func TestAdoptAndRestore(t *testing.T) {
	cfg := "[DEFAULT]\nhost = https://Example.cloud.databricks.com/ ; mine\nwarehouse_id = abc\nauth_type = pat\n\n[other]\nhost = https://o\n"
	f := newFixture(t, map[string]string{cfgRel: cfg})
	p := f.setup(t, target())
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "takes over the existing [DEFAULT] profile") {
		t.Errorf("notes %q", p.Notes)
	}
	want := "[DEFAULT]\nhost = https://Example.cloud.databricks.com/ ; mine\nwarehouse_id = abc\nauth_type = pat\ntoken = " + goldenToken + "\n\n[other]\nhost = https://o\n"
	if got := f.read(t, cfgRel); got != want {
		t.Fatalf("after setup:\n%s\nwant\n%s", got, want)
	}
	if bak := f.read(t, cfgRel+".bak"); bak != cfg {
		t.Errorf("taking a section over keeps no .bak of the user's file:\n%s", bak)
	}
	if st := f.status(t, target()); st.State != configurator.StateConfigured {
		t.Errorf("status %+v", st)
	}
	// The workspace moves: coda's host is written, the original restored on remove.
	moved := target()
	moved.Host = "https://elsewhere.cloud.databricks.com"
	f.setup(t, moved)
	if got, _ := iniGet(t, f.read(t, cfgRel), "DEFAULT", "host"); got != moved.Host {
		t.Fatalf("host %q after moving", got)
	}
	f.remove(t, moved)
	if got := f.read(t, cfgRel); got != cfg {
		t.Fatalf("after remove:\n%s\nwant\n%s", got, cfg)
	}
}

func iniGet(t *testing.T, data, section, key string) (string, bool) {
	t.Helper()
	doc, err := iniedit.Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return doc.Get(section, key)
}

// TestUserChangesToCodasSection: a token the user put into coda's section
// is theirs: setup refuses, status says foreign, remove keeps it.
func TestUserChangesToCodasSection(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(t, target())
	f.write(t, cfgRel, strings.Replace(f.read(t, cfgRel), goldenToken, "dapi-user-own", 1)+"cluster_id = c1\n")
	_, err := f.c.Plan(f.env, target())
	if err == nil || !strings.Contains(err.Error(), "holds a token coda did not write") || strings.Contains(err.Error(), "dapi-user-own") {
		t.Fatalf("Plan: %v", err)
	}
	if st := f.status(t, target()); st.State != configurator.StateForeign {
		t.Errorf("status %+v", st)
	}
	p := f.remove(t, target())
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "kept token") {
		t.Errorf("notes %q", p.Notes)
	}
	want := "[DEFAULT]\ntoken = dapi-user-own\ncluster_id = c1\n"
	if got := f.read(t, cfgRel); got != want {
		t.Fatalf("after remove:\n%s\nwant\n%s", got, want)
	}
}

// TestOneSectionPerCodaProfile: another coda profile cannot take over a
// section coda wrote for the first one (their rotations would fight).
func TestOneSectionPerCodaProfile(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(t, target())
	other := target()
	other.Profile = "work"
	other.Host = "https://work.cloud.databricks.com"
	_, err := f.c.Plan(f.env, other)
	if err == nil || !strings.Contains(err.Error(), `the [DEFAULT] profile is coda's for its profile "default"`) || !strings.Contains(err.Error(), "--databricks-profile coda") {
		t.Fatalf("Plan: %v", err)
	}
	f.setup(t, withProfile(other, "work"))
	doc, err := iniedit.Parse([]byte(f.read(t, cfgRel)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc.Sections(), []string{"DEFAULT", "work"}) {
		t.Errorf("sections %v", doc.Sections())
	}
	if st := f.status(t, withProfile(other, "work")); st.State != configurator.StateConfigured {
		t.Errorf("status of profile work: %+v", st)
	}
	f.remove(t, target())
	f.remove(t, withProfile(other, "work"))
	if _, err := os.Stat(filepath.Join(f.home, cfgRel)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("remove left the file: %v", err)
	}
}

func TestStatus(t *testing.T) {
	foreign := "[mine]\nhost = " + goldenHost + "/\ntoken = dapi-user-own\n"
	f := newFixture(t, map[string]string{cfgRel: foreign})
	st := f.status(t, target())
	if st.State != configurator.StateForeign || !strings.Contains(st.Detail, "[mine]") || strings.Contains(st.Detail, "dapi-user-own") {
		t.Errorf("foreign: %+v", st)
	}
	f.setup(t, target())
	if st := f.status(t, target()); st.State != configurator.StateConfigured {
		t.Errorf("configured: %+v", st)
	}
	next := target()
	next.Token = nextToken
	if st := f.status(t, next); st.State != configurator.StateStale || !strings.Contains(st.Detail, "an older token") || strings.Contains(st.Detail, "dapi") {
		t.Errorf("stale token: %+v", st)
	}
	moved := target()
	moved.Host = "https://elsewhere.cloud.databricks.com"
	if st := f.status(t, moved); st.State != configurator.StateStale || !strings.Contains(st.Detail, "host "+goldenHost) {
		t.Errorf("stale host: %+v", st)
	}
}

// TestNeverAbsent: without the CLI the profile still serves the SDKs.
func TestNeverAbsent(t *testing.T) {
	f := newFixture(t, nil)
	st := f.status(t, target())
	if st.State != configurator.StateNotConfigured || !strings.Contains(st.Detail, "not on PATH") {
		t.Errorf("without the CLI: %+v", st)
	}
	if d := f.c.Detect(f.env); d.Installed {
		t.Errorf("Detect: %+v", d)
	}
	f.bins["databricks"] = true
	if d := f.c.Detect(f.env); !d.Installed || d.Binary != "/usr/bin/databricks" {
		t.Errorf("Detect: %+v", d)
	}
	if st := f.status(t, target()); st.State != configurator.StateNotConfigured || strings.Contains(st.Detail, "PATH") {
		t.Errorf("with the CLI: %+v", st)
	}
}

func TestDefaultProfileNote(t *testing.T) {
	f := newFixture(t, map[string]string{cfgRel: userCfg})
	p, err := f.c.Plan(f.env, target())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "names [work] as the default profile") {
		t.Errorf("notes %q", p.Notes)
	}
}

func TestDamagedSidecarRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(t, target())
	side := filepath.Join(f.state, "plugins", "databricks.json")
	if err := os.WriteFile(side, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"Plan":       func() error { _, err := f.c.Plan(f.env, target()); return err },
		"PlanRemove": func() error { _, err := f.c.PlanRemove(f.env, target()); return err },
		"Status":     func() error { _, err := f.c.Status(f.env, target()); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "databricks.json") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSidecarHoldsNoToken: coda remembers its tokens by hash only.
func TestSidecarHoldsNoToken(t *testing.T) {
	f := newFixture(t, nil)
	f.setup(t, target())
	data, err := os.ReadFile(filepath.Join(f.state, "plugins", "databricks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(goldenToken)) {
		t.Error("the sidecar holds the token")
	}
	info, _ := os.Stat(filepath.Join(f.state, "plugins", "databricks.json"))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode %o", info.Mode().Perm())
	}
}

func readDoc(t *testing.T, path string) *iniedit.Doc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := iniedit.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
