package crush

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	configRel  = ".config/crush/crush.json"
	crushrcRel = ".config/crush/crushrc"
	stateRel   = ".local/share/crush/crush.json"
	sidecarRel = "plugins/crush.json" // below the state dir
)

func target() configurator.Target { return plugintest.Target() }

// proxiedTarget is target through coda's proxy.
func proxiedTarget() configurator.Target {
	return plugintest.ProxiedTarget(41999, "local-key-0123456789abcdef0123456789abcdef")
}

// userConfig is a crush.json with another provider holding the user's key,
// the user's model choice with options, other settings and a four-space
// indent.
const userConfig = `{
    "$schema": "https://charm.land/crush.json",
    "providers": {
        "openai": {
            "api_key": "sk-user-own-key"
        },
        "ollama": {
            "type": "openai-compat",
            "base_url": "http://localhost:11434/v1/",
            "models": [{"id": "qwen3:30b", "name": "Qwen 3 30B", "context_window": 256000, "default_max_tokens": 20000}]
        }
    },
    "models": {
        "large": {"provider": "openai", "model": "gpt-5", "max_tokens": 4000}
    },
    "options": {"debug": false, "context_paths": ["AGENTS.md"]},
    "lsp": {"go": {"command": "gopls"}}
}
`

// userState is Crush's own state file, which coda reads and never edits.
const userState = `{"options": {"tui": {"compact_mode": true}}}` + "\n"

func userFiles() map[string]string {
	return map[string]string{configRel: userConfig, stateRel: userState}
}

func TestContract(t *testing.T) {
	cases := map[string]struct {
		tgt   func() configurator.Target
		stale func(configurator.Target) configurator.Target
	}{
		"direct": {target, nil},
		// Through the proxy crush.json names no workspace: another host
		// changes nothing Crush reads, another proxy port does.
		"proxied": {proxiedTarget, func(t configurator.Target) configurator.Target {
			t.Endpoints.Chat = strings.Replace(t.Endpoints.Chat, ":41999", ":42000", 1)
			return t
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			configuratortest.Run(t, configuratortest.Suite{
				New:       New,
				Target:    tc.tgt,
				Stale:     tc.stale,
				Binaries:  []string{"crush"},
				UserFiles: userFiles(),
				Malformed: map[string]string{
					// Crush refuses comments: json.Valid.
					configRel: "{\n  // mine\n  \"providers\": {}\n}\n",
				},
				Split: split,
			})
		})
	}
}

// split decodes a managed file into what coda does not own and what it
// does.
func split(rel string, data []byte) (foreign, owned any, err error) {
	if rel != configRel {
		return string(data), nil, nil
	}
	return plugintest.SplitJSON(data, jsonedit.Strict, []string{keyProviders, ProviderID}, []string{keyModels, "large"}, []string{keyModels, "small"})
}

func newFixture(t *testing.T, files map[string]string) *plugintest.Fixture {
	t.Helper()
	f := plugintest.NewFixture(t, New(), files)
	f.Install("crush")
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
		{"proxied", nil, proxiedTarget, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			f.CheckGolden(t, tc.name, tc.tgt(), tc.remove)
		})
	}
}

// --- merge and remove ------------------------------------------------------------

