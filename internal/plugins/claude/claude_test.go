package claude_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/claude"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	settingsRel = ".claude/settings.json"
	claudeRel   = ".claude.json"
)

func target() configurator.Target { return plugintest.Target() }

// userSettings is a settings.json as Claude Code and its user leave it:
// permissions, hooks, env with foreign keys and one key coda owns.
const userSettings = `{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "permissions": {
    "allow": [
      "Bash(npm run test:*)",
      "Read(~/.zshrc)"
    ],
    "deny": [
      "Read(./.env)"
    ]
  },
  "env": {
    "DISABLE_TELEMETRY": "1",
    "ANTHROPIC_MODEL": "claude-user-choice",
    "BASH_DEFAULT_TIMEOUT_MS": "120000"
  },
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Edit|Write",
        "hooks": [
          {
            "type": "command",
            "command": "prettier --write \"$CLAUDE_FILE_PATHS\""
          }
        ]
      }
    ]
  },
  "apiKeyHelper": "~/bin/get-my-key.sh",
  "cleanupPeriodDays": 30,
  "includeCoAuthoredBy": false
}
`

const userClaudeJSON = `{
  "numStartups": 42,
  "installMethod": "global",
  "autoUpdates": true,
  "theme": "dark",
  "projects": {
    "/home/alice/src/app": {
      "allowedTools": [],
      "hasTrustDialogAccepted": true,
      "lastCost": 0.1234500
    }
  },
  "hasCompletedOnboarding": false,
  "userID": "0123456789abcdef"
}
`

func userFiles() map[string]string {
	return map[string]string{settingsRel: userSettings, claudeRel: userClaudeJSON}
}

// split decodes a managed file into what coda does not own (the rest of
// the document, re-encoded in order) and what it does.
func split(rel string, data []byte) (any, any, error) {
	o, err := jsonedit.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	var owned map[string]any
	take := func(from *jsonedit.Object, key, name string) {
		if v, ok := from.Get(key); ok {
			if owned == nil {
				owned = map[string]any{}
			}
			owned[name] = v
			from.Delete(key)
		}
	}
	switch filepath.ToSlash(rel) {
	case settingsRel:
		take(o, "apiKeyHelper", "apiKeyHelper")
		if v, ok := o.Get("env"); ok {
			if e, ok := v.(*jsonedit.Object); ok {
				for _, k := range claude.EnvKeys {
					take(e, k, "env."+k)
				}
				if e.Len() == 0 {
					o.Delete("env")
				}
			}
		}
	case claudeRel:
		take(o, "hasCompletedOnboarding", "hasCompletedOnboarding")
	default:
		return nil, nil, errors.New("not a file the claude plugin manages: " + rel)
	}
	return string(jsonedit.Marshal(o)), owned, nil
}

func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New:       claude.New,
		Target:    target,
		Binaries:  []string{"claude"},
		UserFiles: userFiles(),
		Malformed: map[string]string{
			settingsRel: "{\n  \"env\": {\n    \"A\": \"1\",\n  }\n",
			claudeRel:   "{\"numStartups\": 3,,}",
		},
		Split: split,
	})
}

// --- harness -------------------------------------------------------------

// fixture adds the claude plugin's own helpers to plugintest's.
type fixture struct{ *plugintest.Fixture }

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	return &fixture{plugintest.NewFixture(t, claude.New(), files)}
}

