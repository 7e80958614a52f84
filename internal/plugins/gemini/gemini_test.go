package gemini

import (
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/merge/dotenv"
	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/setup"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	goldenHost  = "https://example.cloud.databricks.com"
	goldenToken = "dapi-golden-token-0000"
	settingsRel = ".gemini/settings.json"
	trustedRel  = ".gemini/trustedFolders.json"
	envRel      = ".gemini/.env"
)

func target() configurator.Target {
	return configurator.Target{
		Profile:      "default",
		Host:         goldenHost,
		User:         "alice@example.com",
		Endpoints:    setup.EndpointsFor(goldenHost, setup.FamilyServing, ""),
		Models:       map[string]string{},
		TokenCommand: []string{"/usr/local/bin/coda", "token", "-p", "default", "--min-ttl", "5m0s"},
		Token:        goldenToken,
		Lifetime:     time.Hour,
		Grace:        15 * time.Minute,
		Options:      map[string]string{},
	}
}

// userSettings has UI, MCP servers, the user's own model and auth type.
const userSettings = `{
  "ui": {
    "theme": "GitHub",
    "hideBanner": true
  },
  "mcpServers": {
    "fs": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]
    }
  },
  "model": {
    "name": "gemini-2.5-flash",
    "maxSessionTurns": 20
  },
  "security": {
    "auth": {
      "selectedType": "oauth-personal"
    },
    "folderTrust": {
      "enabled": true
    }
  },
  "privacy": {
    "usageStatisticsEnabled": false
  }
}
`

// userTrusted trusts and distrusts other folders (paths that exist on no
// test machine, see split).
const userTrusted = `{
  "/srv/projects": "TRUST_FOLDER",
  "/opt/untrusted": "DO_NOT_TRUST"
}
`

// userEnv has comments, an export, quoting and the user's own Google key.
const userEnv = `# my Gemini settings
export GEMINI_SANDBOX=docker
GEMINI_API_KEY=AIzaUserOwnKey0000   # personal key
OTHER='a value # not a comment'

# trailing comment
`

func userFiles() map[string]string {
	return map[string]string{settingsRel: userSettings, trustedRel: userTrusted, envRel: userEnv}
}

func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New:       New,
		Target:    target,
		Binaries:  []string{"gemini"},
		UserFiles: userFiles(),
		Malformed: map[string]string{
			settingsRel: "{\n  \"ui\": {\"theme\": }\n}\n",
			trustedRel:  "[\"/srv/projects\"]\n",
			envRel:      "GEMINI_MODEL='unterminated\n",
		},
		Split: split,
	})
}

// split decodes a managed file into what coda does not own and what it
// does.
func split(rel string, data []byte) (foreign, owned any, err error) {
	switch filepath.Base(rel) {
	case "settings.json":
		doc, err := jsonedit.Parse(data)
		if err != nil {
			return nil, nil, err
		}
		own := map[string]any{}
		for _, path := range settingsKeys {
			if v, ok := doc.GetPath(path...); ok {
				own[strings.Join(path, ".")] = plain(v)
				doc.DeletePathPrune(path...)
			}
		}
		if v, ok := doc.Get("selectedAuthType"); ok && v == AuthType {
			own["selectedAuthType"] = v // what older coda versions wrote
			doc.Delete("selectedAuthType")
		}
		return plain(doc), own, nil
	case "trustedFolders.json":
		doc, err := jsonedit.Parse(data)
		if err != nil {
			return nil, nil, err
		}
		// coda's entry is HOME: the folder that holds this .gemini.
		own, rest := map[string]any{}, map[string]any{}
		for _, k := range doc.Keys() {
			v, _ := doc.Get(k)
			if info, err := os.Stat(filepath.Join(k, ".gemini")); err == nil && info.IsDir() {
				own[k] = v
			} else {
				rest[k] = v
			}
		}
		return rest, own, nil
	case ".env":
		doc, err := dotenv.Parse(data)
		if err != nil {
			return nil, nil, err
		}
		own := map[string]any{}
		for _, k := range envKeys {
			if v, ok := doc.Get(k); ok {
				own[k] = v
				doc.Delete(k)
			}
		}
		return string(doc.Bytes()), own, nil
	}
	return string(data), nil, nil
}

