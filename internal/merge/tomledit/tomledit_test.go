package tomledit

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

const codexConfig = `# Codex config
model = "o3" # my model
approval_policy = "on-request"
args = [
  "a", # first
  "b",
]
notes = """
[not_a_table]
x = 1"""

[model_providers.openai] # builtin
name = "OpenAI"

# my provider
[model_providers.mine]
name = "Mine"
base_url = "http://x"

[profiles.fast]
model = "gpt"
`

func mustParse(t *testing.T, s string) *Doc {
	t.Helper()
	d, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal(b, &m); err != nil {
		t.Fatalf("result is not valid TOML: %v\n%s", err, b)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func TestEdits(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		edit    func(d *Doc) error
		want    string
		wantErr error // errors.Is target; nil means any error when errText set
		errText string
	}{
		{
			name: "replace root value keeps comment",
			in:   codexConfig,
			edit: func(d *Doc) error { return d.SetRootKey("model", `"coda"`) },
			want: strings.Replace(codexConfig, `model = "o3" # my model`, `model = "coda" # my model`, 1),
		},
		{
			name: "replace multi-line array",
			in:   codexConfig,
			edit: func(d *Doc) error { return d.SetRootKey("args", `["x"]`) },
			want: strings.Replace(codexConfig, "args = [\n  \"a\", # first\n  \"b\",\n]", `args = ["x"]`, 1),
		},
		{
			name: "replace multi-line string containing a fake header",
			in:   codexConfig,
			edit: func(d *Doc) error { return d.SetRootKey("notes", `'''`+"\nnew\n"+`'''`) },
			want: strings.Replace(codexConfig, "notes = \"\"\"\n[not_a_table]\nx = 1\"\"\"", "notes = '''\nnew\n'''", 1),
		},
		{
			name: "insert after the last root key",
			in:   codexConfig,
			edit: func(d *Doc) error { return d.SetRootKey("model_provider", `"coda"`) },
			want: strings.Replace(codexConfig, "x = 1\"\"\"\n", "x = 1\"\"\"\nmodel_provider = \"coda\"\n", 1),
		},
		{
			name: "insert before the first table and its comment",
			in:   "# file header\n\n# about t\n[t]\na = 1\n",
			edit: func(d *Doc) error { return d.SetRootKey("model", `"m"`) },
			want: "# file header\n\nmodel = \"m\"\n\n# about t\n[t]\na = 1\n",
		},
		{
			name: "insert into a document of comments",
			in:   "# only\n# comments\n",
			edit: func(d *Doc) error { return d.SetRootKey("model", `"m"`) },
			want: "# only\n# comments\nmodel = \"m\"\n",
		},
		{
			name: "insert into an empty document",
			in:   "",
			edit: func(d *Doc) error { return d.SetRootKey("model", `"m"`) },
			want: "model = \"m\"\n",
		},
		{
			name: "insert after a last line without newline",
			in:   "a = 1",
			edit: func(d *Doc) error { return d.SetRootKey("b", `2`) },
			want: "a = 1\nb = 2\n",
		},
		{
			name: "quoted and odd spacing key replaced in place",
			in:   "  \"model\"\t=\t'x'   # c\n",
			edit: func(d *Doc) error { return d.SetRootKey("model", `"y"`) },
			want: "  \"model\"\t=\t\"y\"   # c\n",
		},
		{
			name: "key needing quotes",
			in:   "a = 1\n",
			edit: func(d *Doc) error { return d.SetRootKey("my key", `true`) },
			want: "a = 1\n\"my key\" = true\n",
		},
		{
			name:    "root key that is a table",
			in:      "[model]\nx = 1\n",
			edit:    func(d *Doc) error { return d.SetRootKey("model", `"m"`) },
			want:    "[model]\nx = 1\n",
			wantErr: ErrConflict,
		},
		{
			name:    "root key that is a dotted-key table",
			in:      "model.x = 1\n",
			edit:    func(d *Doc) error { return d.SetRootKey("model", `"m"`) },
			want:    "model.x = 1\n",
			wantErr: ErrConflict,
		},
		{
			name:    "literal with two values",
			in:      "a = 1\n",
			edit:    func(d *Doc) error { return d.SetRootKey("b", "1\nc = 2") },
			want:    "a = 1\n",
			errText: "invalid value literal",
		},
		{
			name:    "literal with a comment",
			in:      "a = 1\n",
			edit:    func(d *Doc) error { return d.SetRootKey("b", "1 # x") },
			want:    "a = 1\n",
			errText: "invalid value literal",
		},
		{
			name:    "unterminated literal",
			in:      "a = 1\n",
			edit:    func(d *Doc) error { return d.SetRootKey("b", `"sk-secret`) },
			want:    "a = 1\n",
			errText: "invalid value literal",
		},
		{
			name:    "empty literal",
			in:      "a = 1\n",
			edit:    func(d *Doc) error { return d.SetRootKey("b", "") },
			want:    "a = 1\n",
			errText: "non-empty",
		},
		{
			name: "delete root key",
			in:   "a = 1\nmodel = [\n 1,\n 2,\n] # c\nb = 2\n",
			edit: func(d *Doc) error {
				if !d.DeleteRootKey("model") || d.DeleteRootKey("model") {
					return errors.New("wrong presence")
				}
				return nil
			},
			want: "a = 1\nb = 2\n",
		},
		{
			name: "delete root key leaves table keys alone",
			in:   "[t]\nmodel = 1\n",
			edit: func(d *Doc) error {
				if d.DeleteRootKey("model") {
					return errors.New("deleted a table key")
				}
				return nil
			},
			want: "[t]\nmodel = 1\n",
		},
		{
			name: "replace table body, keep header comment, trailing comment and subtables",
			in:   "[p] # mine\nname = \"a\"\n# inner\nurl = \"u\"\n\n# next\n[p.sub]\nk = 1\n",
			edit: func(d *Doc) error {
				return d.SetTable("p", []KV{{"name", `"b"`}, {"env_key", `"E"`}})
			},
			want: "[p] # mine\nname = \"b\"\nenv_key = \"E\"\n\n# next\n[p.sub]\nk = 1\n",
		},
		{
			name: "append table after a blank line",
			in:   codexConfig,
			edit: func(d *Doc) error {
				return d.SetTable("model_providers.coda", []KV{{"name", Quote("Coda")}, {"base_url", Quote("https://h/x")}})
			},
			want: codexConfig + "\n[model_providers.coda]\nname = \"Coda\"\nbase_url = \"https://h/x\"\n",
		},
		{
			name: "append table to a document without final newline",
			in:   "a = 1",
			edit: func(d *Doc) error { return d.SetTable("t", []KV{{"k", "1"}}) },
			want: "a = 1\n\n[t]\nk = 1\n",
		},
		{
			name: "append table to an empty document",
			in:   "",
			edit: func(d *Doc) error { return d.SetTable("t", []KV{{"k", "1"}}) },
			want: "[t]\nk = 1\n",
		},
		{
			name: "empty body",
			in:   "[t]\nk = 1\n",
			edit: func(d *Doc) error { return d.SetTable("t", nil) },
			want: "[t]\n",
		},
		{
			name: "insert table before its first subtable",
			in:   "a = 1\n\n# sub\n[p.x]\nk = 1\n",
			edit: func(d *Doc) error { return d.SetTable("p", []KV{{"n", "2"}}) },
			want: "a = 1\n\n[p]\nn = 2\n\n# sub\n[p.x]\nk = 1\n",
		},
		{
			name: "quoted table name",
			in:   "[model_providers.\"my.p\"]\nname = \"x\"\n",
			edit: func(d *Doc) error { return d.SetTable(TableName("model_providers", "my.p"), []KV{{"name", `"y"`}}) },
			want: "[model_providers.\"my.p\"]\nname = \"y\"\n",
		},
		{
			name: "table header written with spaces and literal quotes",
			in:   "[ model_providers . 'coda' ]\nname = \"x\"\n",
			edit: func(d *Doc) error { return d.SetTable("model_providers.coda", []KV{{"name", `"y"`}}) },
			want: "[ model_providers . 'coda' ]\nname = \"y\"\n",
		},
		{
			name:    "root dotted keys define the table",
			in:      "model_providers.coda.name = \"x\"\n",
			edit:    func(d *Doc) error { return d.SetTable("model_providers.coda", []KV{{"name", `"y"`}}) },
			want:    "model_providers.coda.name = \"x\"\n",
			wantErr: ErrConflict,
		},
		{
			name:    "inline table defines an ancestor",
			in:      "model_providers = { coda = { name = \"x\" } }\n",
			edit:    func(d *Doc) error { return d.SetTable("model_providers.coda", []KV{{"name", `"y"`}}) },
			want:    "model_providers = { coda = { name = \"x\" } }\n",
			wantErr: ErrConflict,
		},
		{
			name:    "dotted keys in the parent table",
			in:      "[model_providers]\ncoda.name = \"x\"\n",
			edit:    func(d *Doc) error { return d.SetTable("model_providers.coda", []KV{{"name", `"y"`}}) },
			want:    "[model_providers]\ncoda.name = \"x\"\n",
			wantErr: ErrConflict,
		},
		{
			name:    "value in the parent table",
			in:      "[model_providers]\ncoda = 1\n",
			edit:    func(d *Doc) error { return d.SetTable("model_providers.coda", []KV{{"name", `"y"`}}) },
			want:    "[model_providers]\ncoda = 1\n",
			wantErr: ErrConflict,
		},
		{
			name:    "array of tables",
			in:      "[[model_providers]]\nname = \"x\"\n",
			edit:    func(d *Doc) error { return d.SetTable("model_providers.coda", []KV{{"name", `"y"`}}) },
			want:    "[[model_providers]]\nname = \"x\"\n",
			wantErr: ErrConflict,
		},
		{
			name:    "body key collides with a subtable",
			in:      "[p.sub]\nk = 1\n",
			edit:    func(d *Doc) error { return d.SetTable("p", []KV{{"sub", "1"}}) },
			want:    "[p.sub]\nk = 1\n",
			errText: "would not be valid TOML",
		},
		{
			name:    "duplicate body keys",
			in:      "",
			edit:    func(d *Doc) error { return d.SetTable("p", []KV{{"a", "1"}, {"a", "2"}}) },
			want:    "",
			errText: "would not be valid TOML",
		},
		{
			name:    "invalid table name",
			in:      "",
			edit:    func(d *Doc) error { return d.SetTable("a]\n[b", nil) },
			want:    "",
			errText: "invalid TOML key",
		},
		{
			name:    "invalid body key",
			in:      "",
			edit:    func(d *Doc) error { return d.SetTable("a", []KV{{"x = 1\ny", "2"}}) },
			want:    "",
			errText: "invalid key",
		},
		{
			name: "dotted body key",
			in:   "",
			edit: func(d *Doc) error { return d.SetTable("a", []KV{{"b.c", "2"}}) },
			want: "[a]\nb.c = 2\n",
		},
		{
			name: "CRLF document keeps CRLF",
			in:   "a = 1\r\n\r\n[t]\r\nk = 1\r\n",
			edit: func(d *Doc) error {
				if err := d.SetRootKey("b", "2"); err != nil {
					return err
				}
				return d.SetTable("u", []KV{{"k", "3"}})
			},
			want: "a = 1\r\nb = 2\r\n\r\n[t]\r\nk = 1\r\n\r\n[u]\r\nk = 3\r\n",
		},
		{
			name: "delete table keeps subtables and following comments",
			in:   "a = 1\n\n[p]\nx = 1\n\n# sub\n[p.s]\ny = 2\n",
			edit: func(d *Doc) error { _, err := d.DeleteTable("p", false); return err },
			want: "a = 1\n\n# sub\n[p.s]\ny = 2\n",
		},
		{
			name: "delete table with subtables",
			in:   "a = 1\n\n[p]\nx = 1\n\n[p.s]\ny = 2\n\n[[p.arr]]\nz = 3\n\n[q]\nw = 4\n",
			edit: func(d *Doc) error { _, err := d.DeleteTable("p", true); return err },
			want: "a = 1\n\n[q]\nw = 4\n",
		},
		{
			name: "delete table at the end",
			in:   "a = 1\n\n[p]\nx = 1",
			edit: func(d *Doc) error { _, err := d.DeleteTable("p", false); return err },
			want: "a = 1\n",
		},
		{
			name: "delete missing table",
			in:   "a = 1\n",
			edit: func(d *Doc) error {
				if ok, err := d.DeleteTable("p", true); ok || err != nil {
					return errors.New("deleted something")
				}
				return nil
			},
			want: "a = 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, tt.in)
			err := tt.edit(d)
			switch {
			case tt.wantErr == nil && tt.errText == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			case tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)):
				t.Fatalf("error = %v, want one containing %q", err, tt.errText)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error echoes content: %v", err)
			}
			got := string(d.Bytes())
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			decode(t, d.Bytes())
		})
	}
}