func (f *fixture) settingsEnv() map[string]any {
	f.T.Helper()
	v, _ := f.ReadJSON(settingsRel).Get("env")
	e, ok := v.(*jsonedit.Object)
	if !ok {
		f.T.Fatal("settings.json has no env object")
	}
	out := map[string]any{}
	for _, k := range e.Keys() {
		out[k], _ = e.Get(k)
	}
	return out
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

func TestExistingSettingsMergedAndRestored(t *testing.T) {
	f := newFixture(t, userFiles())
	p := f.Apply(target())

	got := f.Read(settingsRel)
	// Foreign keys keep their values and order; coda's keys are added at
	// the end of env and of the document, or replaced in place.
	wantOrder := []string{"$schema", "permissions", "env", "hooks", "apiKeyHelper", "cleanupPeriodDays", "includeCoAuthoredBy"}
	o, _ := jsonedit.Parse([]byte(got))
	if !slices.Equal(o.Keys(), wantOrder) {
		t.Errorf("top-level keys %v, want %v", o.Keys(), wantOrder)
	}
	for _, keep := range []string{`"Bash(npm run test:*)"`, `"prettier --write \"$CLAUDE_FILE_PATHS\""`, `"cleanupPeriodDays": 30`} {
		if !strings.Contains(got, keep) {
			t.Errorf("settings.json lost %s", keep)
		}
	}
	env := f.settingsEnv()
	want := map[string]any{
		"DISABLE_TELEMETRY":                 "1",
		"ANTHROPIC_MODEL":                   "databricks-claude-sonnet-4-6",
		"BASH_DEFAULT_TIMEOUT_MS":           "120000",
		"ANTHROPIC_BASE_URL":                "https://example.cloud.databricks.com/serving-endpoints/anthropic",
		"ANTHROPIC_AUTH_TOKEN":              "",
		"ANTHROPIC_DEFAULT_OPUS_MODEL":      "databricks-claude-opus-4-6",
		"ANTHROPIC_DEFAULT_SONNET_MODEL":    "databricks-claude-sonnet-4-6",
		"ANTHROPIC_DEFAULT_HAIKU_MODEL":     "databricks-claude-haiku-4-5",
		"ANTHROPIC_CUSTOM_HEADERS":          "x-databricks-use-coding-agent-mode: true",
		"CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "60000",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v\nwant %v", env, want)
	}
	if v, _ := o.Get("apiKeyHelper"); v != "/usr/local/bin/coda token -p default" {
		t.Errorf("apiKeyHelper = %v", v)
	}
	for _, n := range []string{"apiKeyHelper", "env.ANTHROPIC_MODEL"} {
		if !slices.ContainsFunc(p.Notes, func(s string) bool { return strings.Contains(s, "replaced your "+n+" ") }) {
			t.Errorf("no note that the user's %s is replaced: %q", n, p.Notes)
		}
	}
	if f.Read(settingsRel+".bak") != userSettings {
		t.Error("no backup of the user's settings.json")
	}

	f.Remove(target())
	if got := f.Read(settingsRel); got != userSettings {
		t.Errorf("remove did not restore settings.json byte for byte:\n%s", got)
	}
	if got := f.Read(claudeRel); got != userClaudeJSON {
		t.Errorf("remove did not restore ~/.claude.json byte for byte:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(f.State, "plugins", "claude.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the sidecar survives remove: %v", err)
	}
}

func TestEnvCreatedByCodaIsDeletedOnRemove(t *testing.T) {
	const settings = "{\n  \"permissions\": {\n    \"allow\": []\n  }\n}\n"
	f := newFixture(t, map[string]string{settingsRel: settings})
	f.Apply(target())
	if _, ok := f.settingsEnv()["ANTHROPIC_BASE_URL"]; !ok {
		t.Fatal("no env written")
	}
	f.Remove(target())
	if got := f.Read(settingsRel); got != settings {
		t.Errorf("after remove:\n%s\nwant\n%s", got, settings)
	}
}

func TestEnvKeptWhenUserHadIt(t *testing.T) {
	const settings = "{\n  \"env\": {}\n}\n"
	f := newFixture(t, map[string]string{settingsRel: settings})
	f.Apply(target())
	f.Remove(target())
	if got := f.Read(settingsRel); got != settings {
		t.Errorf("after remove:\n%s\nwant\n%s", got, settings)
	}
}

func TestRemoveDeletesFilesCodaCreated(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	if !f.Exists(settingsRel) || !f.Exists(claudeRel) {
		t.Fatal("apply created no files")
	}
	if got := f.Read(claudeRel); got != "{\n  \"hasCompletedOnboarding\": true\n}\n" {
		t.Errorf("~/.claude.json = %q", got)
	}
	f.Remove(target())
	for _, rel := range []string{settingsRel, claudeRel} {
		if f.Exists(rel) {
			t.Errorf("%s survives remove: %q", rel, f.Read(rel))
		}
	}
	if p, err := f.C.PlanRemove(f.Env, target()); err != nil || !p.Empty() {
		t.Errorf("second remove: %v %v", configurator.Diff(p), err)
	}
}

func TestRemoveWithoutSidecar(t *testing.T) {
	const settings = "{\n  \"model\": \"opus\"\n}\n"
	f := newFixture(t, map[string]string{settingsRel: settings})
	f.Apply(target())
	if err := os.Remove(filepath.Join(f.State, "plugins", "claude.json")); err != nil {
		t.Fatal(err)
	}
	// A new plan recognises coda's helper and keeps no originals.
	if p := f.Plan(target()); len(p.Notes) != 0 {
		t.Errorf("notes about replacing coda's own values: %q", p.Notes)
	}
	f.Remove(target())
	got := f.Read(settingsRel)
	if strings.Contains(got, "apiKeyHelper") || strings.Contains(got, "ANTHROPIC") {
		t.Errorf("coda's keys remain:\n%s", got)
	}
	if !strings.Contains(got, `"model": "opus"`) {
		t.Errorf("the user's key is gone:\n%s", got)
	}
	// Without a record, ~/.claude.json is left as it is.
	if !strings.Contains(f.Read(claudeRel), "hasCompletedOnboarding") {
		t.Error("remove without a record touched ~/.claude.json")
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
			for rel, want := range map[string]string{settingsRel: userSettings, claudeRel: userClaudeJSON} {
				switch {
				case files == nil && f.Exists(rel):
					t.Errorf("%s that coda created survives remove:\n%s", rel, f.Read(rel))
				case files != nil && f.Read(rel) != want:
					t.Errorf("remove did not restore %s:\n%s", rel, f.Read(rel))
				}
			}
			if _, err := os.Stat(filepath.Join(f.State, "plugins", "claude.json")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the sidecar survives remove: %v", err)
			}
		})
	}
	// A version-1 record that is not one: the same one-line refusal.
	f := newFixture(t, nil)
	plugintest.WriteFile(t, filepath.Join(f.State, "plugins", "claude.json"), `{"version": 1, "settings.json": "sk-user-own"}`)
	_, err := f.C.PlanRemove(f.Env, target())
	if err == nil || !strings.Contains(err.Error(), "claude.json") || !strings.Contains(err.Error(), "move it aside") ||
		strings.Contains(err.Error(), "sk-user-own") || strings.Contains(err.Error(), "\n") {
		t.Errorf("damaged legacy record: %v", err)
	}
}