func plain(v any) any {
	switch t := v.(type) {
	case *jsonedit.Object:
		m := map[string]any{}
		for _, k := range t.Keys() {
			e, _ := t.Get(k)
			m[k] = plain(e)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plain(e)
		}
		return out
	case json.Number:
		return "number:" + string(t)
	}
	return v
}

// --- fixture ---------------------------------------------------------------

type fixture struct {
	t     *testing.T
	home  string
	state string
	vars  map[string]string
	env   configurator.Env
	c     configurator.Configurator
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	f := &fixture{t: t, home: t.TempDir(), state: filepath.Join(t.TempDir(), "coda"), c: New()}
	f.vars = map[string]string{"HOME": f.home}
	f.env = configurator.Env{
		Home:     f.home,
		Getenv:   func(k string) string { return f.vars[k] },
		LookPath: func(string) (string, error) { return "/usr/bin/gemini", nil },
		StateDir: f.state,
	}
	for rel, content := range files {
		f.write(rel, content)
	}
	return f
}

func (f *fixture) path(rel string) string { return filepath.Join(f.home, filepath.FromSlash(rel)) }

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := f.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) read(rel string) string {
	f.t.Helper()
	data, err := os.ReadFile(f.path(rel))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(data)
}

func (f *fixture) exists(rel string) bool {
	_, err := os.Stat(f.path(rel))
	return err == nil
}

func (f *fixture) plan(t configurator.Target) configurator.Plan {
	f.t.Helper()
	p, err := f.c.Plan(f.env, t)
	if err != nil {
		f.t.Fatalf("Plan: %v", err)
	}
	return p
}

func (f *fixture) apply(t configurator.Target) configurator.Plan {
	f.t.Helper()
	p := f.plan(t)
	if err := f.c.Apply(f.env, p); err != nil {
		f.t.Fatalf("Apply: %v", err)
	}
	return p
}

func (f *fixture) remove(t configurator.Target) configurator.Plan {
	f.t.Helper()
	p, err := f.c.PlanRemove(f.env, t)
	if err != nil {
		f.t.Fatalf("PlanRemove: %v", err)
	}
	if err := f.c.Apply(f.env, p); err != nil {
		f.t.Fatalf("Apply remove: %v", err)
	}
	return p
}

func (f *fixture) status(t configurator.Target) configurator.Status {
	f.t.Helper()
	st, err := f.c.Status(f.env, t)
	if err != nil {
		f.t.Fatalf("Status: %v", err)
	}
	return st
}

func (f *fixture) doc(rel string) *jsonedit.Object {
	f.t.Helper()
	o, err := jsonedit.Parse([]byte(f.read(rel)))
	if err != nil {
		f.t.Fatalf("%s: %v", rel, err)
	}
	return o
}

func (f *fixture) dotenv() *dotenv.Doc {
	f.t.Helper()
	d, err := dotenv.Parse([]byte(f.read(envRel)))
	if err != nil {
		f.t.Fatalf("%s: %v", envRel, err)
	}
	return d
}

func changed(p configurator.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Changed() {
			out = append(out, c.Path)
		}
	}
	return out
}

func (f *fixture) scrub(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, f.state, "$STATE"), f.home, "$HOME")
}

// --- golden files ------------------------------------------------------------

func TestGolden(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		remove bool
	}{
		{"empty", nil, false},
		{"existing", userFiles(), false},
		{"existing-removed", userFiles(), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			p := f.plan(target())
			if tc.remove {
				if err := f.c.Apply(f.env, p); err != nil {
					t.Fatal(err)
				}
				var err error
				if p, err = f.c.PlanRemove(f.env, target()); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]string{}
			var summary []string
			for _, c := range p.Changes {
				rel := goldenPath(t, f, c.Path)
				switch {
				case !c.Changed():
					summary = append(summary, "unchanged "+rel)
				case c.New == nil:
					summary = append(summary, "delete    "+rel)
				default:
					summary = append(summary, "write     "+rel)
					got[rel] = f.scrub(string(c.New))
				}
			}
			got["CHANGES"] = strings.Join(summary, "\n") + "\n"
			if len(p.Notes) > 0 {
				got["NOTES"] = f.scrub(strings.Join(p.Notes, "\n")) + "\n"
			}
			compareGolden(t, filepath.Join("testdata", "golden", tc.name), got)
		})
	}
}

