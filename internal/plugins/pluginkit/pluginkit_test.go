package pluginkit_test

import (
	"bytes"
	"encoding/json"
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
	format := pluginkit.RecordFormat{Plugin: "tool"}

	rec, s, err := pluginkit.LoadRecord(env, format)
	if err != nil || rec != nil || s.Path != path || s.Raw != nil || s.Exists() {
		t.Fatalf("missing: %+v %+v, %v", rec, s, err)
	}
	if c := s.Save(pluginkit.NewRecord()); c.Changed() {
		t.Errorf("an empty record is written: %+v", c)
	}
	rec = pluginkit.NewRecord()
	rec.AddFile("/home/u/.tool/config", true).Keep(pluginkit.Key{"token"}, "sk-user-own", true)
	w := s.Save(rec)
	if w.Path != path || w.Old != nil || w.Perm != configurator.SecretPerm || !w.Secret || w.Backup || w.New == nil {
		t.Errorf("Save = %+v", w)
	}
	if err := configurator.WriteChanges(env, configurator.Plan{Changes: []configurator.Change{w}}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("written: %v, %v", info, err)
	}

	got, s, err := pluginkit.LoadRecord(env, format)
	if err != nil || !s.Exists() || !reflect.DeepEqual(got, rec) {
		t.Fatalf("present: %+v, %v", got, err)
	}
	if c := s.Save(got); c.Changed() {
		t.Error("writing the same record changes it")
	}
	r := s.Remove()
	if r.Path != path || !bytes.Equal(r.Old, w.New) || r.New != nil || !r.Secret || r.Backup {
		t.Errorf("Remove = %+v", r)
	}
	if c := s.Save(nil); c.New != nil || !c.Changed() {
		t.Errorf("Save(nil) = %+v", c)
	}

	plugintest.WriteFile(t, filepath.Join(state, "plugins", "dir.json", "x"), "")
	if _, _, err := pluginkit.LoadRecord(env, pluginkit.RecordFormat{Plugin: "dir"}); err == nil || !strings.HasPrefix(err.Error(), "cannot read ") {
		t.Errorf("a sidecar that cannot be read: %v", err)
	}
}

// TestRecordLayout: one line per parent and key record, HTML characters
// as they are, absent told apart from empty.
func TestRecordLayout(t *testing.T) {
	rec := pluginkit.NewRecord()
	rec.SetFact("profile", "default")
	f := rec.AddFile("/h/.cfg", false)
	f.AddParent(pluginkit.Key{"DEFAULT"}, true).SetFact("coda_profile", "p")
	f.Keep(pluginkit.Key{"DEFAULT", "host"}, "", true).Wrote = "https://x"
	f.Keep(pluginkit.Key{"DEFAULT", "token"}, "", false)
	f.Keep(pluginkit.Key{"a<b>"}, `"v&w"`, true)
	rec.AddFile("/h/.empty", true)
	c := (pluginkit.Sidecar{Path: "/s/x.json"}).Save(rec)
	want := `{
  "version": 2,
  "facts": {
    "profile": "default"
  },
  "files": [
    {
      "path": "/h/.cfg",
      "created": false,
      "parents": [
        {"key": ["DEFAULT"], "created": true, "facts": {"coda_profile": "p"}}
      ],
      "keys": [
        {"key": ["DEFAULT", "host"], "original": "", "wrote": "https://x"},
        {"key": ["DEFAULT", "token"]},
        {"key": ["a<b>"], "original": "\"v&w\""}
      ]
    },
    {
      "path": "/h/.empty",
      "created": true
    }
  ]
}
`
	if string(c.New) != want {
		t.Errorf("got\n%s\nwant\n%s", c.New, want)
	}
	if v, ok := f.Original("DEFAULT", "host"); !ok || v != "" {
		t.Errorf("an empty original: %q, %v", v, ok)
	}
	if _, ok := f.Original("DEFAULT", "token"); ok {
		t.Error("an absent original is present")
	}
	if _, ok := f.Original("nothere"); ok {
		t.Error("a key not recorded is present")
	}
	// Dropping a section drops its keys.
	f.Drop(pluginkit.Key{"DEFAULT"})
	if f.Parent("DEFAULT") != nil || f.Key("DEFAULT", "host") != nil || f.Key("a<b>") == nil {
		t.Errorf("after Drop: %+v %+v", f.Parents, f.Keys)
	}
	rec.DropFile("/h/.cfg")
	if rec.File("/h/.cfg") != nil || rec.File("/h/.empty") == nil {
		t.Errorf("after DropFile: %+v", rec.Files)
	}
	var none *pluginkit.Record
	if none.File("/h/.cfg") != nil || none.Fact("profile") != "" || !none.Empty() {
		t.Error("a nil record records something")
	}
}