func TestRefusesMalformed(t *testing.T) {
	const marker = "sk-SECRET-MARKER"
	cases := []struct {
		name, rel, content, want string
	}{
		// Claude Code reads strict JSON, so coda refuses what it refuses.
		{"line comment", settingsRel, "{\n  // my settings\n  \"env\": {\"X\": \"" + marker + "\"}\n}\n", "is not valid JSON (line 2:3: a comment, which strict JSON does not allow): fix it or move it aside, then run coda setup again"},
		{"block comment", settingsRel, "{ /* " + marker + " */ }", "is not valid JSON (line 1:3: a comment"},
		{"trailing comma", settingsRel, "{\n  \"env\": {\"X\": \"" + marker + "\"},\n}\n", "is not valid JSON (line 2:35: a trailing comma, which strict JSON does not allow)"},
		{"claude.json comment", claudeRel, "{\"numStartups\": 3} // " + marker, "is not valid JSON (line 1:20: a comment"},
		{"array", settingsRel, "[\"" + marker + "\"]\n", "is not a JSON object (found an array at line 1:1)"},
		{"env string", settingsRel, "{\"env\": \"" + marker + "\"}\n", `"env" is not an object`},
		{"env array", settingsRel, "{\"env\": [\"" + marker + "\"]}\n", `"env" is not an object`},
		{"env null", settingsRel, "{\"env\": null}\n", `"env" is not an object`},
		{"truncated", settingsRel, "{\"env\": {\"A\": \"" + marker, "not valid JSON"},
		{"claude.json broken", claudeRel, "{\"oauthAccount\": \"" + marker + "\" \"x\": 1}", "not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{tc.rel: tc.content})
			f.Install("claude")
			check := func(op string, err error) {
				t.Helper()
				plugintest.Refused(t, op, err, tc.rel, tc.want, marker)
			}
			_, err := f.C.Plan(f.Env, target())
			check("Plan", err)
			_, err = f.C.PlanRemove(f.Env, target())
			check("PlanRemove", err)
			_, err = f.C.Status(f.Env, target())
			check("Status", err)
			if f.Read(tc.rel) != tc.content {
				t.Error("the file was modified")
			}
		})
	}
}

