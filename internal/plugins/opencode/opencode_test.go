package opencode

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	configRel = ".config/opencode/opencode.json"
	jsoncRel  = ".config/opencode/opencode.jsonc"
	pluginRel = ".config/opencode/plugin/coda-databricks.js"
)

func target() configurator.Target {
	tgt := plugintest.Target()
	return tgt
}

// userConfig is an opencode.json with a schema, other providers, MCP
// servers, agents, the user's own model choice and an unusual indent.
const userConfig = `{
    "$schema": "https://opencode.ai/config.json",
    "theme": "tokyonight",
    "model": "anthropic/claude-sonnet-4-5",
    "provider": {
        "anthropic": {
            "options": {"baseURL": "https://proxy.example.org/v1"}
        },
        "ollama": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Ollama",
            "options": {"baseURL": "http://localhost:11434/v1"},
            "models": {"llama3": {"name": "Llama 3"}}
        }
    },
    "mcp": {
        "fs": {"type": "local", "command": ["npx", "mcp-fs"], "enabled": true}
    },
    "agent": {
        "review": {"description": "Reviews code", "model": "anthropic/claude-opus-4-1", "temperature": 0.1}
    },
    "autoupdate": false
}
`

// userJSONC is a second global config with comments, which OpenCode
// merges over opencode.json; it sets nothing coda owns, and coda edits
// opencode.json next to it.
const userJSONC = `{
  // the user's keybinds live here
  "keybinds": {"leader": "ctrl+x"}
}
`

const userPlugin = "export const Mine = async () => ({})\n"

func userFiles() map[string]string {
	return map[string]string{
		configRel:                         userConfig,
		jsoncRel:                          userJSONC,
		".config/opencode/plugin/mine.js": userPlugin,
		".local/share/opencode/auth.json": `{"anthropic": {"type": "api", "key": "sk-user"}}` + "\n",
	}
}

func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New:       New,
		Target:    target,
		Binaries:  []string{"opencode"},
		UserFiles: userFiles(),
		Malformed: map[string]string{
			configRel: "{\n  \"model\": \"x\",\n  \"provider\": {\n}\n",
		},
		Split: split,
	})
}

// split decodes a managed file into what coda does not own and what it
// does.
func split(rel string, data []byte) (foreign, owned any, err error) {
	switch {
	case strings.HasSuffix(rel, "opencode.json") || strings.HasSuffix(rel, "opencode.jsonc"):
		return plugintest.SplitJSON(data, jsonedit.JWCC, []string{"provider", ProviderID}, []string{"model"}, []string{"small_model"})
	case strings.HasSuffix(rel, "plugin/coda-databricks.js"):
		return nil, string(data), nil
	}
	return string(data), nil, nil
}

// --- fixture ---------------------------------------------------------------

// fixture adds the opencode plugin's own helpers to plugintest's; opencode
// is on its PATH.
type fixture struct{ *plugintest.Fixture }

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	f := plugintest.NewFixture(t, New(), files)
	f.Install("opencode")
	return &fixture{f}
}

func (f *fixture) tokenFile(profile string) string {
	return filepath.Join(f.State, "tokens", "opencode-"+profile)
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
			f.CheckGolden(t, tc.name, target(), tc.remove)
		})
	}
}

// --- edge cases ----------------------------------------------------------------

