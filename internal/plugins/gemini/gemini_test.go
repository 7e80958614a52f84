package gemini

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/merge/dotenv"
	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	settingsRel = ".gemini/settings.json"
	trustedRel  = ".gemini/trustedFolders.json"
	envRel      = ".gemini/.env"
)

func target() configurator.Target {
	tgt := plugintest.Target()
	return tgt
}

// trustHomeTarget is target() as coda setup --gemini-trust-home passes it.
func trustHomeTarget() configurator.Target {
	tgt := target()
	tgt.Options[OptionTrustHome] = "true"
	return tgt
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
	for name, tgt := range map[string]func() configurator.Target{"default": target, "trustHome": trustHomeTarget} {
		t.Run(name, func(t *testing.T) {
			configuratortest.Run(t, configuratortest.Suite{
				New:       New,
				Target:    tgt,
				Binaries:  []string{"gemini"},
				UserFiles: userFiles(),
				Malformed: map[string]string{
					settingsRel: "{\n  \"ui\": {\"theme\": }\n}\n",
					// Gemini CLI stops on it too; coda reads it to take back
					// a rule an earlier setup wrote.
					trustedRel: "[\"/srv/projects\"]\n",
					envRel:     "GEMINI_MODEL='unterminated\n",
				},
				Split: split,
			})
		})
	}
}

// split decodes a managed file into what coda does not own and what it
// does.
func split(rel string, data []byte) (foreign, owned any, err error) {
	switch filepath.Base(rel) {
	case "settings.json":
		doc, err := jsonedit.ParseDialect(data, jsonedit.Comments)
		if err != nil {
			return nil, nil, err
		}
		own := map[string]any{}
		for _, path := range settingsKeys {
			if v, ok := doc.GetPath(path...); ok {
				own[strings.Join(path, ".")] = plugintest.Plain(v)
				doc.DeletePathPrune(path...)
			}
		}
		if v, ok := doc.Get("selectedAuthType"); ok && v == AuthType {
			own["selectedAuthType"] = v // what older coda versions wrote
			doc.Delete("selectedAuthType")
		}
		return plugintest.Plain(doc), own, nil
	case "trustedFolders.json":
		doc, err := jsonedit.ParseDialect(data, jsonedit.Comments)
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

// --- fixture ---------------------------------------------------------------

// fixture adds the gemini plugin's own helpers to plugintest's; gemini is
// on its PATH.
type fixture struct{ *plugintest.Fixture }

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	f := plugintest.NewFixture(t, New(), files)
	f.Install("gemini")
	return &fixture{f}
}

func (f *fixture) dotenv() *dotenv.Doc {
	f.T.Helper()
	d, err := dotenv.Parse([]byte(f.Read(envRel)))
	if err != nil {
		f.T.Fatalf("%s: %v", envRel, err)
	}
	return d
}

// --- golden files ------------------------------------------------------------

func TestGolden(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		tgt    configurator.Target
		before func(f *fixture) // the state before the plan
		remove bool
	}{
		{name: "empty", tgt: target()},
		{name: "existing", files: userFiles(), tgt: target()},
		{name: "existing-removed", files: userFiles(), tgt: target(), remove: true},
		{name: "trust-home", files: userFiles(), tgt: trustHomeTarget()},
		{name: "trust-home-removed", files: userFiles(), tgt: trustHomeTarget(), remove: true},
		// What an older coda left (HOME trusted, its version 1 record),
		// set up again without --gemini-trust-home.
		{name: "older-coda", files: userFiles(), tgt: target(), before: func(f *fixture) {
			f.Apply(trustHomeTarget())
			f.WriteLegacyRecord("existing")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			if tc.before != nil {
				tc.before(f)
			}
			f.CheckGolden(t, tc.name, tc.tgt, tc.remove)
		})
	}
}

// --- edge cases ----------------------------------------------------------------

func TestSettingsMergedAndRestored(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	doc := f.ReadJSON(settingsRel)
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
	if strings.Contains(f.Read(settingsRel), plugintest.GoldenToken) {
		t.Error("settings.json holds the token")
	}

	f.Remove(target())
	if got := f.Read(settingsRel); got != userSettings {
		t.Errorf("remove did not restore settings.json byte for byte:\n%s", got)
	}
}

// commentedSettings and commentedTrusted have comments of both kinds,
// which Gemini CLI reads (it strips them before JSON.parse).
const commentedSettings = `{
  // note: the theme is mine
  "ui": {
    "theme": "GitHub"
  },
  /* block
     comment */
  "model": {
    "name": "gemini-2.5-flash" // the fast one
  }
}
`

const commentedTrusted = `{
  // work
  "/srv/projects": "TRUST_FOLDER" /* mine */
}
`