// hugeClaudeJSON is a ~/.claude.json like Claude Code's own: thousands of
// keys in no sorted order, formatted by JSON.stringify(x, null, 2).
func hugeClaudeJSON(onboarding string) string {
	var b strings.Builder
	b.WriteString("{\n")
	b.WriteString("  \"numStartups\": 1234,\n")
	b.WriteString("  \"projects\": {\n")
	for i := 1500; i > 0; i-- {
		b.WriteString("    \"/home/alice/src/p" + itoa(i*7919%10007) + "\": {\n")
		b.WriteString("      \"allowedTools\": [],\n")
		b.WriteString("      \"lastCost\": 1.50,\n")
		b.WriteString("      \"lastDuration\": 1e3,\n")
		b.WriteString("      \"note\": \"caf\u00e9 <b> & \\\"q\\\" \u2028 \\n\"\n")
		if i == 1 {
			b.WriteString("    }\n")
		} else {
			b.WriteString("    },\n")
		}
	}
	b.WriteString("  },\n")
	if onboarding != "" {
		b.WriteString("  \"hasCompletedOnboarding\": " + onboarding + ",\n")
	}
	for i := 0; i < 1000; i++ {
		b.WriteString("  \"zz" + itoa(1000-i) + "\": " + itoa(i) + ",\n")
	}
	b.WriteString("  \"userID\": \"abc\"\n}\n")
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestHugeClaudeJSONKeepsOrder(t *testing.T) {
	t.Run("key absent", func(t *testing.T) {
		orig := hugeClaudeJSON("")
		f := newFixture(t, map[string]string{claudeRel: orig})
		f.Apply(target())
		want := strings.TrimSuffix(orig, "\n}\n") + ",\n  \"hasCompletedOnboarding\": true\n}\n"
		if got := f.Read(claudeRel); got != want {
			t.Errorf("~/.claude.json changed beyond the one key (%d bytes, want %d)", len(got), len(want))
		}
		f.Remove(target())
		if f.Read(claudeRel) != orig {
			t.Error("remove did not restore ~/.claude.json byte for byte")
		}
	})
	t.Run("key false", func(t *testing.T) {
		orig := hugeClaudeJSON("false")
		f := newFixture(t, map[string]string{claudeRel: orig})
		f.Apply(target())
		want := strings.Replace(orig, `"hasCompletedOnboarding": false`, `"hasCompletedOnboarding": true`, 1)
		if got := f.Read(claudeRel); got != want {
			t.Error("~/.claude.json changed beyond the one value")
		}
		f.Remove(target())
		if f.Read(claudeRel) != orig {
			t.Error("remove did not restore ~/.claude.json byte for byte")
		}
	})
	t.Run("key true is not rewritten", func(t *testing.T) {
		// Not two-space formatted: rewriting would reformat it, so coda
		// must leave it alone when onboarding is already complete.
		orig := `{"numStartups":3,"hasCompletedOnboarding":true,"b":1}`
		f := newFixture(t, map[string]string{claudeRel: orig})
		p := f.Apply(target())
		for _, c := range p.Changes {
			if strings.HasSuffix(c.Path, claudeRel) {
				t.Errorf("planned a change to ~/.claude.json: %q", c.New)
			}
		}
		f.Remove(target())
		if f.Read(claudeRel) != orig {
			t.Error("~/.claude.json was modified")
		}
	})
}

// TestHelperRunsInAShell runs the helper the way Claude Code does (a shell
// command) from a path with a space and a quote, and checks the argv.
func TestHelperRunsInAShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := filepath.Join(t.TempDir(), "Jo's dir", "with space")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "co'da $x")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	argv := []string{exe, "token", "-p", "it's `mine` $HOME", "--min-ttl", "5m0s"}
	f := newFixture(t, nil)
	tgt := target()
	tgt.TokenCommand = argv
	f.Apply(tgt)
	o, _ := jsonedit.Parse([]byte(f.Read(settingsRel)))
	helper, _ := o.Get("apiKeyHelper")
	out, err := exec.Command(sh, "-c", helper.(string)).Output()
	if err != nil {
		t.Fatalf("sh -c apiKeyHelper: %v", err)
	}
	if want := strings.Join(argv[1:], "\n") + "\n"; string(out) != want {
		t.Errorf("the helper received\n%s\nwant\n%s", out, want)
	}
	if st := f.Status(tgt); st.State != configurator.StateConfigured {
		t.Errorf("status %s (%s), want configured", st.State, st.Detail)
	}
}