func TestExistingConfigMergedAndRestored(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())

	doc := f.ReadJSON(configRel)
	if got, want := doc.Keys(), []string{"$schema", "providers", "models", "options", "lsp"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	providers, _ := doc.Get(keyProviders)
	if got := providers.(*jsonedit.Object).Keys(); !slices.Equal(got, []string{"openai", "ollama", ProviderID}) {
		t.Errorf("providers %v", got)
	}
	if v, _ := doc.GetPath(keyProviders, "openai", "api_key"); v != "sk-user-own-key" {
		t.Errorf("the user's key became %v", v)
	}
	for role, want := range map[string]string{"large": DefaultLarge, "small": DefaultSmall} {
		v, _ := doc.GetPath(keyModels, role)
		if !jsonedit.Equal(v, selection(want)) {
			t.Errorf("models.%s = %v", role, plugintest.Plain(v))
		}
	}
	for k, want := range map[string]string{
		"type":     "openai-compat",
		"base_url": plugintest.GoldenHost + "/serving-endpoints",
		"api_key":  "$(/usr/local/bin/coda token -p default)",
	} {
		if v, _ := doc.GetPath(keyProviders, ProviderID, k); v != want {
			t.Errorf("%s = %v, want %s", k, v, want)
		}
	}
	got := f.Read(configRel)
	if !strings.Contains(got, "\n    \"lsp\": {\"go\": {\"command\": \"gopls\"}}") {
		t.Errorf("the user's layout is lost:\n%s", got)
	}
	if strings.Contains(got, plugintest.GoldenToken) {
		t.Error("crush.json holds the token")
	}
	if !f.Exists(configRel + ".bak") {
		t.Error("no backup of the user's crush.json")
	}
	if f.Read(stateRel) != userState {
		t.Error("Crush's state file was modified")
	}

	f.Remove(target())
	got = f.Read(configRel)
	if !pluginkitSame(t, got, userConfig) {
		t.Errorf("remove did not restore crush.json:\n%s", got)
	}
	// What coda never touched keeps its bytes; the restored models.large
	// keeps its values (jsonedit lays a re-inserted object out anew).
	for _, line := range strings.Split(userConfig, "\n") {
		if !strings.Contains(line, `"large"`) && !strings.Contains(got, line) {
			t.Errorf("remove lost the line %q", line)
		}
	}
	if plugintest.Exists(filepath.Join(f.State, sidecarRel)) {
		t.Error("the record survived remove")
	}
}