// TestRecordVersions: version 2 is read as it is, version 1 through the
// plugin's legacy reader, anything else is damaged; a damaged record is a
// one-line error that names the file, says to move it aside and quotes
// nothing of it.
func TestRecordVersions(t *testing.T) {
	home := t.TempDir()
	env := configurator.Env{Home: home, StateDir: filepath.Join(home, ".local", "state", "coda")}
	side := pluginkit.SidecarPath(env, "tool")
	legacy := func(raw []byte) (*pluginkit.Record, error) {
		var v1 struct {
			Model *string `json:"model"`
		}
		if err := json.Unmarshal(raw, &v1); err != nil {
			return nil, err
		}
		rec := pluginkit.NewRecord()
		rec.AddFile("/h/cfg", false).Keep(pluginkit.Key{"model"}, deref(v1.Model), v1.Model != nil)
		return rec, nil
	}
	format := pluginkit.RecordFormat{Plugin: "tool", Legacy: legacy}

	plugintest.WriteFile(t, side, `{"version": 1, "model": "o3"}`)
	rec, s, err := pluginkit.LoadRecord(env, format)
	if err != nil || rec.Version != pluginkit.RecordVersion {
		t.Fatalf("legacy: %+v, %v", rec, err)
	}
	if v, ok := rec.File("/h/cfg").Original("model"); !ok || v != "o3" {
		t.Errorf("legacy original %q, %v", v, ok)
	}
	// The same record keeps the legacy file as it is; another is written
	// in the current layout.
	if c := s.Save(rec); c.Changed() {
		t.Errorf("the unchanged legacy record is rewritten:\n%s", c.New)
	}
	rec.File("/h/cfg").Keep(pluginkit.Key{"model"}, "o4", true)
	if c := s.Save(rec); !c.Changed() || !strings.HasPrefix(string(c.New), "{\n  \"version\": 2,") {
		t.Errorf("a changed legacy record: %s", c.New)
	}

	for name, content := range map[string]string{
		"not JSON":          `{"version": 2, "files": [sk-user-own`,
		"not an object":     `["sk-user-own"]`,
		"no version":        `{"files": [], "token": "sk-user-own"}`,
		"newer version":     `{"version": 3, "token": "sk-user-own"}`,
		"wrong types":       `{"version": 2, "files": "sk-user-own"}`,
		"file without path": `{"version": 2, "files": [{"keys": [{"key": ["t"], "original": "sk-user-own"}]}]}`,
		"empty key":         `{"version": 2, "files": [{"path": "/h/cfg", "keys": [{"key": [], "original": "sk-user-own"}]}]}`,
		"legacy refused":    `{"version": 1, "model": ["sk-user-own"]}`,
		"no legacy reader":  `{"version": 1, "token": "sk-user-own"}`,
		"check refused":     `{"version": 2, "files": [{"path": "/h/cfg", "keys": [{"key": ["t"], "original": "sk-user-own"}]}]}`,
	} {
		plugintest.WriteFile(t, side, content)
		f := format
		switch name {
		case "no legacy reader":
			f.Legacy = nil
		case "check refused":
			f.Check = func(r *pluginkit.Record) error { return r.File("/h/cfg").CheckJSON() }
		}
		_, _, err := pluginkit.LoadRecord(env, f)
		if err == nil {
			t.Errorf("%s: read", name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "~/.local/state/coda/plugins/tool.json") || !strings.Contains(msg, "move it aside") ||
			strings.Contains(msg, "sk-user-own") || strings.Contains(msg, "\n") {
			t.Errorf("%s: %s", name, msg)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestJSONText(t *testing.T) {
	o := plugintest.MustParseJSON(t, `{"n": 1.50, "s": "a\u00e9<b>", "o": {"x": [1, true, null]}, "e": ""}`)
	for _, k := range o.Keys() {
		v, _ := o.Get(k)
		text := pluginkit.JSONText(v)
		back, err := pluginkit.ParseJSONText(text)
		if err != nil || !jsonedit.Equal(back, v) {
			t.Errorf("%s: %q comes back as %v, %v", k, text, back, err)
		}
	}
	if v, _ := o.Get("n"); pluginkit.JSONText(v) != "1.50" {
		t.Errorf("a number loses its text: %s", pluginkit.JSONText(v))
	}
	if v, _ := o.Get("o"); pluginkit.JSONText(v) != `{"x":[1,true,null]}` {
		t.Errorf("an object: %s", pluginkit.JSONText(v))
	}
	for _, bad := range []string{"", "1, \"v\": 2", "{", "sk-user-own", "1 2"} {
		if _, err := pluginkit.ParseJSONText(bad); err == nil {
			t.Errorf("%q parses", bad)
		}
	}
	f := &pluginkit.FileRecord{Path: "/h/settings.json"}
	f.KeepJSON(pluginkit.Key{"a"}, "x", true)
	f.KeepJSON(pluginkit.Key{"b"}, nil, false)
	if v, ok := f.OriginalJSON("a"); !ok || v != "x" {
		t.Errorf("a = %v, %v", v, ok)
	}
	if _, ok := f.OriginalJSON("b"); ok {
		t.Error("b is present")
	}
	if err := f.CheckJSON(); err != nil {
		t.Error(err)
	}
	f.Keep(pluginkit.Key{"c"}, "sk-user-own", true)
	if err := f.CheckJSON(); err == nil || strings.Contains(err.Error(), "sk-user-own") {
		t.Errorf("CheckJSON: %v", err)
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

func TestShellCommand(t *testing.T) {
	cases := []struct {
		argv []string
		want string
	}{
		{[]string{"/usr/local/bin/coda", "token", "-p", "default", "--min-ttl", "5m0s"}, "/usr/local/bin/coda token -p default --min-ttl 5m0s"},
		{[]string{"/Users/Jo Smith/it's/coda", "token", "-p", "my profile"}, `'/Users/Jo Smith/it'\''s/coda' token -p 'my profile'`},
		{[]string{"/opt/$HOME/`x`/coda", "-p", "a;b", "*", ""}, "'/opt/$HOME/`x`/coda' -p 'a;b' '*' ''"},
		{[]string{`C:\x\coda`, "~alice"}, `'C:\x\coda' '~alice'`},
	}
	for _, tc := range cases {
		if got := pluginkit.ShellCommand(tc.argv); got != tc.want {
			t.Errorf("ShellCommand(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

func TestForeignProvider(t *testing.T) {
	doc := plugintest.MustParseJSON(t, `{"providers": {
		"coda-databricks": {"base_url": "https://h.example.com/serving-endpoints"},
		"ollama": {"base_url": "http://localhost:11434/v1"},
		"broken": {"base_url": 7},
		"dbx": {"base_url": "https://H.example.com/serving-endpoints"}
	}}`)
	if got := pluginkit.ForeignProvider(doc, "providers", "coda-databricks", "base_url", "https://h.example.com"); got != "dbx" {
		t.Errorf("ForeignProvider = %q, want dbx", got)
	}
	if got := pluginkit.ForeignProvider(doc, "providers", "coda-databricks", "base_url", "https://other.example.com"); got != "" {
		t.Errorf("another workspace: %q", got)
	}
	for _, s := range []string{`{}`, `{"providers": []}`} {
		if got := pluginkit.ForeignProvider(plugintest.MustParseJSON(t, s), "providers", "x", "base_url", "https://h.example.com"); got != "" {
			t.Errorf("%s: %q", s, got)
		}
	}
}

func TestOnlySchema(t *testing.T) {
	for doc, want := range map[string]bool{
		`{}`:                              true,
		`{"$schema": "https://s/x.json"}`: true,
		`{"$schema": "https://s/y.json"}`: false,
		`{"$schema": "https://s/x.json", "theme": "dark"}`: false,
	} {
		if got := pluginkit.OnlySchema(plugintest.MustParseJSON(t, doc), "https://s/x.json"); got != want {
			t.Errorf("OnlySchema(%s) = %v, want %v", doc, got, want)
		}
	}
}