// The policy owns the interval (policy.HelperRefresh); the plugin writes
// exactly what it is given.
func TestHelperTTLFromTarget(t *testing.T) {
	for _, refresh := range []time.Duration{10 * time.Second, 45 * time.Second, time.Minute} {
		f := newFixture(t, nil)
		tgt := target()
		tgt.HelperRefresh = refresh
		f.Apply(tgt)
		if got, want := f.settingsEnv()["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"], itoa(int(refresh.Milliseconds())); got != want {
			t.Errorf("refresh %v: TTL %v, want %s", refresh, got, want)
		}
	}
}

func TestModels(t *testing.T) {
	cases := []struct {
		models map[string]string
		want   [4]string // model, opus, sonnet, haiku
	}{
		{nil, [4]string{"databricks-claude-sonnet-4-6", "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-haiku-4-5"}},
		{map[string]string{"model": "databricks-claude-opus-4-6"}, [4]string{"databricks-claude-opus-4-6", "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-haiku-4-5"}},
		{map[string]string{"sonnet": "s", "opus": "o", "haiku": "h"}, [4]string{"s", "o", "s", "h"}},
		{map[string]string{"model": "m", "sonnet": "s"}, [4]string{"m", "databricks-claude-opus-4-6", "s", "databricks-claude-haiku-4-5"}},
	}
	for _, tc := range cases {
		f := newFixture(t, nil)
		tgt := target()
		tgt.Models = tc.models
		f.Apply(tgt)
		env := f.settingsEnv()
		got := [4]string{}
		for i, k := range []string{"ANTHROPIC_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL"} {
			got[i], _ = env[k].(string)
		}
		if got != tc.want {
			t.Errorf("models %v: got %v, want %v", tc.models, got, tc.want)
		}
	}
}

func TestNoTokenWritten(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	for _, path := range f.FilesHolding(plugintest.GoldenToken) {
		t.Errorf("%s holds the token", path)
	}
	info, err := os.Stat(filepath.Join(f.State, "plugins", "claude.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode: %v %v", info, err)
	}
}