func TestExistingConfigMergedAndRestored(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())

	doc := f.ReadJSON(configRel)
	if got, want := doc.Keys(), []string{"$schema", "theme", "model", "provider", "mcp", "agent", "autoupdate", "small_model"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v (foreign keys keep their order, new ones are appended)", got, want)
	}
	if v, _ := doc.Get("$schema"); v != schemaURL {
		t.Errorf("$schema = %v", v)
	}
	providers, _ := doc.Get("provider")
	if got := providers.(*jsonedit.Object).Keys(); !slices.Equal(got, []string{"anthropic", "ollama", ProviderID}) {
		t.Errorf("providers %v", got)
	}
	if v, _ := doc.Get("model"); v != "coda-databricks/databricks-claude-sonnet-4-6" {
		t.Errorf("model = %v", v)
	}
	if v, _ := doc.Get("small_model"); v != "coda-databricks/databricks-claude-haiku-4-5" {
		t.Errorf("small_model = %v", v)
	}
	if v, _ := doc.GetPath("provider", ProviderID, "options", "baseURL"); v != plugintest.GoldenHost+"/serving-endpoints" {
		t.Errorf("baseURL = %v", v)
	}
	if _, ok := doc.GetPath("provider", ProviderID, "options", "apiKey"); ok {
		t.Error("coda wrote options.apiKey")
	}
	if _, ok := doc.GetPath("provider", "databricks"); ok {
		t.Error("coda used the id of OpenCode's built-in databricks provider")
	}
	if strings.Contains(f.Read(configRel), plugintest.GoldenToken) {
		t.Error("opencode.json holds the token")
	}
	if got := f.Read(jsoncRel); got != userJSONC {
		t.Error("opencode.jsonc was modified")
	}
	if !f.Exists(configRel + ".bak") {
		t.Error("no backup of the user's opencode.json")
	}

	f.Remove(target())
	if got := f.Read(configRel); got != userConfig {
		t.Errorf("remove did not restore opencode.json byte for byte:\n%s", got)
	}
	doc = f.ReadJSON(configRel)
	if v, _ := doc.Get("model"); v != "anthropic/claude-sonnet-4-5" {
		t.Errorf("after remove model = %v, want the user's", v)
	}
	if _, ok := doc.Get("small_model"); ok {
		t.Error("after remove small_model is still set; the user had none")
	}
	if _, ok := doc.GetPath("provider", ProviderID); ok {
		t.Error("after remove coda's provider is still there")
	}
	for _, p := range []string{f.Path(pluginRel), f.tokenFile("default"), filepath.Join(f.State, "plugins", "opencode.json")} {
		if plugintest.Exists(p) {
			t.Errorf("%s survived remove", p)
		}
	}
	if got := f.Read(".config/opencode/plugin/mine.js"); got != userPlugin {
		t.Error("the user's plugin was touched")
	}
}

func TestUserModelsRestored(t *testing.T) {
	cases := map[string]struct {
		config       string
		model, small any // nil: absent
	}{
		"both":      {`{"model": "openai/gpt-5", "small_model": "openai/gpt-5-mini"}`, "openai/gpt-5", "openai/gpt-5-mini"},
		"modelOnly": {`{"model": "openai/gpt-5"}`, "openai/gpt-5", nil},
		"none":      {`{"theme": "opencode"}`, nil, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{configRel: tc.config})
			f.Apply(target())
			// A second setup (a rotation, another model) keeps the record.
			tgt := target()
			tgt.Token = "dapi-second-token-1111"
			tgt.Models = map[string]string{"model": "databricks-claude-opus-4-6"}
			f.Apply(tgt)
			f.Remove(tgt)
			doc := f.ReadJSON(configRel)
			for k, want := range map[string]any{"model": tc.model, "small_model": tc.small} {
				got, ok := doc.Get(k)
				if want == nil && ok {
					t.Errorf("%s = %v after remove, want absent", k, got)
				}
				if want != nil && got != want {
					t.Errorf("%s = %v after remove, want %v", k, got, want)
				}
			}
		})
	}
}