func TestRoundTripBytes(t *testing.T) {
	for _, in := range []string{codexConfig, "", "\n", "a=1", "  # c\r\n", "a = 1\n   "} {
		if got := string(mustParse(t, in).Bytes()); got != in {
			t.Errorf("Bytes() = %q, want %q", got, in)
		}
	}
}

func TestSetThenDeleteRestoresBytes(t *testing.T) {
	for _, in := range []string{codexConfig, "", "a = 1", "# c\n\n[t]\nk = 1\n", "[t]\nk = 1\n", "[p.x]\nk = 1\n"} {
		d := mustParse(t, in)
		if err := d.SetRootKey("model_provider", `"coda"`); err != nil {
			t.Fatal(err)
		}
		if err := d.SetTable("p", []KV{{"name", `"Coda"`}}); err != nil {
			t.Fatal(err)
		}
		d.DeleteRootKey("model_provider")
		if _, err := d.DeleteTable("p", false); err != nil {
			t.Fatal(err)
		}
		want := in
		if in == "a = 1" {
			want = "a = 1\n"
		}
		if got := string(d.Bytes()); got != want {
			t.Errorf("set+delete of %q gave %q", in, got)
		}
	}
}

func TestRootKeyAndTable(t *testing.T) {
	d := mustParse(t, codexConfig+"[t]\n\"a b\" = 1\nc.d = [\n 2,\n]\n")
	if lit, ok := d.RootKey("args"); !ok || lit != "[\n  \"a\", # first\n  \"b\",\n]" {
		t.Errorf("RootKey(args) = %q, %v", lit, ok)
	}
	if _, ok := d.RootKey("name"); ok {
		t.Error("RootKey found a table key")
	}
	kvs, ok := d.Table("model_providers.mine")
	if want := []KV{{"name", `"Mine"`}, {"base_url", `"http://x"`}}; !ok || !reflect.DeepEqual(kvs, want) {
		t.Errorf("Table = %v, %v", kvs, ok)
	}
	kvs, ok = d.Table("t")
	if want := []KV{{`"a b"`, `1`}, {"c.d", "[\n 2,\n]"}}; !ok || !reflect.DeepEqual(kvs, want) {
		t.Errorf("Table(t) = %q, %v", kvs, ok)
	}
	if kvs, ok := d.Table("model_providers"); ok {
		t.Errorf("Table of an implicit table = %v", kvs)
	}
	if _, ok := d.Table("]"); ok {
		t.Error("Table of an invalid name")
	}
	// What Table returns can be set back unchanged.
	kvs, _ = d.Table("t")
	before := string(d.Bytes())
	if err := d.SetTable("t", kvs); err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != before {
		t.Errorf("SetTable(Table()) changed the document:\n%s", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a = 1\nb = \"sk-secret\" x\n", "line 2:"},
		{"a = 1\na = \"sk-secret\"\n", "line 2: a key or table is defined more than once"},
		{"[sk-secret]\nx=1\n[sk-secret]\n", "line 3: a key or table is defined more than once"},
		{"a = 1\nsk-secret = 1.5e\n", "line 2:"},
		{"a = \"\\q sk-secret\"\n", "line 1:"},
		{"sk-secret.x = 1\n[sk-secret]\n", "line 2:"},
		{"a = [1, 2\n", "line"},
		{"[a\n", "line 1:"},
		{"sk-secret\n", "line 1:"},
		{"a = 'sk-secret\n", "line 1:"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tt.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) || strings.Contains(msg, "secret") || strings.ContainsRune(msg, '\n') {
			t.Errorf("Parse(%q) error %q, want one line with %q and no content", tt.in, msg, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "tab\tnl\ncr\r", "\x00\x1f\x7f", "ünï ☃", "a\xffb", `'''`, `"""`} {
		lit := Quote(s)
		var m map[string]string
		if err := toml.Unmarshal([]byte("k = "+lit), &m); err != nil {
			t.Errorf("Quote(%q) = %s: %v", s, lit, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if m["k"] != want {
			t.Errorf("Quote(%q) decodes to %q", s, m["k"])
		}
	}
	if got := QuoteArray([]string{"a", `b"`}); got != `["a", "b\""]` {
		t.Errorf("QuoteArray = %s", got)
	}
	if got := QuoteArray(nil); got != `[]` {
		t.Errorf("QuoteArray(nil) = %s", got)
	}
	for in, want := range map[string]string{"a-b_1": "a-b_1", "a.b": `"a.b"`, "": `""`, "é": `"é"`, "a b": `"a b"`} {
		if got := QuoteKey(in); got != want {
			t.Errorf("QuoteKey(%q) = %s, want %s", in, got, want)
		}
	}
	if got := TableName("model_providers", "my.p", "x"); got != `model_providers."my.p".x` {
		t.Errorf("TableName = %s", got)
	}
}