func TestStatus(t *testing.T) {
	other := target()
	other.Models = map[string]string{"opus": "databricks-claude-opus-4-5"}
	moved := target()
	moved.TokenCommand = []string{"/opt/coda/bin/coda", "token", "-p", "default", "--min-ttl", "5m0s"}

	f := newFixture(t, nil)
	if st := f.Status(target()); st.State != configurator.StateAbsent {
		t.Errorf("not installed: %s", st.State)
	}
	f.Install("claude")
	if st := f.Status(target()); st.State != configurator.StateNotConfigured {
		t.Errorf("installed: %s", st.State)
	}
	f.Apply(target())
	if st := f.Status(target()); st.State != configurator.StateConfigured {
		t.Errorf("after apply: %s (%s)", st.State, st.Detail)
	}
	for name, tgt := range map[string]configurator.Target{"other model": other, "coda moved": moved} {
		if st := f.Status(tgt); st.State != configurator.StateStale || strings.Contains(st.Detail, "\n") {
			t.Errorf("%s: %s (%s), want stale", name, st.State, st.Detail)
		}
	}

	// The user writes a literal token next to coda's helper.
	o, _ := jsonedit.Parse([]byte(f.Read(settingsRel)))
	_ = o.SetPath("dapi-user-literal-1234", "env", "ANTHROPIC_AUTH_TOKEN")
	f.Write(settingsRel, string(jsonedit.Marshal(o)))
	st := f.Status(target())
	if st.State != configurator.StateForeign || strings.Contains(st.Detail, "dapi-user") {
		t.Errorf("literal ANTHROPIC_AUTH_TOKEN: %s (%s), want foreign", st.State, st.Detail)
	}

	// Configured by hand for this workspace, without coda.
	g := newFixture(t, map[string]string{settingsRel: `{"apiKeyHelper": "echo x", "env": {"ANTHROPIC_BASE_URL": "https://EXAMPLE.cloud.databricks.com/serving-endpoints/anthropic"}}`})
	g.Install("claude")
	if st := g.Status(target()); st.State != configurator.StateForeign {
		t.Errorf("hand-written helper: %s (%s), want foreign", st.State, st.Detail)
	}
	// Pointed elsewhere: not this workspace's business.
	h := newFixture(t, map[string]string{settingsRel: `{"env": {"ANTHROPIC_BASE_URL": "https://api.example.org", "ANTHROPIC_AUTH_TOKEN": "x"}}`})
	h.Install("claude")
	if st := h.Status(target()); st.State != configurator.StateNotConfigured {
		t.Errorf("other gateway: %s (%s), want not-configured", st.State, st.Detail)
	}
}

func TestClaudeConfigDir(t *testing.T) {
	f := newFixture(t, nil)
	dir := filepath.Join(t.TempDir(), "claude-work")
	f.Vars["CLAUDE_CONFIG_DIR"] = dir
	p := f.Apply(target())
	for _, want := range []string{filepath.Join(dir, "settings.json"), filepath.Join(dir, ".claude.json")} {
		if !slices.ContainsFunc(p.Changes, func(c configurator.Change) bool { return c.Path == want }) {
			t.Errorf("no change to %s", want)
		}
		if _, err := os.Stat(want); err != nil {
			t.Error(err)
		}
	}
	if f.Exists(settingsRel) || f.Exists(claudeRel) {
		t.Error("wrote under HOME despite CLAUDE_CONFIG_DIR")
	}
	if d := f.C.Detect(f.Env); !slices.Contains(d.Files, filepath.Join(dir, "settings.json")) {
		t.Errorf("Detect files %v", d.Files)
	}
}

func TestIdempotentAfterTargetChange(t *testing.T) {
	f := newFixture(t, userFiles())
	f.Apply(target())
	other := target()
	other.Models = map[string]string{"model": "databricks-claude-opus-4-6"}
	p := f.Apply(other)
	if p.Empty() {
		t.Fatal("a model change planned nothing")
	}
	if len(p.Notes) != 0 {
		t.Errorf("notes on re-apply: %q", p.Notes)
	}
	if p := f.Plan(other); !p.Empty() {
		t.Errorf("second plan not empty:\n%s", configurator.Diff(p))
	}
	// Remove still restores the user's first values.
	f.Remove(target())
	if got := f.Read(settingsRel); got != userSettings {
		t.Errorf("remove after a re-apply:\n%s", got)
	}
}

