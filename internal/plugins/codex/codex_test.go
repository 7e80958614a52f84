package codex_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/coda-cli/coda/internal/merge/tomledit"
	"github.com/coda-cli/coda/internal/plugins/codex"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const configRel = ".codex/config.toml"

func target() configurator.Target { return plugintest.Target() }

// userConfig has comments everywhere, profiles, MCP servers, another
// provider and the user's own model.
const userConfig = `# Codex configuration
# (see https://github.com/openai/codex/blob/main/docs/config.md)

model = "o3"  # my favourite
model_provider = "openai"
approval_policy = "on-request" # ask first
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

# Profiles
[profiles.fast]
model = "gpt-5-mini" # cheap
model_reasoning_effort = "low"

[profiles.azure]
model_provider = "azure"

[mcp_servers.docs]
# the docs server
command = "npx"
args = ["-y", "@acme/docs-mcp"]

[mcp_servers.docs.env]
DOCS_TOKEN_FILE = "/home/alice/.docs"

[model_providers.azure]
name = "Azure"
base_url = "https://acme.openai.azure.com/openai"
env_key = "AZURE_OPENAI_API_KEY"  # exported in ~/.zshrc
query_params = { api-version = "2025-04-01-preview" }

[analytics]
enabled = false

# trailing comment
`

func userFiles() map[string]string { return map[string]string{configRel: userConfig} }

// split decodes config.toml into what coda does not own (the document's
// text with coda's keys and tables deleted: comments, order and spelling
// count) and what it owns (decoded values).
func split(rel string, data []byte) (any, any, error) {
	if filepath.ToSlash(rel) != configRel {
		return nil, nil, errors.New("not a file the codex plugin manages: " + rel)
	}
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, nil, err
	}
	var owned map[string]any
	put := func(k string, v any) {
		if owned == nil {
			owned = map[string]any{}
		}
		owned[k] = v
	}
	for _, k := range codex.RootKeys {
		if v, ok := m[k]; ok {
			put(k, v)
		}
	}
	if mp, ok := m["model_providers"].(map[string]any); ok {
		if v, ok := mp[codex.ProviderID]; ok {
			put("provider", v)
		}
	}
	doc, err := tomledit.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range codex.RootKeys {
		doc.DeleteRootKey(k)
	}
	if _, err := doc.DeleteTable(codex.ProviderTable(), true); err != nil {
		return nil, nil, err
	}
	return string(doc.Bytes()), owned, nil
}

func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New:       codex.New,
		Target:    target,
		Binaries:  []string{"codex"},
		UserFiles: userFiles(),
		Malformed: map[string]string{
			configRel: "model = \"o3\"\n[profiles.x\nmodel = 1\n",
		},
		Split: split,
	})
}

// --- harness -------------------------------------------------------------

func newFixture(t *testing.T, files map[string]string) *plugintest.Fixture {
	t.Helper()
	return plugintest.NewFixture(t, codex.New(), files)
}

func decodeFile(t *testing.T, data string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("coda wrote invalid TOML: %v", err)
	}
	return m
}

func provider(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	mp, _ := m["model_providers"].(map[string]any)
	p, ok := mp[codex.ProviderID].(map[string]any)
	if !ok {
		t.Fatal("no coda provider")
	}
	return p
}

// --- golden files --------------------------------------------------------

func TestGolden(t *testing.T) {
	cases := map[string]map[string]string{
		"empty":    nil,
		"existing": userFiles(),
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, files)
			p := f.Plan(target())
			for _, c := range p.Changes {
				if c.New == nil {
					t.Fatalf("the plan deletes %s", c.Path)
				}
			}
			plugintest.CompareGolden(t, filepath.Join("testdata", "golden", name), f.Golden(p))
		})
	}
}

// --- edge cases ----------------------------------------------------------