func TestCreatedConfigDeletedOnRemove(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	if v, _ := f.ReadJSON(configRel).Get("$schema"); v != schemaURL {
		t.Errorf("a new opencode.json has $schema %v", v)
	}
	f.Remove(target())
	if f.Exists(configRel) {
		t.Errorf("opencode.json that coda created survived remove: %s", f.Read(configRel))
	}

	// A key the user added since stays, and so does the file.
	f = newFixture(t, nil)
	f.Apply(target())
	doc := f.ReadJSON(configRel)
	doc.Set("theme", "nord")
	f.Write(configRel, string(jsonedit.Marshal(doc)))
	f.Remove(target())
	doc = f.ReadJSON(configRel)
	if got := doc.Keys(); !slices.Equal(got, []string{"$schema", "theme"}) {
		t.Errorf("after remove keys %v, want $schema and theme", got)
	}
}

func TestXDGConfigHome(t *testing.T) {
	f := newFixture(t, nil)
	xdg := filepath.Join(f.Home, "xdg")
	f.Vars["XDG_CONFIG_HOME"] = xdg
	p := f.Apply(target())
	for _, want := range []string{filepath.Join(xdg, "opencode", "opencode.json"), filepath.Join(xdg, "opencode", "plugin", "coda-databricks.js")} {
		if !slices.Contains(plugintest.Changed(p), want) {
			t.Errorf("%s not planned; planned %v", want, plugintest.Changed(p))
		}
		if !plugintest.Exists(want) {
			t.Errorf("%s not written", want)
		}
	}
	if f.Exists(configRel) {
		t.Error("wrote ~/.config/opencode although XDG_CONFIG_HOME is set")
	}
	if d := f.C.Detect(f.Env); d.Files[0] != filepath.Join(xdg, "opencode", "opencode.json") {
		t.Errorf("Detect files %v", d.Files)
	}

	// A relative XDG_CONFIG_HOME is invalid per the XDG spec and ignored.
	f.Vars["XDG_CONFIG_HOME"] = "relative/dir"
	if got := ConfigDir(f.Env); got != filepath.Join(f.Home, ".config", "opencode") {
		t.Errorf("relative XDG_CONFIG_HOME: config dir %s", got)
	}
}

func TestPluginContent(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	js := f.Read(pluginRel)
	info, _ := os.Stat(f.Path(pluginRel))
	if info.Mode().Perm() != 0o644 {
		t.Errorf("plugin mode %o, want 0644", info.Mode().Perm())
	}
	if strings.Contains(js, plugintest.GoldenToken) {
		t.Error("the plugin holds the token")
	}
	quoted, _ := json.Marshal(f.tokenFile("default"))
	if !strings.Contains(js, "const TOKEN_FILE = "+string(quoted)+"\n") {
		t.Errorf("the plugin does not bake in the absolute token file path:\n%s", js)
	}
	if n := strings.Count(js, "export "); n != 1 {
		t.Errorf("the plugin has %d exports; OpenCode calls every export as a plugin, so it must have one", n)
	}
	for _, want := range []string{`input?.model?.providerID ?? input?.provider?.info?.id`, `readFileSync(TOKEN_FILE, "utf8").trim()`, `output.headers["Authorization"] = "Bearer " + token`} {
		if !strings.Contains(js, want) {
			t.Errorf("the plugin lacks %q", want)
		}
	}
	// A path with quotes and backslashes stays one string literal.
	odd := pluginJS(`/tmp/we"ird\dir/opencode-default`)
	if !bytes.Contains(odd, []byte(`const TOKEN_FILE = "/tmp/we\"ird\\dir/opencode-default"`)) {
		t.Errorf("path not escaped:\n%s", odd)
	}
}