func TestCommentsSurviveApplyAndRemove(t *testing.T) {
	f := newFixture(t, map[string]string{settingsRel: commentedSettings, trustedRel: commentedTrusted})
	p := f.Apply(trustHomeTarget())
	if got := plugintest.Changed(p); !slices.Contains(got, f.Path(settingsRel)) || !slices.Contains(got, f.Path(trustedRel)) {
		t.Fatalf("setup did not merge into both files: %v", got)
	}
	settings := f.Read(settingsRel)
	for _, c := range []string{"// note: the theme is mine\n", "/* block\n     comment */\n", `"name": "databricks-gemini-2-5-pro" // the fast one`} {
		if !strings.Contains(settings, c) {
			t.Errorf("settings.json lost %q:\n%s", c, settings)
		}
	}
	doc, err := jsonedit.ParseDialect([]byte(settings), jsonedit.Comments)
	if err != nil {
		t.Fatalf("settings.json after setup: %v", err)
	}
	if v, _ := doc.GetPath("security", "auth", "selectedType"); v != AuthType {
		t.Errorf("security.auth.selectedType = %v", v)
	}
	trusted := f.Read(trustedRel)
	if !strings.Contains(trusted, "// work\n") || !strings.Contains(trusted, `"/srv/projects": "TRUST_FOLDER", /* mine */`) || !strings.Contains(trusted, f.Home) {
		t.Errorf("trustedFolders.json after setup:\n%s", trusted)
	}
	if p := f.Plan(trustHomeTarget()); !p.Empty() {
		t.Errorf("a second setup changes %v", plugintest.Changed(p))
	}

	f.Remove(trustHomeTarget())
	if got := f.Read(settingsRel); got != commentedSettings {
		t.Errorf("remove did not restore settings.json byte for byte:\n%s", got)
	}
	if got := f.Read(trustedRel); got != commentedTrusted {
		t.Errorf("remove did not restore trustedFolders.json byte for byte:\n%s", got)
	}
}

func TestLegacySelectedAuthType(t *testing.T) {
	t.Run("coda's", func(t *testing.T) {
		f := newFixture(t, map[string]string{settingsRel: `{"selectedAuthType": "gemini-api-key", "ui": {"theme": "ANSI"}}`})
		p := f.Apply(target())
		if _, ok := f.ReadJSON(settingsRel).Get("selectedAuthType"); ok {
			t.Error("the legacy selectedAuthType coda wrote is still there")
		}
		if !strings.Contains(strings.Join(p.Notes, "\n"), "deleted the top-level selectedAuthType") {
			t.Errorf("notes %q", p.Notes)
		}
		f.Remove(target())
		doc := f.ReadJSON(settingsRel)
		if _, ok := doc.Get("selectedAuthType"); ok {
			t.Error("remove brought the legacy key back")
		}
		if got := doc.Keys(); !slices.Equal(got, []string{"ui"}) {
			t.Errorf("after remove keys %v", got)
		}
	})
	t.Run("user's", func(t *testing.T) {
		f := newFixture(t, map[string]string{settingsRel: `{"selectedAuthType": "oauth-personal"}`})
		p := f.Apply(target())
		if v, _ := f.ReadJSON(settingsRel).Get("selectedAuthType"); v != "oauth-personal" {
			t.Errorf("the user's selectedAuthType is %v", v)
		}
		if !strings.Contains(strings.Join(p.Notes, "\n"), "left the top-level selectedAuthType") {
			t.Errorf("notes %q", p.Notes)
		}
	})
}

func TestEnvMergedKeepsUserLines(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	got := f.Read(envRel)
	want := `# my Gemini settings
export GEMINI_SANDBOX=docker
GEMINI_API_KEY=` + plugintest.GoldenToken + `   # personal key
OTHER='a value # not a comment'

# trailing comment
GOOGLE_GEMINI_BASE_URL=https://example.cloud.databricks.com/serving-endpoints/google
GEMINI_API_KEY_AUTH_MECHANISM=bearer
GEMINI_MODEL=databricks-gemini-2-5-pro
`
	if got != want {
		t.Errorf(".env after setup:\n%s\nwant:\n%s", f.Scrub(strings.ReplaceAll(got, plugintest.GoldenToken, "<token>")), strings.ReplaceAll(want, plugintest.GoldenToken, "<token>"))
	}
	if bak, err := os.ReadFile(f.Path(envRel + ".bak")); err != nil || string(bak) != userEnv {
		t.Errorf("no backup of the user's .env (%v)", err)
	}
	f.Remove(target())
	if got := f.Read(envRel); got != userEnv {
		t.Errorf("remove did not restore the user's .env (with their own GEMINI_API_KEY):\n%s", got)
	}
}

func TestRotationRewritesOnlyTheKeyLine(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	before := f.Read(envRel)
	next := target()
	next.Token = "dapi-rotated-token-1111"
	p := f.Apply(next)
	if got := plugintest.Changed(p); !slices.Equal(got, []string{f.Path(envRel)}) {
		t.Fatalf("a rotation changes %v, want only ~/.gemini/.env", got)
	}
	after := f.Read(envRel)
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
	if strings.Contains(after, plugintest.GoldenToken) {
		t.Error("the old token is still in .env")
	}
	// No backup of a file that holds a token: it would keep the old one.
	if bak, _ := os.ReadFile(f.Path(envRel + ".bak")); strings.Contains(string(bak), plugintest.GoldenToken) {
		t.Error(".env.bak holds the previous token")
	}
}