func TestExistingConfigMergedAndRestored(t *testing.T) {
	f := newFixture(t, userFiles())
	p := f.Apply(target())
	got := f.Read(configRel)

	// Every line of the user's file is still there, in order, except the
	// two root keys coda owns, whose comments stay on their lines.
	var kept []string
	for _, line := range strings.Split(userConfig, "\n") {
		if !strings.HasPrefix(line, "model = ") && !strings.HasPrefix(line, "model_provider = ") {
			kept = append(kept, line)
		}
	}
	rest := got
	for _, line := range kept {
		i := strings.Index(rest, line)
		if i < 0 {
			t.Fatalf("line %q lost or out of order:\n%s", line, got)
		}
		rest = rest[i+len(line):]
	}
	if !strings.Contains(got, "model = \"databricks-gpt-5-3-codex\"  # my favourite\n") {
		t.Errorf("model not replaced in place:\n%s", got)
	}
	m := decodeFile(t, got)
	if m["model"] != "databricks-gpt-5-3-codex" || m["model_provider"] != codex.ProviderID {
		t.Errorf("root keys: model %v, model_provider %v", m["model"], m["model_provider"])
	}
	want := map[string]any{
		"name":     "Databricks (coda)",
		"base_url": "https://example.cloud.databricks.com/serving-endpoints",
		"wire_api": "responses",
		"auth": map[string]any{
			"command":             "/usr/local/bin/coda",
			"args":                []any{"token", "-p", "default"},
			"timeout_ms":          int64(10000),
			"refresh_interval_ms": int64(60000),
		},
	}
	if got := provider(t, m); !reflect.DeepEqual(got, want) {
		t.Errorf("provider = %#v\nwant %#v", got, want)
	}
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "replaced your model and model_provider") }) {
		t.Errorf("no note about the replaced root keys: %q", p.Notes)
	}
	if f.Read(configRel+".bak") != userConfig {
		t.Error("no backup of the user's config.toml")
	}

	f.Remove(target())
	if got := f.Read(configRel); got != userConfig {
		t.Errorf("remove did not restore config.toml byte for byte:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(f.State, "plugins", "codex.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the sidecar survives remove: %v", err)
	}
}

func TestModelRestoredOnRemove(t *testing.T) {
	cases := map[string]string{
		"model only":      "model = \"o3\"\n",
		"single quotes":   "model = 'o3'\nmodel_reasoning_effort = \"high\"\n",
		"after a table":   "[tui]\nnotifications = true\n",
		"provider only":   "# mine\nmodel_provider = \"ollama\"\n\n[model_providers.ollama]\nname = \"Ollama\"\nbase_url = \"http://localhost:11434/v1\"\n",
		"crlf":            "model = \"o3\"\r\n\r\n[profiles.x]\r\nmodel = \"o4-mini\"\r\n",
		"no newline":      "model = \"o3\"",
		"empty file":      "",
		"comment only":    "# nothing yet\n",
		"multiline value": "model = \"\"\"\no3\"\"\"\n",
	}
	for name, orig := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{configRel: orig})
			f.Apply(target())
			m := decodeFile(t, f.Read(configRel))
			if m["model"] != "databricks-gpt-5-3-codex" || m["model_provider"] != codex.ProviderID {
				t.Errorf("after apply: model %v, model_provider %v", m["model"], m["model_provider"])
			}
			if p := f.Plan(target()); !p.Empty() {
				t.Errorf("second plan:\n%s", configurator.Diff(p))
			}
			f.Remove(target())
			if name == "no newline" {
				orig += "\n" // tomledit ends the last line before adding one
			}
			if got := f.Read(configRel); got != orig {
				t.Errorf("after remove:\n%q\nwant\n%q", got, orig)
			}
		})
	}
}