func goldenPath(t *testing.T, f *fixture, path string) string {
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
			p := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
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
		t.Fatalf("read golden files (run go test -update): %v", err)
	}
	for rel, w := range want {
		if g, ok := got[rel]; !ok {
			t.Errorf("%s: in the golden files but not planned", rel)
		} else if g != w {
			t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", rel, filepath.Join(dir, rel), g, w)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("%s: planned but has no golden file (run go test -update)", rel)
		}
	}
}

// --- edge cases ----------------------------------------------------------------

func TestSettingsMergedAndRestored(t *testing.T) {
	f := newFixture(t, userFiles())
	f.apply(target())
	doc := f.doc(settingsRel)
	if got, want := doc.Keys(), []string{"ui", "mcpServers", "model", "security", "privacy"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if v, _ := doc.GetPath("security", "auth", "selectedType"); v != AuthType {
		t.Errorf("security.auth.selectedType = %v", v)
	}
	if v, _ := doc.GetPath("model", "name"); v != DefaultModel {
		t.Errorf("model.name = %v", v)
	}
	if v, _ := doc.GetPath("model", "maxSessionTurns"); v != json.Number("20") {
		t.Errorf("model.maxSessionTurns = %v: a key next to coda's was lost", v)
	}
	if _, ok := doc.Get("selectedAuthType"); ok {
		t.Error("coda wrote the top-level selectedAuthType")
	}
	if v, _ := doc.GetPath("mcpServers", "fs", "command"); v != "npx" {
		t.Error("mcpServers lost")
	}
	if strings.Contains(f.read(settingsRel), goldenToken) {
		t.Error("settings.json holds the token")
	}

	f.remove(target())
	if got := f.read(settingsRel); got != userSettings {
		// jsonedit writes arrays one element a line; compare meaning.
		a, b := f.doc(settingsRel), mustParse(t, userSettings)
		if !jsonEqual(a, b) {
			t.Errorf("remove did not restore settings.json:\n%s", got)
		}
	}
}

func mustParse(t *testing.T, s string) *jsonedit.Object {
	t.Helper()
	o, err := jsonedit.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func jsonEqual(a, b *jsonedit.Object) bool {
	return string(jsonedit.Marshal(a)) == string(jsonedit.Marshal(b))
}

func TestLegacySelectedAuthType(t *testing.T) {
	t.Run("coda's", func(t *testing.T) {
		f := newFixture(t, map[string]string{settingsRel: `{"selectedAuthType": "gemini-api-key", "ui": {"theme": "ANSI"}}`})
		p := f.apply(target())
		if _, ok := f.doc(settingsRel).Get("selectedAuthType"); ok {
			t.Error("the legacy selectedAuthType coda wrote is still there")
		}
		if !strings.Contains(strings.Join(p.Notes, "\n"), "deleted the top-level selectedAuthType") {
			t.Errorf("notes %q", p.Notes)
		}
		f.remove(target())
		doc := f.doc(settingsRel)
		if _, ok := doc.Get("selectedAuthType"); ok {
			t.Error("remove brought the legacy key back")
		}
		if got := doc.Keys(); !slices.Equal(got, []string{"ui"}) {
			t.Errorf("after remove keys %v", got)
		}
	})
	t.Run("user's", func(t *testing.T) {
		f := newFixture(t, map[string]string{settingsRel: `{"selectedAuthType": "oauth-personal"}`})
		p := f.apply(target())
		if v, _ := f.doc(settingsRel).Get("selectedAuthType"); v != "oauth-personal" {
			t.Errorf("the user's selectedAuthType is %v", v)
		}
		if !strings.Contains(strings.Join(p.Notes, "\n"), "left the top-level selectedAuthType") {
			t.Errorf("notes %q", p.Notes)
		}
	})
}

func TestEnvMergedKeepsUserLines(t *testing.T) {
	f := newFixture(t, userFiles())
	f.apply(target())
	got := f.read(envRel)
	want := `# my Gemini settings
export GEMINI_SANDBOX=docker
GEMINI_API_KEY=` + goldenToken + `   # personal key
OTHER='a value # not a comment'

# trailing comment
GOOGLE_GEMINI_BASE_URL=https://example.cloud.databricks.com/serving-endpoints/google
GEMINI_API_KEY_AUTH_MECHANISM=bearer
GEMINI_MODEL=databricks-gemini-2-5-pro
`
	if got != want {
		t.Errorf(".env after setup:\n%s\nwant:\n%s", f.scrub(strings.ReplaceAll(got, goldenToken, "<token>")), strings.ReplaceAll(want, goldenToken, "<token>"))
	}
	if bak, err := os.ReadFile(f.path(envRel + ".bak")); err != nil || string(bak) != userEnv {
		t.Errorf("no backup of the user's .env (%v)", err)
	}
	f.remove(target())
	if got := f.read(envRel); got != userEnv {
		t.Errorf("remove did not restore the user's .env (with their own GEMINI_API_KEY):\n%s", got)
	}
}

func TestRotationRewritesOnlyTheKeyLine(t *testing.T) {
	f := newFixture(t, userFiles())
	f.apply(target())
	before := f.read(envRel)
	next := target()
	next.Token = "dapi-rotated-token-1111"
	p := f.apply(next)
	if got := changed(p); !slices.Equal(got, []string{f.path(envRel)}) {
		t.Fatalf("a rotation changes %v, want only ~/.gemini/.env", got)
	}
	after := f.read(envRel)
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	if len(bl) != len(al) {
		t.Fatalf("a rotation changed the number of lines: %d to %d", len(bl), len(al))
	}
	var diff []int
	for i := range bl {
		if bl[i] != al[i] {
			diff = append(diff, i)
			if !strings.HasPrefix(al[i], "GEMINI_API_KEY=") {
				t.Errorf("line %d changed and is not GEMINI_API_KEY", i+1)
			}
		}
	}
	if len(diff) != 1 {
		t.Errorf("%d lines changed, want 1", len(diff))
	}
	if strings.Contains(after, goldenToken) {
		t.Error("the old token is still in .env")
	}
	// No backup of a file that holds a token: it would keep the old one.
	if bak, _ := os.ReadFile(f.path(envRel + ".bak")); strings.Contains(string(bak), goldenToken) {
		t.Error(".env.bak holds the previous token")
	}
}

func TestEmptyTokenRemovesKey(t *testing.T) {
	f := newFixture(t, nil)
	f.apply(target())
	revoked := target()
	revoked.Token = ""
	p := f.apply(revoked)
	if got := changed(p); !slices.Equal(got, []string{f.path(envRel)}) {
		t.Errorf("revoking changes %v, want only .env", got)
	}
	d := f.dotenv()
	if _, ok := d.Get(keyAPIKey); ok {
		t.Error("GEMINI_API_KEY survived an empty token")
	}
	if v, _ := d.Get(keyBaseURL); v == "" {
		t.Error("the rest of the configuration went with the token")
	}
	if p := f.plan(revoked); !p.Empty() {
		t.Errorf("a second plan without a token changes %v", changed(p))
	}
	if st := f.status(revoked); st.State != configurator.StateConfigured || !strings.Contains(st.Detail, "no token") {
		t.Errorf("status %s: %s", st.State, st.Detail)
	}
	if st := f.status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "holds no token") {
		t.Errorf("status with a token %s: %s", st.State, st.Detail)
	}
}

func TestTrustedFolders(t *testing.T) {
	t.Run("otherFolders", func(t *testing.T) {
		f := newFixture(t, map[string]string{trustedRel: userTrusted})
		f.apply(target())
		doc := f.doc(trustedRel)
		if got := doc.Keys(); !slices.Equal(got, []string{"/srv/projects", "/opt/untrusted", f.home}) {
			t.Errorf("keys %v", got)
		}
		if v, _ := doc.Get(f.home); v != trustFolder {
			t.Errorf("HOME is %v", v)
		}
		info, _ := os.Stat(f.path(trustedRel))
		if info.Mode().Perm() != 0o644 {
			t.Errorf("the user's file mode changed to %o", info.Mode().Perm())
		}
		f.remove(target())
		if got := f.doc(trustedRel).Keys(); !slices.Equal(got, []string{"/srv/projects", "/opt/untrusted"}) {
			t.Errorf("after remove keys %v", got)
		}
	})
	for _, level := range []string{trustFolder, trustParent} {
		t.Run("alreadyTrusted"+level, func(t *testing.T) {
			f := newFixture(t, nil)
			f.write(trustedRel, `{"`+f.home+`": "`+level+`"}`+"\n")
			p := f.apply(target())
			if slices.Contains(changed(p), f.path(trustedRel)) {
				t.Error("coda changed an entry that already trusts HOME")
			}
			f.remove(target())
			if v, _ := f.doc(trustedRel).Get(f.home); v != level {
				t.Errorf("after remove HOME is %v, want the user's %s", v, level)
			}
		})
	}
	t.Run("distrusted", func(t *testing.T) {
		f := newFixture(t, nil)
		f.write(trustedRel, `{"`+f.home+`": "DO_NOT_TRUST"}`+"\n")
		p := f.apply(target())
		if v, _ := f.doc(trustedRel).Get(f.home); v != trustFolder {
			t.Errorf("HOME is %v", v)
		}
		if !strings.Contains(strings.Join(p.Notes, "\n"), "DO_NOT_TRUST") {
			t.Errorf("notes %q", p.Notes)
		}
		f.remove(target())
		if v, _ := f.doc(trustedRel).Get(f.home); v != "DO_NOT_TRUST" {
			t.Errorf("after remove HOME is %v, want DO_NOT_TRUST back", v)
		}
	})
	t.Run("created", func(t *testing.T) {
		f := newFixture(t, nil)
		p := f.apply(target())
		if !strings.Contains(strings.Join(p.Notes, "\n"), "trusts "+f.home) {
			t.Errorf("no note about trusting HOME: %q", p.Notes)
		}
		f.remove(target())
		for _, rel := range []string{trustedRel, settingsRel, envRel} {
			if f.exists(rel) {
				t.Errorf("%s that coda created survived remove", rel)
			}
		}
	})
}

func TestMalformedRefused(t *testing.T) {
	cases := []struct {
		rel, content, want string
	}{
		{settingsRel, "{\n  \"ui\": {\"theme\": \"secret-looking-value\",}\n}\n", "~/.gemini/settings.json is not valid JSON (invalid JSON at line 2"},
		{settingsRel, "{\n  // comment\n  \"ui\": \"secret-looking-value\"\n}\n", "~/.gemini/settings.json has comments (line 2"},
		{settingsRel, `{"model": "secret-looking-value"}`, "~/.gemini/settings.json: cannot set model.name: model is a string"},
		{trustedRel, "{\"/srv\": \"secret-looking-value\"", "~/.gemini/trustedFolders.json is not valid JSON"},
		{envRel, "OK=1\nsecret-looking-value\n", "~/.gemini/.env is not a valid .env file (line 2"},
		{envRel, "KEY=\"secret-looking-value\n", "~/.gemini/.env is not a valid .env file (line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			f := newFixture(t, map[string]string{tc.rel: tc.content})
			_, err := f.c.Plan(f.env, target())
			if err == nil {
				t.Fatal("Plan accepted it")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want %q", msg, tc.want)
			}
			if strings.Contains(msg, "secret-looking-value") || strings.Contains(msg, "\n") {
				t.Errorf("error echoes content or spans lines: %q", msg)
			}
			if !strings.Contains(tc.want, "cannot set") {
				if _, err := f.c.PlanRemove(f.env, target()); err == nil {
					t.Error("PlanRemove accepted it")
				}
			}
			if f.read(tc.rel) != tc.content {
				t.Error("the file was modified")
			}
		})
	}
}

