package pluginkit_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
)

func TestDisplay(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	env := configurator.Env{Home: home}
	for path, want := range map[string]string{
		filepath.Join(home, ".claude", "settings.json"): "~/.claude/settings.json",
		filepath.Join(home, ".databrickscfg"):           "~/.databrickscfg",
		home:                                            home, // HOME itself is shown as it is
		filepath.Join(home, "..", "other"):              filepath.Join(filepath.Dir(home), "other"),
		filepath.Dir(home) + "/home2/x":                 filepath.Dir(home) + "/home2/x",
		"/etc/gitconfig":                                "/etc/gitconfig",
	} {
		if got := pluginkit.Display(env, path); got != want {
			t.Errorf("Display(%q) = %q, want %q", path, got, want)
		}
	}
	if got := pluginkit.Display(configurator.Env{}, "/x/y"); got != "/x/y" {
		t.Errorf("without HOME: %q", got)
	}
}

func TestGetenv(t *testing.T) {
	if got := pluginkit.Getenv(configurator.Env{}, "HOME"); got != "" {
		t.Errorf("no Getenv: %q", got)
	}
	env := configurator.Env{Getenv: func(k string) string { return "v-" + k }}
	if got := pluginkit.Getenv(env, "X"); got != "v-X" {
		t.Errorf("Getenv: %q", got)
	}
}

func TestDetect(t *testing.T) {
	files := []string{"/h/.tool/a.json", "/h/.tool/b.json"}
	if d := pluginkit.Detect(configurator.Env{}, configurator.Info{Binaries: []string{"tool"}}, files...); d.Installed || d.Binary != "" || !reflect.DeepEqual(d.Files, files) {
		t.Errorf("no LookPath: %+v", d)
	}
	env := configurator.Env{LookPath: func(file string) (string, error) {
		if file == "tool" {
			return "/bin/tool", nil
		}
		return "", errors.New("not found")
	}}
	if d := pluginkit.Detect(env, configurator.Info{Binaries: []string{"nothere", "tool"}}, files...); !d.Installed || d.Binary != "/bin/tool" || !reflect.DeepEqual(d.Files, files) {
		t.Errorf("installed: %+v", d)
	}
	if d := pluginkit.Detect(env, configurator.Info{Binaries: []string{"other"}}, files[0]); d.Installed || d.Binary != "" || !reflect.DeepEqual(d.Files, files[:1]) {
		t.Errorf("not installed: %+v", d)
	}
}

func TestAppendChanged(t *testing.T) {
	same := configurator.Change{Path: "same", Old: []byte("x"), New: []byte("x")}
	edit := configurator.Change{Path: "edit", Old: []byte("x"), New: []byte("y")}
	create := configurator.Change{Path: "create", New: []byte{}}
	absent := configurator.Change{Path: "absent"} // deleting what is not there
	got := pluginkit.AppendChanged([]configurator.Change{same}, same, edit, absent, create)
	var paths []string
	for _, c := range got {
		paths = append(paths, c.Path)
	}
	if want := []string{"same", "edit", "create"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("paths %v, want %v", paths, want)
	}
}

func TestHasControl(t *testing.T) {
	for s, want := range map[string]bool{
		"dapi0123abc":    false,
		"héllo wörld ✓":  false,
		"":               false,
		"a\nb":           true,
		"a\rb":           true,
		"tab\there":      true,
		"del\x7f":        true,
		"nul\x00":        true,
		"https://x.y/z?": false,
	} {
		if got := pluginkit.HasControl(s); got != want {
			t.Errorf("HasControl(%q) = %v", s, got)
		}
	}
}

func TestPointsAt(t *testing.T) {
	refs := []string{"https://dbc-1.cloud.databricks.com", "https://123.ai-gateway.cloud.databricks.com/anthropic"}
	for base, want := range map[string]bool{
		"https://dbc-1.cloud.databricks.com/serving-endpoints/anthropic": true,
		"https://DBC-1.cloud.databricks.com":                             true,
		"https://123.ai-gateway.cloud.databricks.com/openai/v1":          true,
		"https://dbc-1.cloud.databricks.com:8443/x":                      false, // another port
		"https://dbc-2.cloud.databricks.com":                             false,
		"dbc-1.cloud.databricks.com":                                     false, // no scheme: no host
		"":                                                               false,
		"://bad":                                                         false,
	} {
		if got := pluginkit.PointsAt(base, refs...); got != want {
			t.Errorf("PointsAt(%q) = %v", base, got)
		}
	}
	if pluginkit.PointsAt("https://x.y", "", "not a url") {
		t.Error("empty refs match")
	}
}

