package pi

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	modelsRel   = ".pi/agent/models.json"
	settingsRel = ".pi/agent/settings.json"
	authRel     = ".pi/agent/auth.json"

	goldenKey = "!/usr/local/bin/coda token -p default"
)

func target() configurator.Target { return plugintest.Target() }

// proxied is the golden target through coda's proxy.
func proxied() configurator.Target {
	return plugintest.ProxiedTarget(8787, "coda-local-golden-key-000000000000000000000")
}

// userModels is a models.json with // comments, trailing commas (both of
// which Pi reads), an unusual indent and the user's own providers.
const userModels = `{
    // my local models
    "providers": {
        "ollama": {
            "baseUrl": "http://localhost:11434/v1",
            "api": "openai-completions",
            "apiKey": "ollama",
            "models": [{"id": "llama3.1:8b"},],
        },
        "anthropic": {"baseUrl": "https://proxy.example.org"}, // my proxy
    },
}
`

// userSettings is a settings.json as Pi writes it (two spaces, no final
// line break), with the user's own default model.
const userSettings = `{
  "lastChangelogVersion": "0.73.1",
  "defaultProvider": "anthropic",
  "defaultModel": "claude-opus-4-5",
  "defaultThinkingLevel": "high",
  "theme": "dark"
}`

const userAuth = `{"anthropic": {"type": "api_key", "key": "sk-ant-user-secret"}}` + "\n"

func userFiles() map[string]string {
	return map[string]string{modelsRel: userModels, settingsRel: userSettings, authRel: userAuth}
}

func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New:       New,
		Target:    target,
		Binaries:  []string{"pi"},
		UserFiles: userFiles(),
		Malformed: map[string]string{
			modelsRel:   "{\n  \"providers\": {\n}\n",
			settingsRel: "{\n  // Pi reads settings.json with JSON.parse\n  \"theme\": \"dark\"\n}\n",
		},
		Split: split,
	})
}

// split decodes a managed file into what coda does not own and what it
// does.
func split(rel string, data []byte) (foreign, owned any, err error) {
	switch filepath.Base(rel) {
	case "models.json":
		return plugintest.SplitJSON(data, jsonedit.JWCC, []string{keyProviders, ProviderID})
	case "settings.json":
		return plugintest.SplitJSON(data, jsonedit.Strict, []string{keyDefaultProvider}, []string{keyDefaultModel})
	}
	return string(data), nil, nil
}

func newFixture(t *testing.T, files map[string]string) *plugintest.Fixture {
	t.Helper()
	f := plugintest.NewFixture(t, New(), files)
	f.Install("pi")
	return f
}

// --- golden files ------------------------------------------------------------

func TestGolden(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		tgt    func() configurator.Target
		remove bool
	}{
		{"empty", nil, target, false},
		{"existing", userFiles(), target, false},
		{"existing-removed", userFiles(), target, true},
		{"proxied", nil, proxied, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			f.CheckGolden(t, tc.name, tc.tgt(), tc.remove)
		})
	}
}

// --- merge and remove ----------------------------------------------------------