func TestProjectEnvWarning(t *testing.T) {
	type file = struct{ rel, content string }
	cases := []struct {
		name     string
		files    []file
		cwd      string // relative to HOME, or absolute
		want     string // "" = no warning
		settings string
	}{
		{name: "none", cwd: "proj/sub"},
		{name: "projectEnv", files: []file{{"proj/.env", "X=1\n"}}, cwd: "proj/sub", want: "proj/.env hides ~/.gemini/.env"},
		{name: "cwdEnv", files: []file{{"proj/sub/.env", "X=1\n"}}, cwd: "proj/sub", want: "proj/sub/.env hides"},
		{name: "ignoreLocalEnv", files: []file{{"proj/.env", "X=1\n"}}, cwd: "proj/sub", settings: `{"advanced": {"ignoreLocalEnv": true}}`},
		{name: "projectGeminiEnv", files: []file{{"proj/.gemini/.env", "X=1\n"}}, cwd: "proj", settings: `{"advanced": {"ignoreLocalEnv": true}}`, want: "proj/.gemini/.env hides ~/.gemini/.env"},
		{name: "homeEnvIsNotAProjectEnv", files: []file{{".env", "X=1\n"}}, cwd: "proj"},
		{name: "atHome", cwd: "."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if tc.settings != "" {
				f.write(settingsRel, tc.settings)
			}
			f.apply(target())
			for _, fl := range tc.files {
				f.write(fl.rel, fl.content)
			}
			cwd := f.path(tc.cwd)
			if err := os.MkdirAll(cwd, 0o755); err != nil {
				t.Fatal(err)
			}
			got := ProjectEnvWarning(f.env, cwd)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("warning %q, want %q", got, tc.want)
			}
			if strings.Contains(got, "\n") {
				t.Error("the warning is not one line")
			}
		})
	}
	t.Run("outsideHomeUntrusted", func(t *testing.T) {
		f := newFixture(t, nil)
		f.apply(target())
		elsewhere := t.TempDir()
		if got := ProjectEnvWarning(f.env, elsewhere); !strings.Contains(got, "does not trust "+elsewhere) {
			t.Errorf("warning %q", got)
		}
		doc := f.doc(trustedRel)
		doc.Set(elsewhere, "TRUST_FOLDER")
		f.write(trustedRel, string(jsonedit.Marshal(doc)))
		if got := ProjectEnvWarning(f.env, elsewhere); got != "" {
			t.Errorf("a trusted folder warns %q", got)
		}
	})
	t.Run("inStatus", func(t *testing.T) {
		f := newFixture(t, nil)
		f.apply(target())
		f.write("proj/.env", "X=1\n")
		wd, _ := os.Getwd()
		t.Cleanup(func() { _ = os.Chdir(wd) })
		if err := os.Chdir(f.path("proj")); err != nil {
			t.Fatal(err)
		}
		if st := f.status(target()); !strings.Contains(st.Detail, "proj/.env hides") {
			t.Errorf("status detail %q", st.Detail)
		}
	})
}