func TestTokenFilePrivate(t *testing.T) {
	f := newFixture(t, nil)
	p := f.Apply(target())
	var tc *configurator.Change
	for i := range p.Changes {
		if p.Changes[i].Path == f.tokenFile("default") {
			tc = &p.Changes[i]
		}
	}
	if tc == nil || !tc.Secret {
		t.Fatalf("the token file is not planned as a secret: %+v", tc)
	}
	data, err := os.ReadFile(f.tokenFile("default"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != plugintest.GoldenToken+"\n" {
		t.Error("the token file does not hold the token and a newline")
	}
	info, _ := os.Stat(f.tokenFile("default"))
	dir, _ := os.Stat(filepath.Dir(f.tokenFile("default")))
	if info.Mode().Perm() != 0o600 || dir.Mode().Perm() != 0o700 {
		t.Errorf("token file %o in dir %o, want 0600 in 0700", info.Mode().Perm(), dir.Mode().Perm())
	}
	side, _ := os.Stat(filepath.Join(f.State, "plugins", "opencode.json"))
	if side == nil || side.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode %v", side)
	}

	// A tokens dir someone loosened is made private again.
	if err := os.Chmod(filepath.Dir(f.tokenFile("default")), 0o755); err != nil {
		t.Fatal(err)
	}
	tgt := target()
	tgt.Token = "dapi-next-token-2222"
	f.Apply(tgt)
	if dir, _ := os.Stat(filepath.Dir(f.tokenFile("default"))); dir.Mode().Perm() != 0o700 {
		t.Errorf("tokens dir %o after a rotation, want 0700", dir.Mode().Perm())
	}
}

func TestRotationRewritesOnlyTheTokenFile(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	before := plugintest.Snapshot(t, f.Home)
	tgt := target()
	tgt.Token = "dapi-rotated-token-3333"
	p := f.Plan(tgt)
	if got := plugintest.Changed(p); !slices.Equal(got, []string{f.tokenFile("default")}) {
		t.Fatalf("a rotation changes %v, want exactly the token file", got)
	}
	if err := configurator.Apply(f.Env, f.C, p); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, plugintest.Snapshot(t, f.Home)) {
		t.Error("a rotation changed files under HOME")
	}
	if data, _ := os.ReadFile(f.tokenFile("default")); string(data) != tgt.Token+"\n" {
		t.Error("the token file does not hold the new token")
	}
	if st := f.Status(tgt); st.State != configurator.StateConfigured {
		t.Errorf("status after rotation %s: %s", st.State, st.Detail)
	}
	if st := f.Status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "token") {
		t.Errorf("status for the old token %s: %s", st.State, st.Detail)
	}
}

func TestEmptyTokenDeletesTokenFile(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	tgt := target()
	tgt.Token = ""
	p := f.Apply(tgt)
	if got := plugintest.Changed(p); !slices.Equal(got, []string{f.tokenFile("default")}) {
		t.Errorf("revoking changes %v, want only the token file", got)
	}
	if plugintest.Exists(f.tokenFile("default")) {
		t.Error("the token file survived an empty token")
	}
	if !f.Exists(pluginRel) || !f.Exists(configRel) {
		t.Error("revoking removed the configuration")
	}
	if p := f.Plan(tgt); !p.Empty() {
		t.Errorf("a second plan without a token changes %v", plugintest.Changed(p))
	}
}

func TestMalformedRefused(t *testing.T) {
	cases := map[string]struct{ content, want string }{
		"syntax":   {"{\n  // mine\n  \"model\": \"secret-looking-value\" \"x\",\n}\n", "is not valid JSON (line 3:35: invalid character after object value"},
		"comment":  {"{\n  \"model\": \"secret-looking-value\" /* unclosed\n}\n", "is not valid JSON (line 2:35: unexpected end of input"},
		"array":    {"[\"secret-looking-value\"]\n", "is not a JSON object (found an array at line 1:1)"},
		"provider": {"{\"provider\": \"secret-looking-value\"}\n", "provider is a string, not an object"},
		"bom":      {"\xef\xbb\xbf{}\n", "byte order mark"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{configRel: tc.content})
			_, err := f.C.Plan(f.Env, target())
			if err == nil {
				t.Fatal("Plan accepted it")
			}
			msg := err.Error()
			if !strings.Contains(msg, "~/.config/opencode/opencode.json") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q: want the file's name and %q", msg, tc.want)
			}
			if strings.Contains(msg, "secret-looking-value") || strings.Contains(msg, "\n") {
				t.Errorf("error echoes content or spans lines: %q", msg)
			}
			if name != "provider" {
				if _, err := f.C.PlanRemove(f.Env, target()); err == nil {
					t.Error("PlanRemove accepted it")
				}
				if _, err := f.C.Status(f.Env, target()); err == nil {
					t.Error("Status accepted it")
				}
			}
			if f.Read(configRel) != tc.content {
				t.Error("the file was modified")
			}
		})
	}
}