func TestRemoveDeletesFileCodaCreated(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	if !f.Exists(configRel) {
		t.Fatal("no config.toml")
	}
	f.Remove(target())
	if f.Exists(configRel) {
		t.Errorf("config.toml survives remove:\n%s", f.Read(configRel))
	}
	if p, err := f.C.PlanRemove(f.Env, target()); err != nil || !p.Empty() {
		t.Errorf("second remove: %v %v", configurator.Diff(p), err)
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
				t.Errorf("config.toml that coda created survives remove:\n%s", f.Read(configRel))
			case files != nil && f.Read(configRel) != userConfig:
				t.Errorf("remove did not restore config.toml:\n%s", f.Read(configRel))
			}
			if _, err := os.Stat(filepath.Join(f.State, "plugins", "codex.json")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the sidecar survives remove: %v", err)
			}
		})
	}
	// A version-1 record whose original is not TOML: a one-line refusal.
	f := newFixture(t, userFiles())
	plugintest.WriteFile(t, filepath.Join(f.State, "plugins", "codex.json"), `{"version": 1, "created": false, "original": {"model": "sk-user-own"}}`)
	_, err := f.C.PlanRemove(f.Env, target())
	if err == nil || !strings.Contains(err.Error(), "codex.json") || !strings.Contains(err.Error(), "move it aside") ||
		strings.Contains(err.Error(), "sk-user-own") || strings.Contains(err.Error(), "\n") {
		t.Errorf("damaged legacy record: %v", err)
	}
}

func TestRemoveWithoutSidecar(t *testing.T) {
	const orig = "model = \"o3\"\napproval_policy = \"never\"\n"
	f := newFixture(t, map[string]string{configRel: orig})
	f.Apply(target())
	if err := os.Remove(filepath.Join(f.State, "plugins", "codex.json")); err != nil {
		t.Fatal(err)
	}
	if p := f.Plan(target()); len(p.Notes) != 0 {
		t.Errorf("notes about replacing coda's own values: %q", p.Notes)
	}
	f.Remove(target())
	got := f.Read(configRel)
	if strings.Contains(got, "coda") || strings.Contains(got, "model") {
		t.Errorf("coda's keys remain:\n%s", got)
	}
	if !strings.Contains(got, `approval_policy = "never"`) {
		t.Errorf("the user's key is gone:\n%s", got)
	}
}

func TestCodaTableReplaced(t *testing.T) {
	const orig = `model_provider = "coda-databricks"

[model_providers.coda-databricks]
# written by hand
name = "mine"
base_url = "https://example.cloud.databricks.com/serving-endpoints"
env_key = "DATABRICKS_TOKEN"
# old way
experimental_bearer_token = "dapi-hand-written-0000"
wire_api = "responses"

[profiles.x]
model = "o3"
`
	f := newFixture(t, map[string]string{configRel: orig})
	p := f.Apply(target())
	got := f.Read(configRel)
	for _, gone := range []string{"env_key", "experimental_bearer_token", "dapi-hand-written", "# written by hand", "# old way"} {
		if strings.Contains(got, gone) {
			t.Errorf("%s survives in coda's table:\n%s", gone, got)
		}
	}
	if !strings.Contains(got, "[profiles.x]\nmodel = \"o3\"\n") {
		t.Errorf("the next table was touched:\n%s", got)
	}
	notes := strings.Join(p.Notes, "\n")
	for _, want := range []string{"env_key, experimental_bearer_token", "comment line(s) inside coda's tables"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note saying %q: %q", want, p.Notes)
		}
	}
	if strings.Contains(notes, "dapi-hand-written") {
		t.Error("a note holds the user's token")
	}
	m := decodeFile(t, got)
	if _, ok := provider(t, m)["env_key"]; ok {
		t.Error("env_key next to auth: Codex rejects that")
	}
}