func TestUserModelsRestored(t *testing.T) {
	cases := map[string]struct {
		config string
		want   string // crush.json after remove
	}{
		"both": {
			`{"models": {"large": {"provider": "openai", "model": "gpt-5"}, "small": {"provider": "openai", "model": "gpt-5-mini"}}}`,
			`{"models": {"large": {"provider": "openai", "model": "gpt-5"}, "small": {"provider": "openai", "model": "gpt-5-mini"}}}`,
		},
		"largeOnly": {
			`{"models": {"large": {"provider": "openai", "model": "gpt-5"}}}`,
			`{"models": {"large": {"provider": "openai", "model": "gpt-5"}}}`,
		},
		"emptyObjectsKept": {`{"providers": {}, "models": {}}`, `{"providers": {}, "models": {}}`},
		"none":             {`{"options": {"debug": true}}`, `{"options": {"debug": true}}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{configRel: tc.config})
			f.Apply(target())
			// A second setup (another model, the proxy) keeps the record.
			second := proxiedTarget()
			second.Models = map[string]string{"large": "databricks-claude-opus-4-6"}
			f.Apply(second)
			f.Remove(second)
			if got := f.Read(configRel); !pluginkitSame(t, got, tc.want) {
				t.Errorf("after remove:\n%s\nwant the values of\n%s", got, tc.want)
			}
		})
	}
}

// pluginkitSame reports whether two JSON documents hold the same values.
func pluginkitSame(t *testing.T, a, b string) bool {
	return jsonedit.Equal(plugintest.MustParseJSON(t, a), plugintest.MustParseJSON(t, b))
}

func TestModelChosenSinceIsKeptOnRemove(t *testing.T) {
	f := newFixture(t, map[string]string{configRel: `{"models": {"large": {"provider": "openai", "model": "gpt-5"}}}`})
	f.Apply(target())
	doc := f.ReadJSON(configRel)
	if err := doc.SetPath(selection("claude-opus-4-6"), keyModels, "small"); err != nil {
		t.Fatal(err)
	}
	mine, _ := doc.GetPath(keyModels, "small")
	mine.(*jsonedit.Object).Set("provider", "anthropic")
	f.Write(configRel, string(jsonedit.Marshal(doc)))
	f.Remove(target())
	doc = f.ReadJSON(configRel)
	if v, _ := doc.GetPath(keyModels, "small", "provider"); v != "anthropic" {
		t.Errorf("the user's later models.small was replaced: %v", v)
	}
	if v, _ := doc.GetPath(keyModels, "large", "model"); v != "gpt-5" {
		t.Errorf("models.large = %v, want the user's gpt-5", v)
	}
}

func TestCreatedConfigDeletedOnRemove(t *testing.T) {
	for name, files := range map[string]map[string]string{"missing": nil, "empty": {configRel: ""}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, files)
			f.Apply(target())
			if v, _ := f.ReadJSON(configRel).Get(keySchema); v != schemaURL {
				t.Errorf("a new crush.json has $schema %v", v)
			}
			info, err := os.Stat(f.Path(configRel))
			if err != nil || (name == "missing" && info.Mode().Perm() != 0o600) {
				t.Errorf("a new crush.json: %v, mode %v (want 0600, as Crush writes it)", err, info)
			}
			f.Remove(target())
			if f.Exists(configRel) {
				t.Errorf("crush.json that coda created survived remove: %s", f.Read(configRel))
			}
		})
	}

	// A key the user added since stays, and so does the file.
	f := newFixture(t, nil)
	f.Apply(target())
	doc := f.ReadJSON(configRel)
	doc.Set("options", plugintest.MustParseJSON(t, `{"debug": true}`))
	f.Write(configRel, string(jsonedit.Marshal(doc)))
	f.Remove(target())
	if got := f.ReadJSON(configRel).Keys(); !slices.Equal(got, []string{"$schema", "options"}) {
		t.Errorf("after remove keys %v, want $schema and options", got)
	}
}

func TestRemoveWithoutRecord(t *testing.T) {
	f := newFixture(t, map[string]string{configRel: `{"options": {"debug": true}}`})
	f.Apply(target())
	if err := os.Remove(filepath.Join(f.State, sidecarRel)); err != nil {
		t.Fatal(err)
	}
	f.Remove(target())
	if got := f.Read(configRel); !pluginkitSame(t, got, `{"options": {"debug": true}}`) {
		t.Errorf("after remove without a record:\n%s", got)
	}
}

func TestRemoveNothing(t *testing.T) {
	f := newFixture(t, map[string]string{configRel: userConfig})
	if p := f.PlanRemove(target()); !p.Empty() {
		t.Errorf("removing from a config coda never touched changes %v", plugintest.Changed(p))
	}
}

// --- what coda writes ------------------------------------------------------------

func TestModels(t *testing.T) {
	cases := map[string]struct {
		models map[string]string
		want   string // the provider's models
	}{
		"defaults": {nil, `[
			{"id": "databricks-claude-sonnet-4-6", "name": "Claude Sonnet 4.6 (Databricks)", "context_window": 200000, "default_max_tokens": 64000},
			{"id": "databricks-claude-haiku-4-5", "name": "Claude Haiku 4.5 (Databricks)", "context_window": 200000, "default_max_tokens": 64000}]`},
		"unknown": {map[string]string{"large": "databricks-gpt-5-3-codex"}, `[
			{"id": "databricks-gpt-5-3-codex", "name": "databricks-gpt-5-3-codex", "context_window": 128000, "default_max_tokens": 16384},
			{"id": "databricks-claude-haiku-4-5", "name": "Claude Haiku 4.5 (Databricks)", "context_window": 200000, "default_max_tokens": 64000}]`},
		"same": {map[string]string{"large": "databricks-claude-haiku-4-5"}, `[
			{"id": "databricks-claude-haiku-4-5", "name": "Claude Haiku 4.5 (Databricks)", "context_window": 200000, "default_max_tokens": 64000}]`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			tgt := target()
			tgt.Models = tc.models
			f.Apply(tgt)
			doc := f.ReadJSON(configRel)
			got, _ := doc.GetPath(keyProviders, ProviderID, "models")
			want, _ := plugintest.MustParseJSON(t, `{"m": `+tc.want+`}`).Get("m")
			if !jsonedit.Equal(got, want) {
				t.Errorf("models %v\nwant %v", plugintest.Plain(got), plugintest.Plain(want))
			}
			large, small := models(tgt)
			for role, m := range map[string]string{"large": large, "small": small} {
				if v, _ := doc.GetPath(keyModels, role, "model"); v != m {
					t.Errorf("models.%s.model = %v, want %s", role, v, m)
				}
			}
		})
	}
}

// TestAPIKeyRunsInAShell: the api_key is a $(...) that a POSIX shell
// expands into what the token command prints, whatever its path and
// arguments hold. Crush's shell (mvdan.cc/sh) reads the same syntax.
func TestAPIKeyRunsInAShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := filepath.Join(t.TempDir(), "it's a dir $(x)")
	bin := filepath.Join(dir, "coda")
	plugintest.WriteFile(t, bin, "#!/bin/sh\nprintf 'tok:%s|%s|%s\\n' \"$1\" \"$2\" \"$3\"\n")
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	tgt := target()
	tgt.TokenCommand = []string{bin, "token", "-p", `we"ird $HOME`}
	f := newFixture(t, nil)
	f.Apply(tgt)
	key, _ := f.ReadJSON(configRel).GetPath(keyProviders, ProviderID, "api_key")
	out, err := exec.Command(sh, "-c", `printf '%s' "`+key.(string)+`"`).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	if want := `tok:token|-p|we"ird $HOME`; string(out) != want {
		t.Errorf("the api_key expands to %q, want %q", out, want)
	}
}

func TestConfigDir(t *testing.T) {
	cases := map[string]struct {
		vars         map[string]string
		config, data string // relative to HOME
	}{
		"default":         {nil, configRel, stateRel},
		"xdg":             {map[string]string{"XDG_CONFIG_HOME": "$HOME/xdg", "XDG_DATA_HOME": "$HOME/xdgdata"}, "xdg/crush/crush.json", "xdgdata/crush/crush.json"},
		"crush":           {map[string]string{EnvGlobalConfig: "$HOME/cc", EnvGlobalData: "$HOME/cd", "XDG_CONFIG_HOME": "$HOME/xdg"}, "cc/crush.json", "cd/crush.json"},
		"relativeIgnored": {map[string]string{EnvGlobalConfig: "cc", "XDG_CONFIG_HOME": "xdg", "XDG_DATA_HOME": "data"}, configRel, stateRel},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			for k, v := range tc.vars {
				f.Vars[k] = strings.ReplaceAll(v, "$HOME", f.Home)
			}
			p := f.Apply(target())
			if !slices.Contains(plugintest.Changed(p), f.Path(tc.config)) {
				t.Errorf("%s not planned; planned %v", tc.config, plugintest.Changed(p))
			}
			if d := f.C.Detect(f.Env); !slices.Equal(d.Files, []string{f.Path(tc.config)}) || !d.Installed {
				t.Errorf("Detect %+v", d)
			}
			if got := filepath.Join(DataDir(f.Env), "crush.json"); got != f.Path(tc.data) {
				t.Errorf("state file %s, want %s", got, f.Path(tc.data))
			}
		})
	}
}