func TestEmptyTokenRemovesKey(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	revoked := target()
	revoked.Token = ""
	p := f.Apply(revoked)
	if got := plugintest.Changed(p); !slices.Equal(got, []string{f.Path(envRel)}) {
		t.Errorf("revoking changes %v, want only .env", got)
	}
	d := f.dotenv()
	if _, ok := d.Get(keyAPIKey); ok {
		t.Error("GEMINI_API_KEY survived an empty token")
	}
	if v, _ := d.Get(keyBaseURL); v == "" {
		t.Error("the rest of the configuration went with the token")
	}
	if p := f.Plan(revoked); !p.Empty() {
		t.Errorf("a second plan without a token changes %v", plugintest.Changed(p))
	}
	if st := f.Status(revoked); st.State != configurator.StateConfigured || !strings.Contains(st.Detail, "no token") {
		t.Errorf("status %s: %s", st.State, st.Detail)
	}
	if st := f.Status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "holds no token") {
		t.Errorf("status with a token %s: %s", st.State, st.Detail)
	}
}

// notes joins a plan's notes, one a line.
func notes(p configurator.Plan) string { return strings.Join(p.Notes, "\n") }

// recordedTrust lists the folders coda's record holds trustedFolders.json
// rules for.
func (f *fixture) recordedTrust() []string {
	f.T.Helper()
	data, err := os.ReadFile(filepath.Join(f.State, "plugins", "gemini.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.T.Fatal(err)
	}
	var rec struct {
		Files []struct {
			Path string
			Keys []struct{ Key []string }
		}
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		f.T.Fatalf("the record: %v", err)
	}
	var out []string
	for _, file := range rec.Files {
		if file.Path == f.Path(trustedRel) {
			for _, k := range file.Keys {
				out = append(out, strings.Join(k.Key, "."))
			}
		}
	}
	return out
}

// TestTrustLeftToTheUser: without --gemini-trust-home coda never writes,
// widens or overrides a trust rule, and says how Gemini CLI decides.
func TestTrustLeftToTheUser(t *testing.T) {
	// status explains trust once: about the current folder ($WD) when
	// Gemini CLI would not read ~/.gemini/.env there, in general otherwise.
	for name, tc := range map[string]struct{ trusted, status string }{
		"none":       {"", "Gemini CLI does not trust $WD yet, so it reads no ~/.gemini/.env there until you trust the folder (it asks the first time it starts there; coda setup --gemini-trust-home trusts your whole home)"},
		"others":     {userTrusted, "Gemini CLI does not trust $WD yet"},
		"distrusted": {`{"$HOME": "DO_NOT_TRUST"}` + "\n", "~/.gemini/trustedFolders.json marks $HOME DO_NOT_TRUST, so Gemini CLI started in $WD reads no ~/.gemini/.env"},
		"trusted":    {`{"$HOME": "TRUST_PARENT"}` + "\n", "Gemini CLI reads ~/.gemini/.env only in folders you trust (it asks the first time it starts in one); coda setup --gemini-trust-home trusts your whole home"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			trusted := strings.ReplaceAll(tc.trusted, "$HOME", f.Home)
			wantStatus := strings.NewReplacer("$HOME", f.Home, "$WD", f.Wd).Replace(tc.status)
			if trusted != "" {
				f.Write(trustedRel, trusted)
			}
			p := f.Apply(target())
			if slices.Contains(plugintest.Changed(p), f.Path(trustedRel)) {
				t.Errorf("setup changes trustedFolders.json")
			}
			switch {
			case trusted == "" && f.Exists(trustedRel):
				t.Errorf("setup created trustedFolders.json:\n%s", f.Read(trustedRel))
			case trusted != "" && f.Read(trustedRel) != trusted:
				t.Errorf("trustedFolders.json changed:\n%s", f.Read(trustedRel))
			}
			if got := f.recordedTrust(); got != nil {
				t.Errorf("coda records trust rules %v it did not write", got)
			}
			want := "Gemini CLI reads ~/.gemini/.env only in folders you trust (it asks the first time it starts in one), and coda leaves trust to you: coda setup --gemini-trust-home trusts every folder under " + f.Home
			if !slices.Contains(p.Notes, want) {
				t.Errorf("notes %q, want %q", p.Notes, want)
			}
			st := f.Status(target())
			if st.State != configurator.StateConfigured || !strings.Contains(st.Detail, wantStatus) || strings.Count(st.Detail, "trusts your whole home") > 1 {
				t.Errorf("status %s: %s\nwant it to say once: %s", st.State, st.Detail, wantStatus)
			}
			f.Remove(target())
			if trusted != "" && f.Read(trustedRel) != trusted {
				t.Errorf("remove changed trustedFolders.json:\n%s", f.Read(trustedRel))
			}
		})
	}
	t.Run("folderTrustOff", func(t *testing.T) {
		f := newFixture(t, map[string]string{settingsRel: `{"security": {"folderTrust": {"enabled": false}}}`})
		p := f.Apply(target())
		if strings.Contains(notes(p), "trust") {
			t.Errorf("a note on trust although folder trust is off: %q", p.Notes)
		}
	})
}