func TestHostOf(t *testing.T) {
	for s, want := range map[string]string{
		"https://DBC-1.Cloud.Databricks.com:443/x": "dbc-1.cloud.databricks.com",
		"http://localhost:8080":                    "localhost",
		"dbc-1.cloud.databricks.com":               "",
		"://bad":                                   "",
	} {
		if got := pluginkit.HostOf(s); got != want {
			t.Errorf("HostOf(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestReadOptional(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if data, err := pluginkit.ReadOptional(missing); data != nil || err != nil {
		t.Errorf("missing: %q, %v", data, err)
	}
	if data, err := pluginkit.ReadOptional(filepath.Join(missing, "below")); data != nil || err != nil {
		t.Errorf("below a missing dir: %q, %v", data, err)
	}
	empty := filepath.Join(dir, "empty")
	plugintest.WriteFile(t, empty, "")
	if data, err := pluginkit.ReadOptional(empty); data == nil || len(data) != 0 || err != nil {
		t.Errorf("empty: %#v, %v (want a non-nil empty slice)", data, err)
	}
	full := filepath.Join(dir, "full")
	plugintest.WriteFile(t, full, "content\n")
	if data, err := pluginkit.ReadOptional(full); string(data) != "content\n" || err != nil {
		t.Errorf("full: %q, %v", data, err)
	}
	// A directory cannot be read: os's own error, naming the path.
	if _, err := pluginkit.ReadOptional(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
}

func TestReadShown(t *testing.T) {
	home := t.TempDir()
	env := configurator.Env{Home: home}
	dir := filepath.Join(home, ".tool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if data, err := pluginkit.ReadShown(env, filepath.Join(dir, "missing")); data != nil || err != nil {
		t.Errorf("missing: %q, %v", data, err)
	}
	plugintest.WriteFile(t, filepath.Join(dir, "f"), "x")
	if data, err := pluginkit.ReadShown(env, filepath.Join(dir, "f")); string(data) != "x" || err != nil {
		t.Errorf("file: %q, %v", data, err)
	}
	_, err := pluginkit.ReadShown(env, dir)
	if err == nil || err.Error() != "cannot read ~/.tool: is a directory" {
		t.Errorf("directory: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	env := configurator.Env{Home: "/home/u"}
	err := pluginkit.Malformed(env, "/home/u/.codex/config.toml", "is not valid TOML", "line 3:1: expected '='")
	if want := "~/.codex/config.toml is not valid TOML (line 3:1: expected '='): fix it or move it aside, then run coda setup again"; err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	err = pluginkit.Malformed(env, "/etc/x.ini", "is not a valid INI file", "")
	if want := "/etc/x.ini is not a valid INI file: fix it or move it aside, then run coda setup again"; err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

func TestSidecar(t *testing.T) {
	state := filepath.Join(t.TempDir(), "coda")
	env := configurator.Env{StateDir: state}
	path := filepath.Join(state, "plugins", "tool.json")
	if got := pluginkit.SidecarPath(env, "tool"); got != path {
		t.Errorf("SidecarPath = %q", got)
	}

	s, err := pluginkit.LoadSidecar(env, "tool")
	if err != nil || s.Path != path || s.Raw != nil || s.Exists() {
		t.Fatalf("missing: %+v, %v", s, err)
	}
	w := s.Write([]byte("{}\n"))
	want := configurator.Change{Path: path, Old: nil, New: []byte("{}\n"), Perm: configurator.SecretPerm, Secret: true}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("Write = %+v", w)
	}
	if err := configurator.WriteChanges(env, configurator.Plan{Changes: []configurator.Change{w}}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("written: %v, %v", info, err)
	}

	s, err = pluginkit.LoadSidecar(env, "tool")
	if err != nil || !s.Exists() || string(s.Raw) != "{}\n" {
		t.Fatalf("present: %+v, %v", s, err)
	}
	if w := s.Write([]byte("{}\n")); w.Changed() {
		t.Error("writing the same record changes it")
	}
	r := s.Remove()
	if r.Path != path || !bytes.Equal(r.Old, []byte("{}\n")) || r.New != nil || !r.Secret || r.Backup {
		t.Errorf("Remove = %+v", r)
	}

	plugintest.WriteFile(t, filepath.Join(state, "plugins", "dir.json", "x"), "")
	if _, err := pluginkit.LoadSidecar(env, "dir"); err == nil {
		t.Error("a sidecar that cannot be read: no error")
	}
}

func TestEncodeJSON(t *testing.T) {
	data, err := pluginkit.EncodeJSON(struct {
		Version int               `json:"version"`
		Keys    map[string]string `json:"keys"`
	}{1, map[string]string{"b": "<2>", "a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"version\": 1,\n  \"keys\": {\n    \"a\": \"1\",\n    \"b\": \"\\u003c2\\u003e\"\n  }\n}\n"
	if string(data) != want {
		t.Errorf("got\n%s\nwant\n%s", data, want)
	}
	if _, err := pluginkit.EncodeJSON(func() {}); err == nil {
		t.Error("a func encodes")
	}
}

func TestParseJSON(t *testing.T) {
	env := configurator.Env{Home: "/home/u"}
	path := "/home/u/.tool/settings.json"
	obj, err := pluginkit.ParseJSON(env, path, []byte(`{"a": 1}`), jsonedit.Strict)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := obj.Get("a"); !ok || v == nil {
		t.Errorf("a = %v", v)
	}
	// What the tool reads, coda reads.
	jsonc := "{\n  // mine\n  \"secret\": \"hunter2\",\n}\n"
	if _, err := pluginkit.ParseJSON(env, path, []byte(jsonc), jsonedit.JWCC); err != nil {
		t.Errorf("JWCC: %v", err)
	}
	for name, tc := range map[string]struct {
		d          jsonedit.Dialect
		data, want string
	}{
		"comments": {jsonedit.Strict, "{\n  // mine\n  \"secret\": \"hunter2\"\n}\n",
			"~/.tool/settings.json is not valid JSON (line 2:3: a comment, which strict JSON does not allow)"},
		"trailing comma": {jsonedit.Comments, "{\n  // mine\n  \"secret\": \"hunter2\",\n}\n",
			"~/.tool/settings.json is not valid JSON (line 3:22: a trailing comma, which strict JSON does not allow)"},
		"syntax": {jsonedit.JWCC, "{\n  \"secret\": \"hunter2\" \"x\"\n}\n",
			"~/.tool/settings.json is not valid JSON (line 2:23: invalid character after object value"},
		"not an object": {jsonedit.JWCC, "[\"hunter2\"]",
			"~/.tool/settings.json is not a JSON object (found an array at line 1:1)"},
	} {
		_, err := pluginkit.ParseJSON(env, path, []byte(tc.data), tc.d)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s...", name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the error quotes the content or spans lines: %q", name, err)
		}
		if !strings.HasSuffix(err.Error(), "): fix it or move it aside, then run coda setup again") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCloneAndSameJSON(t *testing.T) {
	o := plugintest.MustParseJSON(t, `{"a": {"b": [1, 2]}, "n": 1.50}`)
	c := pluginkit.CloneJSON(o)
	if !pluginkit.SameJSON(o, c) {
		t.Fatal("a clone differs")
	}
	if err := c.SetPath("x", "a", "b"); err != nil {
		t.Fatal(err)
	}
	if pluginkit.SameJSON(o, c) {
		t.Error("editing the clone did not change it, or changed the original too")
	}
	if v, _ := o.GetPath("a", "b"); v == "x" {
		t.Error("the clone shares the original's objects")
	}
	// Same values in another layout are the same document.
	if !pluginkit.SameJSON(plugintest.MustParseJSON(t, `{"a":{"b":[1,2]},"n":1.50}`), o) {
		t.Error("formatting counts")
	}
	// Key order is part of the document.
	if pluginkit.SameJSON(plugintest.MustParseJSON(t, `{"x":1,"y":2}`), plugintest.MustParseJSON(t, `{"y":2,"x":1}`)) {
		t.Error("key order does not count")
	}
}

func TestJSONChange(t *testing.T) {
	raw := []byte(`{"a":1, "e": { }}`) // not coda's two-space layout
	before := plugintest.MustParseJSON(t, string(raw))

	// Nothing but the layout would change: the bytes stay.
	same := pluginkit.CloneJSON(before)
	_ = same.SetPath(1, "e", "x")
	same.DeletePath("e", "x")
	c := pluginkit.JSONChange("/p", raw, before, same, 0o644)
	if c.Changed() || !bytes.Equal(c.New, raw) || !c.Backup || c.Perm != 0o644 || c.Path != "/p" {
		t.Errorf("unchanged: %+v", c)
	}

	after := pluginkit.CloneJSON(before)
	after.Set("b", true)
	c = pluginkit.JSONChange("/p", raw, before, after, 0o600)
	if !c.Changed() || string(c.New) != `{"a":1, "e": { }, "b": true}` || !c.Backup || c.Perm != 0o600 {
		t.Errorf("changed: %+v %s", c, c.New)
	}

	// A missing file is created, without a backup, even when empty.
	c = pluginkit.JSONChange("/p", nil, jsonedit.New(), jsonedit.New(), 0o644)
	if c.Old != nil || c.New == nil || c.Backup || !c.Changed() {
		t.Errorf("created: %+v", c)
	}
}