// Dotted keys inside coda's own table are coda's: replaced like the rest.
func TestDottedKeysInCodaTable(t *testing.T) {
	f := newFixture(t, map[string]string{configRel: "[model_providers.coda-databricks]\nauth.command = \"/bin/echo\"\nhttp_headers.x = \"y\"\n"})
	f.Apply(target())
	p := provider(t, decodeFile(t, f.Read(configRel)))
	if p["auth"].(map[string]any)["command"] != "/usr/local/bin/coda" || p["http_headers"] != nil {
		t.Errorf("provider = %v", p)
	}
	f.Remove(target())
	if got := f.Read(configRel); strings.TrimSpace(got) != "" {
		t.Errorf("after remove: %q", got)
	}
}

// Lines that define coda's provider outside its table cannot be removed by
// the line editor: remove says so instead of leaving them silently.
func TestRemoveRefusesCodaProviderOutsideItsTable(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	f.Write(configRel, "model_providers.coda-databricks.http_headers.x = \"y\"\n"+f.Read(configRel))
	_, err := f.C.PlanRemove(f.Env, target())
	if err == nil || !strings.Contains(err.Error(), "~/"+configRel) || strings.Contains(err.Error(), "\n") {
		t.Errorf("PlanRemove: %v", err)
	}
}

func TestRefused(t *testing.T) {
	const marker = "sk-SECRET-MARKER"
	cases := []struct {
		name, content, want string
		removeToo           bool
	}{
		{"syntax", "model = \"" + marker + "\n", "not valid TOML", true},
		{"duplicate key", "model = \"a\"\nmodel = \"" + marker + "\"\n", "not valid TOML", true},
		{"bad table", "[profiles.x\nmodel = \"" + marker + "\"\n", "not valid TOML", true},
		{"inline model_providers", "model_providers = { mine = { name = \"" + marker + "\", base_url = \"https://x\" } }\n", "model_providers", false},
		{"dotted model_providers", "model_providers.mine.name = \"" + marker + "\"\n", "model_providers", false},
		{"dotted in table", "[model_providers]\nmine.name = \"" + marker + "\"\n", "model_providers", false},
		{"array of tables", "[[model_providers]]\nname = \"" + marker + "\"\n", "model_providers", false},
		{"model as table", "[model]\nname = \"" + marker + "\"\n", "model", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{configRel: tc.content})
			f.Install("codex")
			check := func(op string, err error) {
				t.Helper()
				plugintest.Refused(t, op, err, configRel, tc.want, marker)
			}
			_, err := f.C.Plan(f.Env, target())
			check("Plan", err)
			if tc.removeToo {
				_, err = f.C.PlanRemove(f.Env, target())
				check("PlanRemove", err)
				_, err = f.C.Status(f.Env, target())
				check("Status", err)
			} else if p, err := f.C.PlanRemove(f.Env, target()); err != nil || !p.Empty() {
				// Nothing of coda's to remove: removing is a no-op.
				t.Errorf("PlanRemove: %v %v", configurator.Diff(p), err)
			}
			if f.Read(configRel) != tc.content {
				t.Error("the file was modified")
			}
		})
	}
}

func TestCodexHome(t *testing.T) {
	f := newFixture(t, nil)
	dir := filepath.Join(t.TempDir(), "codex-home")
	f.Vars["CODEX_HOME"] = dir
	p := f.Apply(target())
	want := filepath.Join(dir, "config.toml")
	if !slices.ContainsFunc(p.Changes, func(c configurator.Change) bool { return c.Path == want }) {
		t.Errorf("no change to %s", want)
	}
	if _, err := os.Stat(want); err != nil {
		t.Error(err)
	}
	if f.Exists(configRel) {
		t.Error("wrote ~/.codex/config.toml despite CODEX_HOME")
	}
	if d := f.C.Detect(f.Env); !slices.Equal(d.Files, []string{want}) {
		t.Errorf("Detect files %v", d.Files)
	}
	if st := f.Status(target()); st.State != configurator.StateConfigured {
		t.Errorf("status %s", st.State)
	}
}