// jwccConfig has comments and trailing commas, which OpenCode reads.
const jwccConfig = `{
  // my global config
  "$schema": "https://opencode.ai/config.json",
  "theme": "tokyonight", /* dark */
  "provider": {
    // the local one
    "ollama": {
      "options": {"baseURL": "http://localhost:11434/v1",},
    },
  },
}
`

func TestCommentsAndTrailingCommasSurvive(t *testing.T) {
	for _, rel := range []string{configRel, jsoncRel} {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			f := newFixture(t, map[string]string{rel: jwccConfig})
			p := f.Apply(target())
			if got := plugintest.Changed(p); !slices.Contains(got, f.Path(rel)) {
				t.Fatalf("setup did not merge into %s: %v", rel, got)
			}
			if other := map[string]string{configRel: jsoncRel, jsoncRel: configRel}[rel]; f.Exists(other) {
				t.Errorf("setup created %s next to %s", other, rel)
			}
			got := f.Read(rel)
			for _, keep := range []string{"// my global config\n", `"theme": "tokyonight", /* dark */`, "// the local one\n", `"options": {"baseURL": "http://localhost:11434/v1",},`} {
				if !strings.Contains(got, keep) {
					t.Errorf("%s lost %q:\n%s", rel, keep, got)
				}
			}
			doc, err := jsonedit.ParseDialect([]byte(got), jsonedit.JWCC)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := doc.GetPath("provider", ProviderID, "options", "baseURL"); v != plugintest.GoldenHost+"/serving-endpoints" {
				t.Errorf("baseURL = %v in\n%s", v, got)
			}
			if v, _ := doc.Get("model"); v != ProviderID+"/"+DefaultModel {
				t.Errorf("model = %v", v)
			}
			if !strings.HasSuffix(got, "  \"small_model\": \"coda-databricks/databricks-claude-haiku-4-5\",\n}\n") {
				t.Errorf("the trailing comma style is lost:\n%s", got)
			}
			if st := f.Status(target()); st.State != configurator.StateConfigured {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
			if p := f.Plan(target()); !p.Empty() {
				t.Errorf("a second setup changes %v", plugintest.Changed(p))
			}
			f.Remove(target())
			if got := f.Read(rel); got != jwccConfig {
				t.Errorf("remove did not restore %s byte for byte:\n%s", rel, got)
			}
		})
	}
}