// TestTrustHome: --gemini-trust-home trusts HOME when no rule decides it,
// and never overrides one that does.
func TestTrustHome(t *testing.T) {
	t.Run("created", func(t *testing.T) {
		f := newFixture(t, nil)
		p := f.Apply(trustHomeTarget())
		if v, _ := f.ReadJSON(trustedRel).Get(f.Home); v != trustFolder {
			t.Errorf("HOME is %v", v)
		}
		want := "trusts " + f.Home + " in ~/.gemini/trustedFolders.json (--gemini-trust-home), so Gemini CLI reads ~/.gemini/.env in every folder under it: their .gemini settings, .env files and tool auto-approval load without asking"
		if !slices.Contains(p.Notes, want) {
			t.Errorf("notes %q, want %q", p.Notes, want)
		}
		if st := f.Status(trustHomeTarget()); st.State != configurator.StateConfigured || !strings.Contains(st.Detail, "coda trusts "+f.Home+" for Gemini CLI (--gemini-trust-home)") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		f.Remove(trustHomeTarget())
		for _, rel := range []string{trustedRel, settingsRel, envRel} {
			if f.Exists(rel) {
				t.Errorf("%s that coda created survived remove", rel)
			}
		}
	})
	t.Run("otherFolders", func(t *testing.T) {
		f := newFixture(t, map[string]string{trustedRel: userTrusted})
		f.Apply(trustHomeTarget())
		doc := f.ReadJSON(trustedRel)
		if got := doc.Keys(); !slices.Equal(got, []string{"/srv/projects", "/opt/untrusted", f.Home}) {
			t.Errorf("keys %v", got)
		}
		info, _ := os.Stat(f.Path(trustedRel))
		if info.Mode().Perm() != 0o644 {
			t.Errorf("the user's file mode changed to %o", info.Mode().Perm())
		}
		f.Remove(trustHomeTarget())
		if got := f.Read(trustedRel); got != userTrusted {
			t.Errorf("remove did not restore trustedFolders.json byte for byte:\n%s", got)
		}
	})
	// Rules that already decide HOME's trust stay as they are: those that
	// trust it need nothing, those that do not are the user's decision.
	for _, tc := range []struct {
		name, rule, level string
		trusted           bool
	}{
		{"homeTrustFolder", "$HOME", trustFolder, true},
		{"homeTrustParent", "$HOME", trustParent, true},
		{"parentTrusted", "$PARENT", trustFolder, true},
		{"homeDistrusted", "$HOME", "DO_NOT_TRUST", false},
		{"parentDistrusted", "$PARENT", "DO_NOT_TRUST", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			rule := strings.NewReplacer("$HOME", f.Home, "$PARENT", filepath.Dir(f.Home)).Replace(tc.rule)
			content := `{"` + rule + `": "` + tc.level + `"}` + "\n"
			f.Write(trustedRel, content)
			p := f.Apply(trustHomeTarget())
			if slices.Contains(plugintest.Changed(p), f.Path(trustedRel)) || f.Read(trustedRel) != content {
				t.Errorf("coda changed a rule that decides HOME's trust:\n%s", f.Read(trustedRel))
			}
			if got := f.recordedTrust(); got != nil {
				t.Errorf("coda records trust rules %v it did not write", got)
			}
			st := f.Status(trustHomeTarget())
			if st.State != configurator.StateConfigured {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
			if !tc.trusted {
				want := "left DO_NOT_TRUST for " + rule + " in ~/.gemini/trustedFolders.json as it is: coda never overrides it, so --gemini-trust-home changes nothing until you remove that rule yourself"
				if !slices.Contains(p.Notes, want) {
					t.Errorf("notes %q, want %q", p.Notes, want)
				}
				if !strings.Contains(st.Detail, "marks "+rule+" DO_NOT_TRUST, which coda never overrides") {
					t.Errorf("status detail %q", st.Detail)
				}
			}
			f.Remove(trustHomeTarget())
			if f.Read(trustedRel) != content {
				t.Errorf("remove changed the user's rule:\n%s", f.Read(trustedRel))
			}
		})
	}
	t.Run("stale", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(trustHomeTarget())
		f.Write(trustedRel, "{}\n") // the user deleted coda's rule
		st := f.Status(trustHomeTarget())
		if st.State != configurator.StateStale || !strings.Contains(st.Detail, f.Home+" is not trusted in ~/.gemini/trustedFolders.json, although you set up with --gemini-trust-home: run coda setup gemini --gemini-trust-home") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		next := trustHomeTarget()
		next.Token = "dapi-next-token-2222"
		f.Write(trustedRel, `{"`+f.Home+`": "TRUST_FOLDER"}`)
		if st := f.Status(next); st.State != configurator.StateStale || !strings.Contains(st.Detail, "): run coda setup gemini --gemini-trust-home") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("userChangedCodasRule", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(trustHomeTarget())
		changed := `{"` + f.Home + `": "DO_NOT_TRUST"}` + "\n"
		f.Write(trustedRel, changed)
		p := f.Apply(trustHomeTarget())
		if f.Read(trustedRel) != changed || !strings.Contains(notes(p), "left DO_NOT_TRUST") {
			t.Errorf("trustedFolders.json %s, notes %q", f.Read(trustedRel), p.Notes)
		}
		if got := f.recordedTrust(); got != nil {
			t.Errorf("coda still records %v as its own", got)
		}
		f.Remove(trustHomeTarget())
		if f.Read(trustedRel) != changed {
			t.Errorf("remove took the user's DO_NOT_TRUST:\n%s", f.Read(trustedRel))
		}
	})
}