// --- refusals ------------------------------------------------------------

func TestMalformedRefused(t *testing.T) {
	cases := map[string]struct{ content, want string }{
		"syntax":         {"{\n  \"providers\": {\"x\": {\"api_key\": \"secret-looking-value\" \"y\"}}\n}\n", "is not valid JSON (line 2:57: invalid character after object value"},
		"comment":        {"{\n  // secret-looking-value\n  \"options\": {}\n}\n", "is not valid JSON (line 2:3: a comment, which strict JSON does not allow)"},
		"trailingComma":  {"{\n  \"options\": {\"x\": \"secret-looking-value\"},\n}\n", "trailing comma"},
		"array":          {"[\"secret-looking-value\"]\n", "is not a JSON object (found an array at line 1:1)"},
		"providersValue": {"{\"providers\": \"secret-looking-value\"}\n", "providers is a string, not an object"},
		"modelsValue":    {"{\"models\": [\"secret-looking-value\"]}\n", "models is an array, not an object"},
		"bom":            {"\xef\xbb\xbf{}\n", "byte order mark"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{configRel: tc.content})
			_, err := f.C.Plan(f.Env, target())
			plugintest.Refused(t, "Plan", err, configRel, tc.want, "secret-looking-value")
			// A file of the wrong shape that coda never merged into is
			// only not configured; Crush itself refuses it.
			if !strings.HasSuffix(name, "Value") {
				if _, err := f.C.Status(f.Env, target()); err == nil {
					t.Error("Status accepted it")
				}
				if _, err := f.C.PlanRemove(f.Env, target()); err == nil {
					t.Error("PlanRemove accepted it")
				}
			}
			if f.Read(configRel) != tc.content {
				t.Error("the file was modified")
			}
		})
	}
}