// TestCompactFileKeepsItsLayout: coda's keys follow the file's layout (all
// on one line here) and remove gives the file back byte for byte.
func TestCompactFileKeepsItsLayout(t *testing.T) {
	const compact = `{"model":"opus","permissions":{"allow":[]}}`
	f := newFixture(t, map[string]string{settingsRel: compact})
	p := f.Apply(target())
	if len(p.Notes) != 0 {
		t.Errorf("notes %q", p.Notes)
	}
	got := f.Read(settingsRel)
	if !strings.HasPrefix(got, `{"model":"opus","permissions":{"allow":[]},"apiKeyHelper":"/usr/local/bin/coda token`) || strings.Contains(got, "\n") {
		t.Errorf("after apply: %q", got)
	}
	if p := f.Plan(target()); len(p.Notes) != 0 || !p.Empty() {
		t.Errorf("second plan: notes %q, empty %v", p.Notes, p.Empty())
	}
	f.Remove(target())
	if got := f.Read(settingsRel); got != compact {
		t.Errorf("after remove: %q", got)
	}
}

// A NO_PROXY that is not a string (Claude Code ignores it) is replaced
// through the proxy and comes back as it was, not as "", off the proxy.
func TestNoProxyNotAString(t *testing.T) {
	proxied := target()
	proxied.Proxied = true
	proxied.TokenCommand = []string{"/usr/local/bin/coda", "proxy", "key", "-p", "default"}
	proxied.Endpoints.Anthropic = "http://127.0.0.1:41234/serving-endpoints/anthropic"
	settings := "{\n  \"env\": {\n    \"NO_PROXY\": 8080\n  }\n}\n"
	f := newFixture(t, map[string]string{settingsRel: settings})
	f.Apply(proxied)
	if got := f.settingsEnv()["NO_PROXY"]; got != "127.0.0.1,localhost" {
		t.Errorf("through the proxy: NO_PROXY = %v", got)
	}
	f.Apply(target())
	if got := f.settingsEnv()["NO_PROXY"]; got != json.Number("8080") {
		t.Errorf("after --proxy off: NO_PROXY = %#v, want 8080", got)
	}
	f.Apply(proxied)
	f.Remove(proxied)
	if got := f.Read(settingsRel); got != settings {
		t.Errorf("remove left:\n%s\nwant:\n%s", got, settings)
	}
}

// Through coda's proxy, settings.json's env NO_PROXY covers 127.0.0.1, so
// an HTTPS_PROXY does not take Claude Code's requests to coda's proxy; the
// user's own value is kept (extended) and comes back on remove and when the
// proxy is turned off.
func TestNoProxyCoversTheProxy(t *testing.T) {
	proxied := target()
	proxied.Proxied = true
	proxied.TokenCommand = []string{"/usr/local/bin/coda", "proxy", "key", "-p", "default"}
	proxied.Endpoints.Anthropic = "http://127.0.0.1:41234/serving-endpoints/anthropic"
	for _, tc := range []struct {
		name, before, during string
	}{
		{"none", "", "127.0.0.1,localhost"},
		{"the user's", "corp.example.com", "corp.example.com,127.0.0.1,localhost"},
		{"already covered", "127.0.0.1", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settings := "{\n  \"theme\": \"dark\"\n}\n"
			if tc.before != "" {
				settings = "{\n  \"theme\": \"dark\",\n  \"env\": {\n    \"NO_PROXY\": \"" + tc.before + "\"\n  }\n}\n"
			}
			f := newFixture(t, map[string]string{settingsRel: settings})
			f.Apply(proxied)
			if got := f.settingsEnv()["NO_PROXY"]; got != tc.during {
				t.Errorf("NO_PROXY = %v, want %q", got, tc.during)
			}
			if st := f.Status(proxied); st.State != configurator.StateConfigured {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
			if p := f.Plan(proxied); !p.Empty() {
				t.Errorf("a second setup changes files:\n%s", configurator.Diff(p))
			}
			f.Apply(target()) // off the proxy: the user's value comes back
			if got, ok := f.settingsEnv()["NO_PROXY"]; ok != (tc.before != "") || (ok && got != tc.before) {
				t.Errorf("after --proxy off: NO_PROXY = %v (%v), want %q", got, ok, tc.before)
			}
			f.Apply(proxied)
			f.Remove(proxied)
			if got := f.Read(settingsRel); got != settings {
				t.Errorf("remove left:\n%s\nwant:\n%s", got, settings)
			}
		})
	}
}