// TestTrustTakenBack: a setup without --gemini-trust-home takes back the
// rule an earlier one wrote, and keeps the rules the user added since.
func TestTrustTakenBack(t *testing.T) {
	t.Run("createdFile", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(trustHomeTarget())
		if st := f.Status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "still holds coda's TRUST_FOLDER rule for "+f.Home) {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		p := f.Apply(target())
		if !strings.Contains(notes(p), "took back the TRUST_FOLDER rule for "+f.Home+" that coda wrote to ~/.gemini/trustedFolders.json") {
			t.Errorf("notes %q", p.Notes)
		}
		if f.Exists(trustedRel) {
			t.Errorf("trustedFolders.json that coda created and emptied survives:\n%s", f.Read(trustedRel))
		}
		if got := f.recordedTrust(); got != nil {
			t.Errorf("the record still holds %v", got)
		}
		if p := f.Plan(target()); !p.Empty() {
			t.Errorf("a second setup changes %v", plugintest.Changed(p))
		}
		if st := f.Status(target()); st.State != configurator.StateConfigured {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("rulesAddedSince", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(trustHomeTarget())
		// Gemini CLI writes the user's answers into the file coda created.
		doc := f.ReadJSON(trustedRel)
		doc.Set("/srv/projects", trustFolder)
		f.Write(trustedRel, string(jsonedit.Marshal(doc)))
		f.Apply(target())
		if got := f.ReadJSON(trustedRel).Keys(); !slices.Equal(got, []string{"/srv/projects"}) {
			t.Errorf("keys %v", got)
		}
		// Once given back, the file is the user's: trusting HOME again
		// and removing leaves their rule and the file.
		f.Apply(trustHomeTarget())
		f.Remove(trustHomeTarget())
		if got := f.ReadJSON(trustedRel).Keys(); !slices.Equal(got, []string{"/srv/projects"}) {
			t.Errorf("after remove keys %v", got)
		}
	})
	t.Run("userFile", func(t *testing.T) {
		f := newFixture(t, map[string]string{trustedRel: commentedTrusted})
		f.Apply(trustHomeTarget())
		f.Apply(target())
		if got := f.Read(trustedRel); got != commentedTrusted {
			t.Errorf("taking back did not restore trustedFolders.json byte for byte:\n%s", got)
		}
	})
}

// TestOlderCodaTrust: the trust an older coda gave (HOME trusted always,
// the user's DO_NOT_TRUST replaced), as its version 1 record tells, is
// taken back by the next setup or by remove.
func TestOlderCodaTrust(t *testing.T) {
	// olderCoda is the state an older coda left for a user who had files
	// (legacy "existing"), or who had marked HOME DO_NOT_TRUST (legacy
	// "distrusted").
	olderCoda := func(t *testing.T, legacy string) *fixture {
		var f *fixture
		if legacy == "existing" {
			f = newFixture(t, userFiles())
			f.Apply(trustHomeTarget())
		} else {
			f = newFixture(t, nil)
			f.Write(trustedRel, `{"`+f.Home+`": "TRUST_FOLDER"}`+"\n")
			f.Apply(target())
		}
		f.WriteLegacyRecord(legacy)
		return f
	}
	t.Run("setup", func(t *testing.T) {
		f := olderCoda(t, "existing")
		if st := f.Status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "TRUST_FOLDER rule for "+f.Home) {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		f.Apply(target())
		if got := f.Read(trustedRel); got != userTrusted {
			t.Errorf("setup did not take back the older coda's rule:\n%s", got)
		}
		f.Remove(target())
		for rel, want := range userFiles() {
			if got := f.Read(rel); got != want {
				t.Errorf("remove did not restore %s:\n%s", rel, got)
			}
		}
	})
	t.Run("setupTrustHome", func(t *testing.T) {
		f := olderCoda(t, "existing")
		if p := f.Plan(trustHomeTarget()); !p.Empty() {
			t.Errorf("with --gemini-trust-home the older coda's state changes:\n%s", configurator.Diff(p))
		}
		if st := f.Status(trustHomeTarget()); st.State != configurator.StateConfigured {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("remove", func(t *testing.T) {
		f := olderCoda(t, "existing")
		f.Remove(target())
		if got := f.Read(trustedRel); got != userTrusted {
			t.Errorf("remove did not take back the older coda's rule:\n%s", got)
		}
	})
	for name, tgt := range map[string]configurator.Target{"distrustPutBack": target(), "distrustPutBackTrustHome": trustHomeTarget()} {
		t.Run(name, func(t *testing.T) {
			f := olderCoda(t, "distrusted")
			if st := f.Status(tgt); st.State != configurator.StateStale || !strings.Contains(st.Detail, "coda replaced your DO_NOT_TRUST for "+f.Home) {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
			p := f.Apply(tgt)
			if v, _ := f.ReadJSON(trustedRel).Get(f.Home); v != "DO_NOT_TRUST" {
				t.Errorf("HOME is %v, want the user's DO_NOT_TRUST back", v)
			}
			if !strings.Contains(notes(p), "put back your DO_NOT_TRUST for "+f.Home) || strings.Contains(notes(p), "left DO_NOT_TRUST") {
				t.Errorf("notes %q", p.Notes)
			}
			if p := f.Plan(tgt); !p.Empty() {
				t.Errorf("a second setup changes %v", plugintest.Changed(p))
			}
			f.Remove(tgt)
			if v, _ := f.ReadJSON(trustedRel).Get(f.Home); v != "DO_NOT_TRUST" {
				t.Errorf("after remove HOME is %v", v)
			}
		})
	}
	t.Run("removeDistrusted", func(t *testing.T) {
		f := olderCoda(t, "distrusted")
		f.Remove(target())
		if got := f.Read(trustedRel); got != `{"`+f.Home+`": "DO_NOT_TRUST"}`+"\n" {
			t.Errorf("remove did not put DO_NOT_TRUST back:\n%s", got)
		}
	})
}

func TestMalformedRefused(t *testing.T) {
	cases := []struct {
		rel, content, want string
	}{
		// Gemini CLI takes comments, not trailing commas.
		{settingsRel, "{\n  // comment\n  \"ui\": {\"theme\": \"secret-looking-value\",}\n}\n", "~/.gemini/settings.json is not valid JSON (line 3:41: a trailing comma"},
		{settingsRel, "{\n  \"ui\": {\"theme\": \"secret-looking-value\" \"x\"}\n}\n", "~/.gemini/settings.json is not valid JSON (line 2:42: invalid character after object value"},
		{settingsRel, `{"model": "secret-looking-value"}`, "~/.gemini/settings.json: cannot set model.name: model is a string"},
		{trustedRel, "{\"/srv\": \"secret-looking-value\"", "~/.gemini/trustedFolders.json is not valid JSON"},
		{envRel, "OK=1\nsecret-looking-value\n", "~/.gemini/.env is not a valid .env file (line 2"},
		{envRel, "KEY=\"secret-looking-value\n", "~/.gemini/.env is not a valid .env file (line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			f := newFixture(t, map[string]string{tc.rel: tc.content})
			_, err := f.C.Plan(f.Env, target())
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
				if _, err := f.C.PlanRemove(f.Env, target()); err == nil {
					t.Error("PlanRemove accepted it")
				}
			}
			if f.Read(tc.rel) != tc.content {
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
				f.Write(settingsRel, tc.settings)
			}
			f.Apply(trustHomeTarget())
			for _, fl := range tc.files {
				f.Write(fl.rel, fl.content)
			}
			cwd := f.Path(tc.cwd)
			if err := os.MkdirAll(cwd, 0o755); err != nil {
				t.Fatal(err)
			}
			got := ProjectEnvWarning(f.Env, cwd)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("warning %q, want %q", got, tc.want)
			}
			if strings.Contains(got, "\n") {
				t.Error("the warning is not one line")
			}
		})
	}
	t.Run("untrustedByDefault", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(target())
		cwd := f.Path("proj")
		if err := os.MkdirAll(cwd, 0o755); err != nil {
			t.Fatal(err)
		}
		got := ProjectEnvWarning(f.Env, cwd)
		if !strings.Contains(got, "does not trust "+cwd) || !strings.Contains(got, "reads no ~/.gemini/.env") || !strings.Contains(got, "--gemini-trust-home") {
			t.Errorf("warning %q", got)
		}
		f.Write(trustedRel, `{"`+cwd+`": "TRUST_FOLDER"}`)
		if got := ProjectEnvWarning(f.Env, cwd+"/sub"); got != "" {
			t.Errorf("a folder under a trusted one warns %q", got)
		}
		f.Write(trustedRel, `{"`+f.Home+`": "TRUST_FOLDER", "`+cwd+`": "DO_NOT_TRUST"}`)
		if got := ProjectEnvWarning(f.Env, cwd); !strings.Contains(got, "marks "+cwd+" DO_NOT_TRUST") {
			t.Errorf("a distrusted folder under a trusted HOME warns %q", got)
		}
		f.Write(settingsRel, `{"security": {"folderTrust": {"enabled": false}}}`)
		if got := ProjectEnvWarning(f.Env, cwd); got != "" {
			t.Errorf("with folder trust off it warns %q", got)
		}
	})
	t.Run("outsideHomeUntrusted", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(trustHomeTarget())
		elsewhere := t.TempDir()
		if got := ProjectEnvWarning(f.Env, elsewhere); !strings.Contains(got, "does not trust "+elsewhere) {
			t.Errorf("warning %q", got)
		}
		doc := f.ReadJSON(trustedRel)
		doc.Set(elsewhere, "TRUST_FOLDER")
		f.Write(trustedRel, string(jsonedit.Marshal(doc)))
		if got := ProjectEnvWarning(f.Env, elsewhere); got != "" {
			t.Errorf("a trusted folder warns %q", got)
		}
	})
	t.Run("inStatus", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(trustHomeTarget())
		f.Write("proj/.env", "X=1\n")
		f.Wd = f.Path("proj")
		if st := f.Status(target()); !strings.Contains(st.Detail, "proj/.env hides") {
			t.Errorf("status detail %q", st.Detail)
		}
	})
}