func TestExistingFilesMergedAndRestored(t *testing.T) {
	f := newFixture(t, userFiles())
	p := f.Apply(target())
	if want := []string{f.Path(modelsRel), f.Path(settingsRel)}; !slices.Equal(plugintest.Changed(p)[1:], want) {
		t.Errorf("changed %v, want the sidecar, then %v", plugintest.Changed(p), want)
	}

	models := f.Read(modelsRel)
	for _, keep := range []string{"    // my local models\n", `"models": [{"id": "llama3.1:8b"},],`, `"anthropic": {"baseUrl": "https://proxy.example.org"}, // my proxy`} {
		if !strings.Contains(models, keep) {
			t.Errorf("models.json lost %q:\n%s", keep, models)
		}
	}
	doc, err := jsonedit.ParseDialect([]byte(models), jsonedit.JWCC)
	if err != nil {
		t.Fatal(err)
	}
	providers, _ := doc.Get(keyProviders)
	if got := providers.(*jsonedit.Object).Keys(); !slices.Equal(got, []string{"ollama", "anthropic", ProviderID}) {
		t.Errorf("providers %v", got)
	}
	for path, want := range map[string]string{"baseUrl": plugintest.GoldenHost + "/serving-endpoints", "api": "openai-completions", "apiKey": goldenKey} {
		if v, _ := doc.GetPath(keyProviders, ProviderID, path); v != want {
			t.Errorf("%s = %v, want %s", path, v, want)
		}
	}
	if !strings.HasSuffix(models, "    },\n}\n") {
		t.Errorf("the trailing comma style is lost:\n%s", models)
	}

	settings := f.ReadJSON(settingsRel)
	if got := settings.Keys(); !slices.Equal(got, []string{"lastChangelogVersion", "defaultProvider", "defaultModel", "defaultThinkingLevel", "theme"}) {
		t.Errorf("settings keys %v: coda's keys must stay where the user's were", got)
	}
	if v, _ := settings.Get(keyDefaultProvider); v != ProviderID {
		t.Errorf("defaultProvider = %v", v)
	}
	if v, _ := settings.Get(keyDefaultModel); v != DefaultModel {
		t.Errorf("defaultModel = %v", v)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "replaced your defaultProvider (coda setup --remove restores it)") {
		t.Errorf("notes %q", p.Notes)
	}
	for _, rel := range []string{modelsRel, settingsRel} {
		if !f.Exists(rel + ".bak") {
			t.Errorf("no backup of %s", rel)
		}
	}
	if got := f.FilesHolding(plugintest.GoldenToken); len(got) != 0 {
		t.Errorf("files hold the token: %v", got)
	}

	f.Remove(target())
	for rel, want := range userFiles() {
		if got := f.Read(rel); got != want {
			t.Errorf("remove did not restore %s byte for byte:\n%s", rel, got)
		}
	}
	if plugintest.Exists(filepath.Join(f.State, "plugins", "pi.json")) {
		t.Error("coda's record survived remove")
	}
}

func TestCreatedFilesDeletedOnRemove(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	for _, c := range []struct {
		rel  string
		perm os.FileMode
	}{{modelsRel, 0o600}, {settingsRel, 0o644}} {
		info, err := os.Stat(f.Path(c.rel))
		if err != nil || info.Mode().Perm() != c.perm {
			t.Errorf("%s: mode %v, %v; want %o", c.rel, info.Mode().Perm(), err, c.perm)
		}
	}
	f.Remove(target())
	for _, rel := range []string{modelsRel, settingsRel} {
		if f.Exists(rel) {
			t.Errorf("%s that coda created survived remove: %s", rel, f.Read(rel))
		}
	}

	// What Pi or the user added since stays, and so does the file.
	f = newFixture(t, nil)
	f.Apply(target())
	f.Write(settingsRel, strings.Replace(f.Read(settingsRel), "{\n", "{\n  \"lastChangelogVersion\": \"0.73.1\",\n", 1))
	f.Write(modelsRel, strings.Replace(f.Read(modelsRel), "{\n", "{\n  \"theme\": \"x\", // mine now\n", 1))
	f.Remove(target())
	if got := f.Read(settingsRel); got != "{\n  \"lastChangelogVersion\": \"0.73.1\"\n}\n" {
		t.Errorf("settings.json after remove:\n%s", got)
	}
	if got := f.Read(modelsRel); got != "{\n  \"theme\": \"x\" // mine now\n}\n" {
		t.Errorf("models.json after remove:\n%s", got)
	}
}

// TestProvidersObject: remove deletes the providers object only when coda
// created it.
func TestProvidersObject(t *testing.T) {
	cases := map[string]struct{ before, after string }{
		"created": {"{\n  \"theme\": \"x\"\n}\n", "{\n  \"theme\": \"x\"\n}\n"},
		"users":   {"{\n  \"providers\": {}\n}\n", "{\n  \"providers\": {}\n}\n"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{modelsRel: tc.before})
			f.Apply(target())
			f.Remove(target())
			if got := f.Read(modelsRel); got != tc.after {
				t.Errorf("after remove:\n%s\nwant\n%s", got, tc.after)
			}
		})
	}
}