func TestJSONC(t *testing.T) {
	t.Run("next to opencode.json", func(t *testing.T) {
		f := newFixture(t, map[string]string{configRel: "{}\n", jsoncRel: userJSONC})
		p := f.Apply(target())
		if len(p.Notes) != 0 {
			t.Errorf("notes %q", p.Notes)
		}
		if f.Read(jsoncRel) != userJSONC {
			t.Error("opencode.jsonc was modified")
		}
		if doc := f.ReadJSON(configRel); doc.Len() == 0 {
			t.Error("opencode.json not written")
		}
	})
	t.Run("setsModel", func(t *testing.T) {
		f := newFixture(t, map[string]string{configRel: "{}\n", jsoncRel: "{\n  // mine\n  \"model\": \"openai/gpt-5\",\n}\n"})
		p := f.Plan(target())
		if !strings.Contains(strings.Join(p.Notes, "\n"), "sets model, which OpenCode merges over coda's opencode.json") {
			t.Errorf("notes %q", p.Notes)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		f := newFixture(t, map[string]string{configRel: "{}\n", jsoncRel: "{\"model\": \n"})
		p := f.Plan(target())
		if !strings.Contains(strings.Join(p.Notes, "\n"), "opencode.jsonc exists and coda cannot read it") {
			t.Errorf("notes %q", p.Notes)
		}
	})
	t.Run("definesCodaProvider", func(t *testing.T) {
		f := newFixture(t, map[string]string{configRel: `{"provider": {"coda-databricks": {}}}`, jsoncRel: `{"provider": {"coda-databricks": {}}}`})
		if _, err := f.C.Plan(f.Env, target()); err == nil || !strings.Contains(err.Error(), "opencode.jsonc also defines provider") {
			t.Errorf("Plan error %v", err)
		}
	})
	t.Run("staysWhereCodaWroteIt", func(t *testing.T) {
		// Set up in opencode.jsonc; opencode.json appears later.
		f := newFixture(t, map[string]string{jsoncRel: userJSONC})
		f.Apply(target())
		f.Write(configRel, `{"theme": "nord"}`)
		if p := f.Plan(target()); !p.Empty() {
			t.Errorf("setup moves to opencode.json: %v", plugintest.Changed(p))
		}
		f.Remove(target())
		if got := f.Read(jsoncRel); got != userJSONC {
			t.Errorf("remove did not restore opencode.jsonc:\n%s", got)
		}
		if got := f.Read(configRel); got != `{"theme": "nord"}` {
			t.Errorf("remove touched opencode.json: %s", got)
		}
	})
}

func TestProviderFiltersNoted(t *testing.T) {
	f := newFixture(t, map[string]string{configRel: `{"enabled_providers": ["anthropic"], "disabled_providers": ["coda-databricks"]}`})
	notes := strings.Join(f.Plan(target()).Notes, "\n")
	for _, want := range []string{"enabled_providers", "disabled_providers"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note about %s: %q", want, notes)
		}
	}
}

func TestReformattedConfigIsNotStale(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(f.Read(configRel)), "", "\t"); err != nil {
		t.Fatal(err)
	}
	f.Write(configRel, buf.String())
	if p := f.Plan(target()); !p.Empty() {
		t.Errorf("a reformatted but equal opencode.json is rewritten: %v", plugintest.Changed(p))
	}
}