func TestGeminiHomeAndTrustedFoldersPath(t *testing.T) {
	f := newFixture(t, nil)
	gh := filepath.Join(f.home, "alt")
	tf := filepath.Join(f.home, "trust", "folders.json")
	f.vars["GEMINI_CLI_HOME"] = gh
	f.vars["GEMINI_CLI_TRUSTED_FOLDERS_PATH"] = tf
	p := f.apply(target())
	want := []string{filepath.Join(gh, ".gemini", "settings.json"), tf, filepath.Join(gh, ".gemini", ".env")}
	for _, w := range want {
		if !slices.Contains(changed(p), w) {
			t.Errorf("%s not planned; planned %v", w, changed(p))
		}
	}
	if f.exists(settingsRel) {
		t.Error("wrote ~/.gemini although GEMINI_CLI_HOME is set")
	}
	// The trusted folder stays HOME: that is where the user works.
	o := f.doc("trust/folders.json")
	if v, _ := o.Get(f.home); v != trustFolder {
		t.Errorf("trusted folders %s", jsonedit.Marshal(o))
	}
}

func TestGeminiDirMadePrivate(t *testing.T) {
	f := newFixture(t, map[string]string{settingsRel: "{}\n"})
	if err := os.Chmod(f.path(".gemini"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := f.apply(target())
	if !strings.Contains(strings.Join(p.Notes, "\n"), "makes ~/.gemini private (0700)") {
		t.Errorf("notes %q", p.Notes)
	}
	dir, _ := os.Stat(f.path(".gemini"))
	env, _ := os.Stat(f.path(envRel))
	if dir.Mode().Perm() != 0o700 || env.Mode().Perm() != 0o600 {
		t.Errorf(".gemini %o, .env %o; want 0700 and 0600", dir.Mode().Perm(), env.Mode().Perm())
	}
	side, _ := os.Stat(filepath.Join(f.state, "plugins", "gemini.json"))
	if side == nil || side.Mode().Perm() != 0o600 {
		t.Errorf("the record of originals (may hold the user's key) is not 0600: %v", side)
	}
}

func TestExportedVariablesNoted(t *testing.T) {
	f := newFixture(t, nil)
	f.vars["GEMINI_API_KEY"] = "AIzaExported"
	f.vars["GOOGLE_GEMINI_BASE_URL"] = "https://generativelanguage.googleapis.com"
	p := f.apply(target())
	notes := strings.Join(p.Notes, "\n")
	for _, k := range []string{"GEMINI_API_KEY is exported", "GOOGLE_GEMINI_BASE_URL is exported"} {
		if !strings.Contains(notes, k) {
			t.Errorf("no note %q in %q", k, notes)
		}
	}
	if strings.Contains(notes, "AIzaExported") {
		t.Error("a note shows an exported value")
	}
	if st := f.status(target()); !strings.Contains(st.Detail, "GEMINI_API_KEY is exported") {
		t.Errorf("status detail %q", st.Detail)
	}
}

func TestStatus(t *testing.T) {
	t.Run("foreign", func(t *testing.T) {
		f := newFixture(t, map[string]string{envRel: "GOOGLE_GEMINI_BASE_URL=" + goldenHost + "/serving-endpoints/google\nGEMINI_API_KEY=dapi-hand-written\n"})
		st := f.status(target())
		if st.State != configurator.StateForeign || strings.Contains(st.Detail, "dapi-hand-written") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		// Remove leaves a configuration coda has no record of writing.
		p, err := f.c.PlanRemove(f.env, target())
		if err != nil || !p.Empty() {
			t.Errorf("remove of a foreign configuration: %v, %v", changed(p), err)
		}
	})
	t.Run("configured", func(t *testing.T) {
		f := newFixture(t, nil)
		f.apply(target())
		st := f.status(target())
		if st.State != configurator.StateConfigured || !strings.Contains(st.Detail, "cannot refresh it while running") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("staleToken", func(t *testing.T) {
		f := newFixture(t, nil)
		f.apply(target())
		next := target()
		next.Token = "dapi-next-token-2222"
		st := f.status(next)
		if st.State != configurator.StateStale || !strings.Contains(st.Detail, "token") || !strings.Contains(st.Detail, "cannot refresh it while running") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		if strings.Contains(st.Detail, "dapi-") {
			t.Error("the detail holds a token")
		}
	})
	t.Run("staleModel", func(t *testing.T) {
		f := newFixture(t, nil)
		f.apply(target())
		tgt := target()
		tgt.Models = map[string]string{"model": "databricks-gemini-3-pro"}
		if st := f.status(tgt); st.State != configurator.StateStale || !strings.Contains(st.Detail, "databricks-gemini-3-pro") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("absent", func(t *testing.T) {
		f := newFixture(t, nil)
		f.env.LookPath = func(string) (string, error) { return "", os.ErrNotExist }
		if st := f.status(target()); st.State != configurator.StateAbsent {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
}

func TestSecondSetupKeepsOriginals(t *testing.T) {
	f := newFixture(t, userFiles())
	f.apply(target())
	other := target()
	other.Models = map[string]string{"model": "databricks-gemini-3-pro"}
	other.Token = "dapi-other-token-3333"
	f.apply(other)
	f.remove(other)
	if got := f.read(envRel); got != userEnv {
		t.Errorf("after two setups remove restored:\n%s", got)
	}
	if v, _ := f.doc(settingsRel).GetPath("model", "name"); v != "gemini-2.5-flash" {
		t.Errorf("model.name = %v after remove", v)
	}
	if v, _ := f.doc(settingsRel).GetPath("security", "auth", "selectedType"); v != "oauth-personal" {
		t.Errorf("selectedType = %v after remove", v)
	}
}

func TestNewGeminiDirIsPrivate(t *testing.T) {
	f := newFixture(t, nil)
	f.apply(target())
	for rel, want := range map[string]os.FileMode{".gemini": 0o700, envRel: 0o600, trustedRel: 0o600, settingsRel: 0o644} {
		info, err := os.Stat(f.path(rel))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s mode %o, want %o", rel, info.Mode().Perm(), want)
		}
	}
}