func TestGeminiHomeAndTrustedFoldersPath(t *testing.T) {
	f := newFixture(t, nil)
	gh := filepath.Join(f.Home, "alt")
	tf := filepath.Join(f.Home, "trust", "folders.json")
	f.Vars["GEMINI_CLI_HOME"] = gh
	f.Vars["GEMINI_CLI_TRUSTED_FOLDERS_PATH"] = tf
	if p := f.Plan(target()); slices.Contains(plugintest.Changed(p), tf) {
		t.Errorf("without --gemini-trust-home coda plans %s", tf)
	}
	p := f.Apply(trustHomeTarget())
	want := []string{filepath.Join(gh, ".gemini", "settings.json"), tf, filepath.Join(gh, ".gemini", ".env")}
	for _, w := range want {
		if !slices.Contains(plugintest.Changed(p), w) {
			t.Errorf("%s not planned; planned %v", w, plugintest.Changed(p))
		}
	}
	if f.Exists(settingsRel) {
		t.Error("wrote ~/.gemini although GEMINI_CLI_HOME is set")
	}
	// The trusted folder stays HOME: that is where the user works.
	o := f.ReadJSON("trust/folders.json")
	if v, _ := o.Get(f.Home); v != trustFolder {
		t.Errorf("trusted folders %s", jsonedit.Marshal(o))
	}
}