func TestNoTokenNoEnvKey(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	for _, path := range f.FilesHolding(plugintest.GoldenToken) {
		t.Errorf("%s holds the token", path)
	}
	if f.Exists(".codex/.env") {
		t.Error("coda wrote ~/.codex/.env")
	}
	p := provider(t, decodeFile(t, f.Read(configRel)))
	for _, k := range []string{"env_key", "experimental_bearer_token"} {
		if _, ok := p[k]; ok {
			t.Errorf("coda's provider has %s", k)
		}
	}
}

func TestAuthCommand(t *testing.T) {
	f := newFixture(t, nil)
	tgt := target()
	tgt.TokenCommand = []string{`/Users/Jo Smith/it's "here"\bin/coda`, "token", "-p", "wörk $x", "--min-ttl", "5m0s"}
	f.Apply(tgt)
	auth := provider(t, decodeFile(t, f.Read(configRel)))["auth"].(map[string]any)
	if auth["command"] != tgt.TokenCommand[0] {
		t.Errorf("command = %q", auth["command"])
	}
	var args []string
	for _, a := range auth["args"].([]any) {
		args = append(args, a.(string))
	}
	if !slices.Equal(args, tgt.TokenCommand[1:]) {
		t.Errorf("args = %q", args)
	}
	if st := f.Status(tgt); st.State != configurator.StateConfigured {
		t.Errorf("status %s (%s)", st.State, st.Detail)
	}
}

// The policy owns the interval (policy.HelperRefresh); the plugin writes
// exactly what it is given.
func TestRefreshIntervalFromTarget(t *testing.T) {
	for _, refresh := range []time.Duration{10 * time.Second, 20 * time.Second, time.Minute} {
		f := newFixture(t, nil)
		tgt := target()
		tgt.HelperRefresh = refresh
		f.Apply(tgt)
		auth := provider(t, decodeFile(t, f.Read(configRel)))["auth"].(map[string]any)
		if auth["refresh_interval_ms"] != refresh.Milliseconds() {
			t.Errorf("refresh %v: refresh_interval_ms %v", refresh, auth["refresh_interval_ms"])
		}
		if st := f.Status(tgt); st.State != configurator.StateConfigured {
			t.Errorf("status %s (%s)", st.State, st.Detail)
		}
	}
}

func TestModelOverride(t *testing.T) {
	f := newFixture(t, nil)
	tgt := target()
	tgt.Models = map[string]string{"model": "databricks-gpt-5-2"}
	f.Apply(tgt)
	if m := decodeFile(t, f.Read(configRel)); m["model"] != "databricks-gpt-5-2" {
		t.Errorf("model = %v", m["model"])
	}
	if st := f.Status(target()); st.State != configurator.StateStale {
		t.Errorf("default model target: %s, want stale", st.State)
	}
}