func TestDamagedRecordRefused(t *testing.T) {
	f := newFixture(t, nil)
	plugintest.WriteFile(t, filepath.Join(f.State, sidecarRel),
		`{"version": 2, "files": [{"path": "`+f.Path(configRel)+`", "keys": [{"key": ["models", "large"], "original": "sk-not-json"}]}]}`)
	_, err := f.C.Plan(f.Env, target())
	if err == nil || !strings.Contains(err.Error(), "move it aside") || strings.Contains(err.Error(), "sk-not-json") {
		t.Errorf("a damaged record: %v", err)
	}
}

func TestBadTargetRefused(t *testing.T) {
	cases := map[string]func(*configurator.Target){
		"no chat endpoint":  func(t *configurator.Target) { t.Endpoints.Chat = "" },
		"no token command":  func(t *configurator.Target) { t.TokenCommand = nil },
		"line in a command": func(t *configurator.Target) { t.TokenCommand = []string{"/bin/coda", "token\n-p"} },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			tgt := target()
			edit(&tgt)
			if _, err := f.C.Plan(f.Env, tgt); err == nil {
				t.Error("Plan accepted it")
			}
			if f.Exists(configRel) {
				t.Error("crush.json was written")
			}
		})
	}
}

// --- notes and status ------------------------------------------------------------