func TestUserSettings(t *testing.T) {
	cases := map[string]struct {
		settings        string
		provider, model any // after remove; nil: absent
	}{
		"both":      {`{"defaultProvider": "openai", "defaultModel": "gpt-5"}`, "openai", "gpt-5"},
		"modelOnly": {`{"defaultModel": "gpt-5"}`, nil, "gpt-5"},
		"none":      {`{"theme": "light"}`, nil, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{settingsRel: tc.settings})
			f.Apply(target())
			// A second setup, for another model, keeps the record.
			tgt := target()
			tgt.Models = map[string]string{"model": "databricks-claude-haiku-4-5"}
			f.Apply(tgt)
			if v, _ := f.ReadJSON(settingsRel).Get(keyDefaultModel); v != "databricks-claude-haiku-4-5" {
				t.Errorf("defaultModel = %v", v)
			}
			f.Remove(tgt)
			doc := f.ReadJSON(settingsRel)
			for k, want := range map[string]any{keyDefaultProvider: tc.provider, keyDefaultModel: tc.model} {
				got, ok := doc.Get(k)
				if want == nil && ok || want != nil && got != want {
					t.Errorf("%s = %v (present %v) after remove, want %v", k, got, ok, want)
				}
			}
		})
	}
}

// TestModelPickedInPiKept: a model the user chose in Pi after setup (Pi
// writes defaultProvider and defaultModel together) stays on remove.
func TestModelPickedInPiKept(t *testing.T) {
	f := newFixture(t, map[string]string{settingsRel: `{"defaultProvider": "openai", "defaultModel": "gpt-5"}`})
	f.Apply(target())
	f.Write(settingsRel, `{"defaultProvider": "anthropic", "defaultModel": "claude-opus-4-5"}`)
	if st := f.Status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "defaultProvider in ~/.pi/agent/settings.json is not coda-databricks") {
		t.Errorf("status %s: %s", st.State, st.Detail)
	}
	f.Remove(target())
	if got := f.Read(settingsRel); got != `{"defaultProvider": "anthropic", "defaultModel": "claude-opus-4-5"}` {
		t.Errorf("remove changed the user's later choice: %s", got)
	}
	if f.Exists(modelsRel) {
		t.Errorf("models.json that coda created survived remove: %s", f.Read(modelsRel))
	}
}

func TestRemoveWithoutRecord(t *testing.T) {
	f := newFixture(t, map[string]string{settingsRel: `{"defaultProvider": "openai", "defaultModel": "gpt-5", "theme": "x"}`})
	f.Apply(target())
	if err := os.Remove(filepath.Join(f.State, "plugins", "pi.json")); err != nil {
		t.Fatal(err)
	}
	// A setup without the record must not take coda's own values for the
	// user's.
	f.Apply(target())
	f.Remove(target())
	doc := f.ReadJSON(settingsRel)
	if got := doc.Keys(); !slices.Equal(got, []string{"theme"}) {
		t.Errorf("settings keys after remove %v, want only theme", got)
	}
	if _, ok := f.ReadJSON(modelsRel).GetPath(keyProviders, ProviderID); ok {
		t.Error("coda's provider survived")
	}
}

func TestModelOverride(t *testing.T) {
	f := newFixture(t, nil)
	tgt := target()
	tgt.Models = map[string]string{"model": "databricks-gpt-5-2"}
	f.Apply(tgt)
	doc := f.ReadJSON(modelsRel)
	ms, _ := doc.GetPath(keyProviders, ProviderID, "models")
	want := []any{map[string]any{"id": "databricks-gpt-5-2", "name": "databricks-gpt-5-2", "contextWindow": "number:128000", "maxTokens": "number:16384"}}
	if got := plugintest.Plain(ms); !reflect.DeepEqual(got, want) {
		t.Errorf("models %#v, want %#v", got, want)
	}
	if v, _ := f.ReadJSON(settingsRel).Get(keyDefaultModel); v != "databricks-gpt-5-2" {
		t.Errorf("defaultModel = %v", v)
	}
	if st := f.Status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "model "+DefaultModel) {
		t.Errorf("status for the default model %s: %s", st.State, st.Detail)
	}
}

// --- the key command -------------------------------------------------------------

// TestKeyCommandQuoting runs the apiKey the way Pi does (/bin/sh -c, the
// text after "!") and checks that every argument arrives as it was.
func TestKeyCommandQuoting(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("SKIPPED: no sh on PATH, so the key command was NOT run")
	}
	argv := []string{"printf", `%s\n`, "/opt/my tools/coda", "it's", "$HOME", "`id`", "a;b", "-p", "default"}
	key := KeyCommand(configurator.Target{TokenCommand: argv})
	if !strings.HasPrefix(key, "!") {
		t.Fatalf("apiKey %q does not start with !", key)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, sh, "-c", key[1:]).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"), argv[2:]; !slices.Equal(got, want) {
		t.Errorf("the shell saw %q, want %q", got, want)
	}
}