func TestSameValueWrittenDifferentlyIsKept(t *testing.T) {
	const orig = "model = 'databricks-gpt-5-3-codex'\n"
	f := newFixture(t, map[string]string{configRel: orig})
	f.Apply(target())
	if got := f.Read(configRel); !strings.HasPrefix(got, orig) {
		t.Errorf("the user's spelling was rewritten:\n%s", got)
	}
	f.Remove(target())
	if got := f.Read(configRel); got != orig {
		t.Errorf("after remove: %q", got)
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t, nil)
	if st := f.Status(target()); st.State != configurator.StateAbsent {
		t.Errorf("not installed: %s", st.State)
	}
	f.Install("codex")
	if st := f.Status(target()); st.State != configurator.StateNotConfigured {
		t.Errorf("installed: %s", st.State)
	}
	f.Apply(target())
	if st := f.Status(target()); st.State != configurator.StateConfigured || strings.Contains(st.Detail, "\n") {
		t.Errorf("after apply: %s (%s)", st.State, st.Detail)
	}
	moved := target()
	moved.TokenCommand = []string{"/opt/coda", "token", "-p", "default", "--min-ttl", "5m0s"}
	if st := f.Status(moved); st.State != configurator.StateStale {
		t.Errorf("coda moved: %s", st.State)
	}
	fast := target()
	fast.HelperRefresh = 15 * time.Second
	if st := f.Status(fast); st.State != configurator.StateStale {
		t.Errorf("other interval: %s", st.State)
	}
	// The user switches to a provider of their own for the same workspace.
	f.Write(configRel, strings.Replace(f.Read(configRel), `model_provider = "coda-databricks"`, `model_provider = "dbx"`, 1)+
		"\n[model_providers.dbx]\nname = \"dbx\"\nbase_url = \"https://example.cloud.databricks.com/serving-endpoints\"\nenv_key = \"DATABRICKS_TOKEN\"\n")
	if st := f.Status(target()); st.State != configurator.StateForeign {
		t.Errorf("user's provider for this workspace: %s (%s)", st.State, st.Detail)
	}

	g := newFixture(t, map[string]string{configRel: "model_provider = \"dbx\"\n[model_providers.dbx]\nname = \"d\"\nbase_url = \"https://EXAMPLE.cloud.databricks.com/serving-endpoints\"\nexperimental_bearer_token = \"dapi-x\"\n"})
	g.Install("codex")
	if st := g.Status(target()); st.State != configurator.StateForeign || strings.Contains(st.Detail, "dapi-x") {
		t.Errorf("hand-written provider: %s (%s)", st.State, st.Detail)
	}
	h := newFixture(t, userFiles())
	h.Install("codex")
	if st := h.Status(target()); st.State != configurator.StateNotConfigured {
		t.Errorf("user's config: %s (%s)", st.State, st.Detail)
	}
}

func TestProfileNote(t *testing.T) {
	f := newFixture(t, map[string]string{configRel: "profile = \"azure\"\n\n[profiles.azure]\nmodel_provider = \"azure\"\n"})
	p := f.Plan(target())
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, `profile "azure" sets model_provider`) }) {
		t.Errorf("no note about the default profile: %q", p.Notes)
	}
}

func TestIdempotentAfterTargetChange(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	other := target()
	other.Host = "https://other.cloud.databricks.com"
	other.Endpoints.Responses = other.Host + "/serving-endpoints"
	p := f.Apply(other)
	if p.Empty() || len(p.Notes) != 0 {
		t.Fatalf("re-apply for another host: empty %v, notes %q", p.Empty(), p.Notes)
	}
	if p := f.Plan(other); !p.Empty() {
		t.Errorf("second plan:\n%s", configurator.Diff(p))
	}
	f.Remove(target())
	if got := f.Read(configRel); got != userConfig {
		t.Errorf("remove after a re-apply:\n%s", got)
	}
}

func TestStatusFollowsPlan(t *testing.T) {
	f := newFixture(t, nil)
	f.Install("codex")
	f.Apply(target())
	// The same values written another way: nothing to do, configured.
	respelled := strings.Replace(f.Read(configRel), `name = "Databricks (coda)"`, `name = 'Databricks (coda)'`, 1)
	f.Write(configRel, respelled)
	if p := f.Plan(target()); !p.Empty() {
		t.Errorf("plan after respelling:\n%s", configurator.Diff(p))
	}
	if st := f.Status(target()); st.State != configurator.StateConfigured {
		t.Errorf("respelled: %s (%s)", st.State, st.Detail)
	}
	// A key the user added to coda's table: Plan replaces it, so stale.
	f.Write(configRel, strings.Replace(respelled, "wire_api = \"responses\"\n", "wire_api = \"responses\"\nhttp_headers = { x = \"y\" }\n", 1))
	if st := f.Status(target()); st.State != configurator.StateStale {
		t.Errorf("extra key: %s (%s)", st.State, st.Detail)
	}
	if p := f.Plan(target()); p.Empty() {
		t.Error("Plan keeps a foreign key in coda's table")
	}
}