func TestGeminiDirMadePrivate(t *testing.T) {
	f := newFixture(t, map[string]string{settingsRel: "{}\n"})
	if err := os.Chmod(f.Path(".gemini"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := f.Apply(target())
	if !strings.Contains(strings.Join(p.Notes, "\n"), "makes ~/.gemini private (0700)") {
		t.Errorf("notes %q", p.Notes)
	}
	dir, _ := os.Stat(f.Path(".gemini"))
	env, _ := os.Stat(f.Path(envRel))
	if dir.Mode().Perm() != 0o700 || env.Mode().Perm() != 0o600 {
		t.Errorf(".gemini %o, .env %o; want 0700 and 0600", dir.Mode().Perm(), env.Mode().Perm())
	}
	side, _ := os.Stat(filepath.Join(f.State, "plugins", "gemini.json"))
	if side == nil || side.Mode().Perm() != 0o600 {
		t.Errorf("the record of originals (may hold the user's key) is not 0600: %v", side)
	}
}

func TestExportedVariablesNoted(t *testing.T) {
	f := newFixture(t, nil)
	f.Vars["GEMINI_API_KEY"] = "AIzaExported"
	f.Vars["GOOGLE_GEMINI_BASE_URL"] = "https://generativelanguage.googleapis.com"
	p := f.Apply(target())
	notes := strings.Join(p.Notes, "\n")
	for _, k := range []string{"GEMINI_API_KEY is exported", "GOOGLE_GEMINI_BASE_URL is exported"} {
		if !strings.Contains(notes, k) {
			t.Errorf("no note %q in %q", k, notes)
		}
	}
	if strings.Contains(notes, "AIzaExported") {
		t.Error("a note shows an exported value")
	}
	if st := f.Status(target()); !strings.Contains(st.Detail, "GEMINI_API_KEY is exported") {
		t.Errorf("status detail %q", st.Detail)
	}
}

func TestStatus(t *testing.T) {
	t.Run("foreign", func(t *testing.T) {
		f := newFixture(t, map[string]string{envRel: "GOOGLE_GEMINI_BASE_URL=" + plugintest.GoldenHost + "/serving-endpoints/google\nGEMINI_API_KEY=dapi-hand-written\n"})
		st := f.Status(target())
		if st.State != configurator.StateForeign || strings.Contains(st.Detail, "dapi-hand-written") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		// Remove leaves a configuration coda has no record of writing.
		p, err := f.C.PlanRemove(f.Env, target())
		if err != nil || !p.Empty() {
			t.Errorf("remove of a foreign configuration: %v, %v", plugintest.Changed(p), err)
		}
	})
	t.Run("configured", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(target())
		st := f.Status(target())
		if st.State != configurator.StateConfigured || !strings.Contains(st.Detail, "cannot refresh it while running") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("staleToken", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(target())
		next := target()
		next.Token = "dapi-next-token-2222"
		st := f.Status(next)
		if st.State != configurator.StateStale || !strings.Contains(st.Detail, "token") || !strings.Contains(st.Detail, "cannot refresh it while running") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		if strings.Contains(st.Detail, "dapi-") {
			t.Error("the detail holds a token")
		}
	})
	t.Run("staleModel", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(target())
		tgt := target()
		tgt.Models = map[string]string{"model": "databricks-gemini-3-pro"}
		if st := f.Status(tgt); st.State != configurator.StateStale || !strings.Contains(st.Detail, "databricks-gemini-3-pro") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("absent", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Env.LookPath = func(string) (string, error) { return "", os.ErrNotExist }
		if st := f.Status(target()); st.State != configurator.StateAbsent {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
}

func TestSecondSetupKeepsOriginals(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	other := target()
	other.Models = map[string]string{"model": "databricks-gemini-3-pro"}
	other.Token = "dapi-other-token-3333"
	f.Apply(other)
	f.Remove(other)
	if got := f.Read(envRel); got != userEnv {
		t.Errorf("after two setups remove restored:\n%s", got)
	}
	if v, _ := f.ReadJSON(settingsRel).GetPath("model", "name"); v != "gemini-2.5-flash" {
		t.Errorf("model.name = %v after remove", v)
	}
	if v, _ := f.ReadJSON(settingsRel).GetPath("security", "auth", "selectedType"); v != "oauth-personal" {
		t.Errorf("selectedType = %v after remove", v)
	}
}

func TestNewGeminiDirIsPrivate(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(trustHomeTarget())
	for rel, want := range map[string]os.FileMode{".gemini": 0o700, envRel: 0o600, trustedRel: 0o600, settingsRel: 0o644} {
		info, err := os.Stat(f.Path(rel))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s mode %o, want %o", rel, info.Mode().Perm(), want)
		}
	}
}

// TestLegacyRecord: a user who set up with the coda before the shared
// record (its sidecar of version 1) still gets the originals back. That
// coda always trusted HOME: set up with --gemini-trust-home, the state
// is as it should be (TestOlderCodaTrust takes the trust back).
func TestLegacyRecord(t *testing.T) {
	for name, files := range map[string]map[string]string{"empty": nil, "existing": userFiles()} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, files)
			f.Apply(trustHomeTarget())
			f.WriteLegacyRecord(name)
			if st := f.Status(trustHomeTarget()); st.State != configurator.StateConfigured {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
			// The same record in the older layout: nothing to write.
			if p := f.Plan(trustHomeTarget()); !p.Empty() {
				t.Errorf("a plan rewrites the legacy record:\n%s", configurator.Diff(p))
			}
			f.Remove(trustHomeTarget())
			for _, rel := range []string{settingsRel, trustedRel, envRel} {
				switch {
				case files == nil && f.Exists(rel):
					t.Errorf("%s that coda created survives remove:\n%s", rel, f.Read(rel))
				case files != nil && f.Read(rel) != files[rel]:
					t.Errorf("remove did not restore %s:\n%s", rel, f.Read(rel))
				}
			}
			if plugintest.Exists(filepath.Join(f.State, "plugins", "gemini.json")) {
				t.Error("the sidecar survives remove")
			}
		})
	}
}

// proxiedTarget is Gemini CLI through coda's proxy: a local key and the
// proxy's endpoints.
func proxiedTarget() configurator.Target {
	t := target()
	t.Proxied = true
	t.Token = "coda-local-" + strings.Repeat("k", 43)
	t.Endpoints.Gemini = "http://127.0.0.1:41234/serving-endpoints/google"
	return t
}

// Through coda's proxy, .env's NO_PROXY covers 127.0.0.1, so an
// HTTPS_PROXY does not take Gemini CLI's requests to coda's proxy; the
// user's own value is kept (extended) and comes back on remove and when
// the proxy is turned off.
func TestNoProxyCoversTheProxy(t *testing.T) {
	for _, tc := range []struct {
		name, before, during string
	}{
		{"none", "", "127.0.0.1,localhost"},
		{"the user's", "corp.example.com", "corp.example.com,127.0.0.1,localhost"},
		{"already covered", "localhost,127.0.0.1", "localhost,127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := "# mine\nOTHER=1\n"
			if tc.before != "" {
				env += "NO_PROXY=" + tc.before + "\n"
			}
			f := newFixture(t, map[string]string{envRel: env})
			f.Apply(proxiedTarget())
			if got, _ := f.dotenv().Get("NO_PROXY"); got != tc.during {
				t.Errorf("NO_PROXY = %q, want %q", got, tc.during)
			}
			if st := f.Status(proxiedTarget()); st.State != configurator.StateConfigured {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
			if p := f.Plan(proxiedTarget()); !p.Empty() {
				t.Errorf("a second setup changes files:\n%s", configurator.Diff(p))
			}
			// Off the proxy: the user's value comes back.
			f.Apply(target())
			got, ok := f.dotenv().Get("NO_PROXY")
			if ok != (tc.before != "") || got != tc.before {
				t.Errorf("after --proxy off: NO_PROXY = %q (%v), want %q", got, ok, tc.before)
			}
			// Through the proxy again, then remove: the user's file as it was.
			f.Apply(proxiedTarget())
			f.Remove(proxiedTarget())
			if f.Exists(envRel) && f.Read(envRel) != env {
				t.Errorf("remove left:\n%s\nwant:\n%s", f.Read(envRel), env)
			}
		})
	}
	// A user's NO_PROXY that lost loopback makes the setup stale.
	f := newFixture(t, nil)
	f.Apply(proxiedTarget())
	f.Write(envRel, strings.Replace(f.Read(envRel), "NO_PROXY=127.0.0.1,localhost", "NO_PROXY=corp.example.com", 1))
	if st := f.Status(proxiedTarget()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "NO_PROXY") {
		t.Errorf("status %s: %s", st.State, st.Detail)
	}
}