// --- malformed files -------------------------------------------------------------

func TestMalformedRefused(t *testing.T) {
	cases := map[string]struct{ rel, content, want string }{
		"models syntax":         {modelsRel, "{\n  \"providers\": {\"x\": \"secret-looking-value\" \"y\"}\n}\n", "is not valid JSON (line 2:45"},
		"models block comment":  {modelsRel, "{\n  \"providers\": {} /* secret-looking-value */\n}\n", "is not JSON that Pi reads (line 2:19: a /* */ comment; Pi takes only // comments)"},
		"models array":          {modelsRel, "[\"secret-looking-value\"]\n", "is not a JSON object (found an array at line 1:1)"},
		"models providers":      {modelsRel, "{\"providers\": \"secret-looking-value\"}\n", "providers is not an object"},
		"models bom":            {modelsRel, "\xef\xbb\xbf{}\n", "byte order mark"},
		"settings comment":      {settingsRel, "{\n  // secret-looking-value\n  \"theme\": \"dark\"\n}\n", "a comment, which strict JSON does not allow"},
		"settings trailing":     {settingsRel, "{\"theme\": \"secret-looking-value\",}\n", "a trailing comma, which strict JSON does not allow"},
		"settings syntax error": {settingsRel, "{\"theme\": secret-looking-value}\n", "is not valid JSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{tc.rel: tc.content})
			_, err := f.C.Plan(f.Env, target())
			plugintest.Refused(t, "Plan", err, tc.rel, tc.want, "secret-looking-value")
			_, err = f.C.PlanRemove(f.Env, target())
			plugintest.Refused(t, "PlanRemove", err, tc.rel, tc.want, "secret-looking-value")
			_, err = f.C.Status(f.Env, target())
			plugintest.Refused(t, "Status", err, tc.rel, tc.want, "secret-looking-value")
			if f.Read(tc.rel) != tc.content {
				t.Error("the file was modified")
			}
		})
	}
}

// TestPiDialectAccepted: what Pi reads, coda reads, and keeps.
func TestPiDialectAccepted(t *testing.T) {
	cases := map[string]string{
		"line comments":      "{\n  // a \"quoted\" /* word */\n  \"providers\": {}, // end\n}\n",
		"slashes in strings": "{\"providers\": {\"x\": {\"baseUrl\": \"http://h/*x*/\", \"models\": [{\"id\": \"a//b\"}]}}}\n",
		"empty":              "",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{modelsRel: content})
			f.Apply(target())
			if content != "" && !strings.Contains(f.Read(modelsRel), strings.SplitN(content, "\"providers\"", 2)[0]) {
				t.Errorf("the head of the file changed:\n%s", f.Read(modelsRel))
			}
			f.Remove(target())
			if got := f.Read(modelsRel); content != "" && got != content {
				t.Errorf("remove did not restore the file:\n%s", got)
			}
		})
	}
}

// --- the agent directory ------------------------------------------------------------