func TestOverridesNoted(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  string // "" means no note
	}{
		"none":          {map[string]string{stateRel: userState}, ""},
		"crushrc":       {map[string]string{crushrcRel: "option debug true\n"}, "crushrc exists and Crush merges it over crush.json"},
		"emptyCrushrc":  {map[string]string{crushrcRel: ""}, ""},
		"pickedModel":   {map[string]string{stateRel: `{"models": {"large": {"provider": "openai", "model": "gpt-5"}}}`}, "sets models.large to another provider's model"},
		"pickedCodas":   {map[string]string{stateRel: `{"models": {"large": {"provider": "coda-databricks", "model": "databricks-claude-sonnet-4-6", "max_tokens": 64000}}}`}, ""},
		"pickedOther":   {map[string]string{stateRel: `{"models": {"small": {"provider": "coda-databricks", "model": "databricks-claude-opus-4-6"}}}`}, "sets models.small to coda-databricks's databricks-claude-opus-4-6 (the one last picked in Crush), which wins over crush.json's databricks-claude-haiku-4-5"},
		"stateProvider": {map[string]string{stateRel: `{"providers": {"coda-databricks": {"api_key": "x"}}}`}, "defines provider coda-databricks, which Crush merges over coda's"},
		"stateBroken":   {map[string]string{stateRel: `{"models": `}, "is not a valid JSON object, and Crush does not start"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			notes := strings.Join(f.Plan(target()).Notes, "\n")
			if tc.want == "" && notes != "" || !strings.Contains(notes, tc.want) {
				t.Errorf("notes %q, want %q", notes, tc.want)
			}
			f.Apply(target())
			if st := f.Status(target()); st.State != configurator.StateConfigured || !strings.Contains(st.Detail, tc.want) {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		setup func(f *plugintest.Fixture) // before Status
		tgt   func() configurator.Target
		state configurator.State
		want  []string
	}{
		{"absent", nil, func(f *plugintest.Fixture) { f.Bins = map[string]bool{} }, target, configurator.StateAbsent, []string{"not on PATH"}},
		{"notConfigured", map[string]string{configRel: userConfig}, nil, target, configurator.StateNotConfigured, []string{"no coda-databricks provider in ~/.config/crush/crush.json"}},
		{"foreign", map[string]string{configRel: `{"providers": {"dbx": {"type": "openai-compat", "base_url": "` + plugintest.GoldenHost + `/serving-endpoints", "api_key": "$DATABRICKS_TOKEN"}}}`}, nil, target, configurator.StateForeign, []string{`"dbx"`}},
		{"configuredDirect", nil, func(f *plugintest.Fixture) { f.Apply(target()) }, target, configurator.StateConfigured,
			[]string{"before each prompt", "a running session dies when coda deletes the token it loaded", "coda setup crush --proxy auto", "/usr/local/bin/coda token -p default"}},
		{"configuredProxied", nil, func(f *plugintest.Fixture) { f.Apply(proxiedTarget()) }, proxiedTarget, configurator.StateConfigured,
			[]string{"coda's proxy http://127.0.0.1:41999/serving-endpoints", "survive rotations", "holds the proxy's local key"}},
		{"staleProxyOff", nil, func(f *plugintest.Fixture) { f.Apply(proxiedTarget()) }, target, configurator.StateStale,
			[]string{"coda-databricks points at http://127.0.0.1:41999/serving-endpoints, not " + plugintest.GoldenHost + "/serving-endpoints"}},
		{"staleModel", nil, func(f *plugintest.Fixture) { f.Apply(target()) }, func() configurator.Target {
			t := target()
			t.Models = map[string]string{"small": "databricks-claude-sonnet-4-6"}
			return t
		}, configurator.StateStale, []string{"differs from what coda writes"}},
		{"staleModelChoice", nil, func(f *plugintest.Fixture) {
			f.Apply(target())
			doc := f.ReadJSON(configRel)
			_ = doc.SetPath(selection("databricks-claude-opus-4-6"), keyModels, "large")
			f.Write(configRel, string(jsonedit.Marshal(doc)))
		}, target, configurator.StateStale, []string{"models.large in ~/.config/crush/crush.json is not coda-databricks's databricks-claude-sonnet-4-6"}},
		{"staleProfile", nil, func(f *plugintest.Fixture) { f.Apply(target()) }, func() configurator.Target {
			t := target()
			t.Profile = "work"
			t.TokenCommand = []string{"/usr/local/bin/coda", "token", "-p", "work"}
			return t
		}, configurator.StateStale, []string{"coda-databricks runs /usr/local/bin/coda token -p default, not /usr/local/bin/coda token -p work"}},
		{"providerDeleted", nil, func(f *plugintest.Fixture) {
			f.Apply(target())
			doc := f.ReadJSON(configRel)
			doc.Delete(keyProviders)
			f.Write(configRel, string(jsonedit.Marshal(doc)))
		}, target, configurator.StateStale, []string{"coda-databricks is missing from ~/.config/crush/crush.json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			if tc.setup != nil {
				tc.setup(f)
			}
			st := f.Status(tc.tgt())
			if st.State != tc.state {
				t.Errorf("state %s, want %s (%s)", st.State, tc.state, st.Detail)
			}
			for _, w := range tc.want {
				if !strings.Contains(st.Detail, w) {
					t.Errorf("detail %q lacks %q", st.Detail, w)
				}
			}
			if strings.Contains(st.Detail, tc.tgt().Token) || strings.Contains(st.Detail, "\n") {
				t.Errorf("detail holds the token or spans lines: %q", st.Detail)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.Name != "crush" || info.Delivery != configurator.DeliveryHelper || !info.InAll ||
		info.Proxy != configurator.ProxyAuto || !slices.Equal(info.Binaries, []string{"crush"}) ||
		!strings.HasPrefix(info.NPMPackage, "@charmland/crush@") {
		t.Errorf("Info %+v", info)
	}
}