func TestStatus(t *testing.T) {
	t.Run("foreign", func(t *testing.T) {
		f := newFixture(t, map[string]string{configRel: `{"provider": {"dbx": {"npm": "@ai-sdk/openai-compatible", "options": {"baseURL": "` + plugintest.GoldenHost + `/serving-endpoints", "apiKey": "{env:DATABRICKS_TOKEN}"}}}}`})
		if st := f.Status(target()); st.State != configurator.StateForeign || !strings.Contains(st.Detail, `"dbx"`) {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("configured", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(target())
		st := f.Status(target())
		if st.State != configurator.StateConfigured || !strings.Contains(st.Detail, "running sessions follow rotations") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		if strings.Contains(st.Detail, plugintest.GoldenToken) {
			t.Error("the detail holds the token")
		}
	})
	t.Run("staleModel", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(target())
		tgt := target()
		tgt.Models = map[string]string{"small_model": "databricks-gpt-5-mini"}
		if st := f.Status(tgt); st.State != configurator.StateStale || !strings.Contains(st.Detail, "small_model") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("staleProfile", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(target())
		tgt := target()
		tgt.Profile = "work"
		if st := f.Status(tgt); st.State != configurator.StateStale || !strings.Contains(st.Detail, "profile default") {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
	})
	t.Run("pluginDeleted", func(t *testing.T) {
		f := newFixture(t, nil)
		f.Apply(target())
		os.Remove(f.Path(pluginRel))
		if st := f.Status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "plugin") {
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

func TestProfileSwitchAndRemove(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	work := target()
	work.Profile = "work"
	work.Token = "dapi-work-token-4444"
	f.Apply(work)
	if !strings.Contains(f.Read(pluginRel), f.tokenFile("work")) {
		t.Error("the plugin does not read the work profile's token file")
	}
	// Remove for the first profile still takes out everything coda wrote.
	f.Remove(target())
	for _, p := range []string{f.tokenFile("default"), f.tokenFile("work"), f.Path(pluginRel), f.Path(configRel)} {
		if plugintest.Exists(p) {
			t.Errorf("%s survived remove", p)
		}
	}
}

func TestRemoveWithoutRecord(t *testing.T) {
	f := newFixture(t, map[string]string{configRel: `{"model": "openai/gpt-5"}`})
	f.Apply(target())
	if err := os.Remove(filepath.Join(f.State, "plugins", "opencode.json")); err != nil {
		t.Fatal(err)
	}
	f.Remove(target())
	doc := f.ReadJSON(configRel)
	if _, ok := doc.Get("model"); ok {
		t.Error("coda's model survived a remove without coda's record")
	}
	if _, ok := doc.GetPath("provider", ProviderID); ok {
		t.Error("coda's provider survived")
	}
}

func TestEditedPluginLeftOnRemove(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	f.Write(pluginRel, "// mine now\n")
	p, err := f.C.PlanRemove(f.Env, target())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(plugintest.Changed(p), f.Path(pluginRel)) {
		t.Error("remove deletes a plugin file coda did not write")
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "was not written by coda") {
		t.Errorf("notes %q", p.Notes)
	}
}

func TestBadTargetRefused(t *testing.T) {
	f := newFixture(t, nil)
	tgt := target()
	tgt.Token = "dapi-line\nbreak"
	if _, err := f.C.Plan(f.Env, tgt); err == nil || strings.Contains(err.Error(), "dapi") {
		t.Errorf("a token with a line break: %v", err)
	}
	tgt = target()
	tgt.Profile = "../evil"
	if _, err := f.C.Plan(f.Env, tgt); err == nil {
		t.Error("a profile name with a path was accepted")
	}
	f.Env.StateDir = ""
	if _, err := f.C.Plan(f.Env, target()); err == nil {
		t.Error("an empty state dir was accepted")
	}
}

// TestLegacyRecord: a user who set up with the coda before the shared
// record (its sidecar of version 1) still gets the originals back.
func TestLegacyRecord(t *testing.T) {
	for name, files := range map[string]map[string]string{"empty": nil, "existing": userFiles()} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, files)
			f.Apply(target())
			f.WriteLegacyRecord(name)
			if st := f.Status(target()); st.State != configurator.StateConfigured {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
			// The same record in the older layout: nothing to write.
			if p := f.Plan(target()); !p.Empty() {
				t.Errorf("a plan rewrites the legacy record:\n%s", configurator.Diff(p))
			}
			f.Remove(target())
			switch {
			case files == nil && f.Exists(configRel):
				t.Errorf("opencode.json that coda created survives remove:\n%s", f.Read(configRel))
			case files != nil && f.Read(configRel) != files[configRel]:
				t.Errorf("remove did not restore opencode.json:\n%s", f.Read(configRel))
			}
			for _, p := range []string{f.Path(pluginRel), f.tokenFile("default"), filepath.Join(f.State, "plugins", "opencode.json")} {
				if plugintest.Exists(p) {
					t.Errorf("%s survives remove", p)
				}
			}
		})
	}
	// The token file the legacy record names is removed, though the
	// target's profile has changed since.
	f := newFixture(t, nil)
	f.Apply(target())
	f.WriteLegacyRecord("empty")
	other := target()
	other.Profile = "other"
	f.Remove(other)
	if plugintest.Exists(f.tokenFile("default")) {
		t.Error("the token file of the legacy record survives remove")
	}
}