func TestAgentDir(t *testing.T) {
	home := "/home/u"
	cases := map[string]struct{ value, want, err string }{
		"unset":      {"", "/home/u/.pi/agent", ""},
		"absolute":   {"/srv/pi/", "/srv/pi", ""},
		"tilde":      {"~", "/home/u", ""},
		"tilde path": {"~/dots/pi", "/home/u/dots/pi", ""},
		"relative":   {"dots/pi", "", "PI_CODING_AGENT_DIR is a relative path"},
		"tilde user": {"~bob/pi", "", "PI_CODING_AGENT_DIR is a relative path"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			env := configurator.Env{Home: home, Getenv: func(k string) string {
				if k == EnvAgentDir {
					return tc.value
				}
				return ""
			}}
			got, err := AgentDir(env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("AgentDir = %q, %v; want an error saying %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("AgentDir = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestAgentDirFromEnvironment(t *testing.T) {
	f := newFixture(t, nil)
	f.Vars[EnvAgentDir] = "~/dots/pi"
	p := f.Apply(target())
	for _, rel := range []string{"dots/pi/models.json", "dots/pi/settings.json"} {
		if !slices.Contains(plugintest.Changed(p), f.Path(rel)) || !f.Exists(rel) {
			t.Errorf("%s not planned and written; planned %v", rel, plugintest.Changed(p))
		}
	}
	if f.Exists(modelsRel) {
		t.Error("wrote ~/.pi/agent although PI_CODING_AGENT_DIR is set")
	}
	if d := f.C.Detect(f.Env); !slices.Equal(d.Files, []string{f.Path("dots/pi/models.json"), f.Path("dots/pi/settings.json")}) {
		t.Errorf("Detect files %v", d.Files)
	}

	f.Vars[EnvAgentDir] = "relative"
	if _, err := f.C.Plan(f.Env, target()); err == nil {
		t.Error("Plan accepted a relative PI_CODING_AGENT_DIR")
	}
	if d := f.C.Detect(f.Env); len(d.Files) != 0 || !d.Installed {
		t.Errorf("Detect with a relative dir: %+v", d)
	}
}

// TestAgentDirMoved: set up, then PI_CODING_AGENT_DIR changes and setup
// runs again; remove cleans both directories.
func TestAgentDirMoved(t *testing.T) {
	f := newFixture(t, map[string]string{settingsRel: `{"defaultProvider": "openai", "defaultModel": "gpt-5"}`})
	f.Apply(target())
	f.Vars[EnvAgentDir] = f.Path("other")
	f.Apply(target())
	f.Remove(target())
	if got := f.Read(settingsRel); got != `{"defaultProvider": "openai", "defaultModel": "gpt-5"}` {
		t.Errorf("the first directory's settings.json after remove: %s", got)
	}
	for _, rel := range []string{modelsRel, "other/models.json", "other/settings.json"} {
		if f.Exists(rel) {
			t.Errorf("%s survived remove: %s", rel, f.Read(rel))
		}
	}
}

// --- status ---------------------------------------------------------------------------

func TestStatus(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		apply  bool
		change func(*plugintest.Fixture, configurator.Target) configurator.Target
		state  configurator.State
		detail string
	}{
		{name: "absent", change: func(f *plugintest.Fixture, t configurator.Target) configurator.Target {
			f.Bins = map[string]bool{}
			return t
		}, state: configurator.StateAbsent, detail: "pi is not on PATH"},
		{name: "not configured", files: userFiles(), state: configurator.StateNotConfigured, detail: "no coda-databricks provider in ~/.pi/agent/models.json"},
		{name: "foreign", files: map[string]string{modelsRel: `{"providers": {"dbx": {"baseUrl": "` + plugintest.GoldenHost + `/serving-endpoints", "api": "openai-completions", "apiKey": "DATABRICKS_TOKEN"}}}`},
			state: configurator.StateForeign, detail: `provider "dbx" in ~/.pi/agent/models.json points at this workspace`},
		{name: "configured", apply: true, state: configurator.StateConfigured,
			detail: "provider coda-databricks at " + plugintest.GoldenHost + "/serving-endpoints, model databricks-claude-sonnet-4-6; Pi runs /usr/local/bin/coda token -p default before every request, so running sessions follow rotations"},
		{name: "rotated token", apply: true, change: func(_ *plugintest.Fixture, t configurator.Target) configurator.Target {
			t.Token = "dapi-rotated-token-1234"
			return t
		}, state: configurator.StateConfigured},
		{name: "other profile", apply: true, change: func(_ *plugintest.Fixture, t configurator.Target) configurator.Target {
			t.TokenCommand = []string{"/usr/local/bin/coda", "token", "-p", "work"}
			return t
		}, state: configurator.StateStale, detail: "coda-databricks runs /usr/local/bin/coda token -p default, not /usr/local/bin/coda token -p work: run coda setup pi"},
		{name: "other host", apply: true, change: func(_ *plugintest.Fixture, t configurator.Target) configurator.Target {
			t.Endpoints.Chat = "https://other.example.com/serving-endpoints"
			return t
		}, state: configurator.StateStale, detail: "coda-databricks points at " + plugintest.GoldenHost + "/serving-endpoints, not https://other.example.com/serving-endpoints"},
		{name: "provider deleted", apply: true, change: func(f *plugintest.Fixture, t configurator.Target) configurator.Target {
			f.Write(modelsRel, "{}\n")
			return t
		}, state: configurator.StateStale, detail: "coda-databricks is missing from ~/.pi/agent/models.json"},
		{name: "record deleted", apply: true, change: func(f *plugintest.Fixture, t configurator.Target) configurator.Target {
			os.Remove(filepath.Join(f.State, "plugins", "pi.json"))
			return t
		}, state: configurator.StateStale, detail: "coda's record of the original settings is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			if tc.apply {
				f.Apply(target())
			}
			tgt := target()
			if tc.change != nil {
				tgt = tc.change(f, tgt)
			}
			st := f.Status(tgt)
			if st.State != tc.state || !strings.Contains(st.Detail, tc.detail) {
				t.Errorf("status %s: %s\nwant %s: %s", st.State, st.Detail, tc.state, tc.detail)
			}
			if strings.Contains(st.Detail, plugintest.GoldenToken) || strings.Contains(st.Detail, "\n") {
				t.Errorf("the detail holds the token or spans lines: %q", st.Detail)
			}
		})
	}
}

func TestProxied(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	p := f.Plan(proxied())
	if got := plugintest.Changed(p); !slices.Equal(got, []string{f.Path(modelsRel)}) {
		t.Errorf("switching to the proxy changes %v, want only models.json", got)
	}
	f.Apply(proxied())
	if v, _ := f.ReadJSON(modelsRel).GetPath(keyProviders, ProviderID, "apiKey"); v != "!/usr/local/bin/coda proxy key -p default" {
		t.Errorf("apiKey = %v", v)
	}
	if got := f.FilesHolding(proxied().Token); len(got) != 0 {
		t.Errorf("files hold the local key: %v", got)
	}
	st := f.Status(proxied())
	if st.State != configurator.StateConfigured || !strings.Contains(st.Detail, "at coda's proxy http://127.0.0.1:8787/serving-endpoints") || !strings.Contains(st.Detail, "coda proxy key -p default before every request") {
		t.Errorf("status %s: %s", st.State, st.Detail)
	}
	if st := f.Status(target()); st.State != configurator.StateStale {
		t.Errorf("status for the direct target %s: %s", st.State, st.Detail)
	}
}

// --- notes ----------------------------------------------------------------------------

func TestNotes(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		vars  map[string]string
		tgt   func() configurator.Target
		want  string // "": no note
	}{
		{"enabledModels without coda", map[string]string{settingsRel: `{"enabledModels": ["claude-*", "gpt-5"]}`}, nil, target,
			"enabledModels in ~/.pi/agent/settings.json does not list coda-databricks/databricks-claude-sonnet-4-6, so Pi starts with another model"},
		{"enabledModels with coda", map[string]string{settingsRel: `{"enabledModels": ["coda-databricks/*"]}`}, nil, target, ""},
		{"auth.json key", map[string]string{authRel: `{"coda-databricks": {"type": "api_key", "key": "sk-x"}}`}, nil, target,
			"~/.pi/agent/auth.json holds a key for coda-databricks, which Pi sends instead of running coda's key command"},
		{"auth.json other keys", map[string]string{authRel: userAuth}, nil, target, ""},
		{"proxy without NO_PROXY", nil, map[string]string{"HTTP_PROXY": "http://corp:3128"}, proxied,
			"HTTP_PROXY is set and NO_PROXY does not cover 127.0.0.1"},
		{"proxy with NO_PROXY", nil, map[string]string{"http_proxy": "http://corp:3128", "NO_PROXY": "localhost,127.0.0.1"}, proxied, ""},
		{"HTTP_PROXY without coda's proxy", nil, map[string]string{"HTTP_PROXY": "http://corp:3128"}, target, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			for k, v := range tc.vars {
				f.Vars[k] = v
			}
			notes := f.Plan(tc.tgt()).Notes
			if tc.want == "" {
				if len(notes) != 0 {
					t.Errorf("notes %q, want none", notes)
				}
				return
			}
			if !strings.Contains(strings.Join(notes, "\n"), tc.want) {
				t.Errorf("notes %q, want %q", notes, tc.want)
			}
			if strings.Contains(strings.Join(notes, "\n"), "sk-x") {
				t.Error("a note quotes auth.json")
			}
		})
	}
}

func TestBadTargetRefused(t *testing.T) {
	cases := map[string]func(*configurator.Target){
		"no chat endpoint":  func(t *configurator.Target) { t.Endpoints.Chat = "" },
		"no token command":  func(t *configurator.Target) { t.TokenCommand = nil },
		"line in a command": func(t *configurator.Target) { t.TokenCommand = []string{"/bin/coda", "token\n-p"} },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			tgt := target()
			change(&tgt)
			if _, err := f.C.Plan(f.Env, tgt); err == nil {
				t.Error("Plan accepted it")
			}
			if f.Exists(modelsRel) {
				t.Error("a file was written")
			}
		})
	}
}
