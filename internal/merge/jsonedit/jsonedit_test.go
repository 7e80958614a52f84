package jsonedit

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const claudeSettings = `{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "model": "opus",
  "env": {
    "DISABLE_TELEMETRY": "1",
    "BASH_DEFAULT_TIMEOUT_MS": 120000
  },
  "permissions": {
    "allow": [
      "Bash(npm run lint)",
      "Read(~/.zshrc)"
    ],
    "deny": [],
    "additionalDirectories": {}
  },
  "cleanupPeriodDays": 30,
  "ratio": 1.50,
  "big": 12345678901234567890123,
  "exp": -1E+400,
  "flag": true,
  "none": null,
  "unicode": "héllo — ☃ <b>&amp;</b> \u2028",
  "escapes": "tab\there \"q\" back\\slash\nnl \u0001",
  "nested": [
    [
      1,
      2
    ],
    {
      "a": {}
    },
    []
  ]
}
`

// geminiSettings has both kinds of comments, as Gemini CLI allows.
const geminiSettings = `{
  // my theme
  "ui": {"theme": "GitHub"}, // inline
  /* block
     comment */
  "general": {
    "vimMode": true
  }
}
`

// opencodeConfig has comments and trailing commas, as OpenCode allows,
// and a four-space indent.
const opencodeConfig = `{
    // providers I use
    "provider": {
        "ollama": {"npm": "@ai-sdk/openai-compatible"},
    },
    "theme": "tokyonight", // dark
}
`

// obj builds a new object from keys and values.
func obj(kv ...any) *Object {
	o := New()
	for i := 0; i < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

func mustParse(t *testing.T, d Dialect, s string) *Object {
	t.Helper()
	o, err := ParseDialect([]byte(s), d)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestRoundTripIdentical(t *testing.T) {
	docs := []struct {
		name string
		d    Dialect
		in   string
	}{
		{"claude settings", Strict, claudeSettings},
		{"compact", Strict, `{"a":1,"b":{"c":[1,2.50,"\u0041"]}}`},
		{"no final newline", Strict, "{\n  \"a\": 1\n}"},
		{"crlf", Strict, "{\r\n  \"a\": 1\r\n}\r\n"},
		{"duplicates", Strict, `{"a": 1, "a": 2}`},
		{"gemini comments", Comments, geminiSettings},
		{"opencode jwcc", JWCC, opencodeConfig},
		{"comment at the end without newline", Comments, "{\"a\": 1} // end"},
	}
	for _, tc := range docs {
		t.Run(tc.name, func(t *testing.T) {
			o := mustParse(t, tc.d, tc.in)
			if got := string(Marshal(o)); got != tc.in {
				t.Errorf("round trip changed the document:\n got: %q\nwant: %q", got, tc.in)
			}
			if got := string(Marshal(o.Clone())); got != tc.in {
				t.Errorf("a clone differs: %q", got)
			}
		})
	}
}

func TestParseKeepsOrderNumbersAndDuplicates(t *testing.T) {
	in := `{"z": 1.0, "a": 1e2, "m": {"y": 0, "x": -0.0}, "z": 2.50}`
	o := mustParse(t, Strict, in)
	if got, want := o.Keys(), []string{"z", "a", "m"}; !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	if v, _ := o.Get("z"); v != json.Number("2.50") {
		t.Errorf("z = %#v, want the last duplicate's exact text 2.50", v)
	}
	if v, _ := o.Get("a"); v != json.Number("1e2") {
		t.Errorf("a = %#v, want 1e2", v)
	}
	if v, _ := o.GetPath("m", "x"); v != json.Number("-0.0") {
		t.Errorf("m.x = %#v", v)
	}
	// Setting a duplicated key leaves one member: JSON.parse's.
	o.Set("z", 3)
	if got, want := string(Marshal(o)), `{"a": 1e2, "m": {"y": 0, "x": -0.0}, "z": 3}`; got != want {
		t.Errorf("after Set:\n got %s\nwant %s", got, want)
	}
	o = mustParse(t, Strict, in)
	o.Delete("z")
	if got, want := string(Marshal(o)), `{"a": 1e2, "m": {"y": 0, "x": -0.0}}`; got != want {
		t.Errorf("after Delete:\n got %s\nwant %s", got, want)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", " ", "\n\t\r\n "} {
		o, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if o.Len() != 0 {
			t.Errorf("Parse(%q) has %d keys", in, o.Len())
		}
		if got := string(Marshal(o)); got != "{}\n" {
			t.Errorf("Marshal = %q", got)
		}
	}
	o := mustParse(t, JWCC, "// nothing yet\n")
	o.Set("a", 1)
	if got, want := string(Marshal(o)), "// nothing yet\n{\n  \"a\": 1\n}\n"; got != want {
		t.Errorf("comments only, then Set: %q, want %q", got, want)
	}
	if _, err := Parse([]byte("// nothing\n")); err == nil {
		t.Error("strict JSON accepted a comment")
	}
}

func TestParseErrors(t *testing.T) {
	const secret = "sk-SECRET-1234"
	tests := []struct {
		name     string
		d        Dialect
		in       string
		contains []string
		is       error
	}{
		{"line comment", Strict, "{\n  // " + secret + "\n  \"a\": 1\n}", []string{"line 2:3", "a comment, which strict JSON does not allow"}, ErrComments},
		{"block comment", Strict, "{\"a\": 1 /* " + secret + " */}", []string{"line 1:9", "comment"}, ErrComments},
		{"comment after value", Strict, "{\"a\": \"x\"} // " + secret, []string{"line 1:12", "comment"}, ErrComments},
		{"trailing comma", Strict, "{\"a\": [1,],\n \"b\": 1,\n}", []string{"line 1:9", "trailing comma"}, ErrTrailingComma},
		{"trailing comma with comments", Comments, "{\n  // x\n  \"a\": 1 ,\n}", []string{"line 3:10", "trailing comma"}, ErrTrailingComma},
		{"slashes in string are not comments", Strict, "{\"u\": \"http://x/*y*/\", " + secret + "}", []string{"line 1:"}, nil},
		{"array top level", Strict, "[1, 2]", []string{"must be an object", "an array", "line 1:1"}, nil},
		{"string top level", JWCC, "  \"" + secret + "\"", []string{"must be an object", "a string", "line 1:3"}, nil},
		{"number top level", Strict, "\n12", []string{"must be an object", "line 2:1"}, nil},
		{"trailing garbage", Strict, "{\"a\": 1}\n" + secret, []string{"unexpected data after the top-level object", "line 2:1"}, nil},
		{"second object", JWCC, "{\"a\": 1}\n{\"b\": \"" + secret + "\"}", []string{"unexpected data after the top-level object", "line 2:1"}, nil},
		{"unterminated", Strict, "{\"a\": \"" + secret, []string{"line 1:", "unexpected end of input"}, nil},
		{"unterminated comment", JWCC, "{\"a\": 1 /* " + secret, []string{"unexpected end of input"}, nil},
		{"missing comma", Strict, "{\"a\": 1\n \"" + secret + "\": 2}", []string{"line 2:2", "expecting ','"}, nil},
		{"bad literal", Strict, "{\"a\": tru}", []string{"line 1:7", "invalid string, number or literal"}, nil},
		{"bad escape", Comments, "{\"a\": \"" + secret + "\\q\"}", []string{"line 1:7", "invalid string, number or literal"}, nil},
		{"invalid char", Strict, "{\"a\": " + secret + "}", []string{"invalid", "line 1:"}, nil},
		{"single quote", JWCC, "{'" + secret + "': 1}", []string{"invalid character at start of value"}, nil},
		{"bom", JWCC, "\xef\xbb\xbf{}", []string{"byte order mark"}, nil},
		{"control char in string", Strict, "{\"a\": \"x\ty\"}", []string{"line 1:"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDialect([]byte(tt.in), tt.d)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			msg := err.Error()
			for _, s := range tt.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %q", msg, s)
				}
			}
			if strings.Contains(msg, "SECRET") || strings.Contains(msg, "sk-") || strings.ContainsRune(msg, '\n') {
				t.Errorf("error %q echoes content or spans lines", msg)
			}
			for _, sentinel := range []error{ErrComments, ErrTrailingComma} {
				if got := errors.Is(err, sentinel); got != (sentinel == tt.is) {
					t.Errorf("errors.Is(err, %v) = %v (%v)", sentinel, got, err)
				}
			}
		})
	}
}

func TestDialects(t *testing.T) {
	for _, tc := range []struct {
		in                     string
		strict, comments, jwcc bool
	}{
		{`{"a": 1}`, true, true, true},
		{"{\n  // c\n  \"a\": 1\n}", false, true, true},
		{`{"a": /* c */ 1}`, false, true, true},
		{`{"a": 1,}`, false, false, true},
		{`{"a": [1, 2,]}`, false, false, true},
	} {
		for d, want := range []bool{tc.strict, tc.comments, tc.jwcc} {
			if _, err := ParseDialect([]byte(tc.in), Dialect(d)); (err == nil) != want {
				t.Errorf("dialect %d, %q: error %v, want accepted %v", d, tc.in, err, want)
			}
		}
	}
}

func TestDeepNesting(t *testing.T) {
	in := `{"a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + "}"
	if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("Parse of too-deep document: %v", err)
	}
	// Brackets in strings do not count.
	in = "{\"a\": \"\\\"" + strings.Repeat("[", MaxDepth+1) + "\"}"
	if _, err := Parse([]byte(in)); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
	in = `{"a":` + strings.Repeat(`[{"b":`, 500) + "1" + strings.Repeat("}]", 500) + "}"
	o := mustParse(t, Strict, in)
	if string(Marshal(o)) != in {
		t.Error("a deep document does not round-trip")
	}
}

// TestLayout checks where new content goes and how it is laid out, and
// that taking it out again gives the file back byte for byte.
func TestLayout(t *testing.T) {
	tests := []struct {
		name string
		d    Dialect
		in   string
		op   func(o *Object)
		want string
	}{
		{"new document", Strict, "", func(o *Object) {
			o.Set("version", 1)
			o.Set("env", obj("A", "1", "B", "2"))
			o.Set("list", []any{"x", New(), []any{}})
		}, "{\n  \"version\": 1,\n  \"env\": {\n    \"A\": \"1\",\n    \"B\": \"2\"\n  },\n  \"list\": [\n    \"x\",\n    {},\n    []\n  ]\n}\n"},
		{"the file's own indent", Strict, "{\n    \"a\": {\n        \"b\": 1\n    }\n}\n", func(o *Object) {
			_ = o.SetPath("v", "a", "c", "d")
		}, "{\n    \"a\": {\n        \"b\": 1,\n        \"c\": {\n            \"d\": \"v\"\n        }\n    }\n}\n"},
		{"tabs", Strict, "{\n\t\"a\": 1\n}\n", func(o *Object) {
			o.Set("b", obj("c", true))
		}, "{\n\t\"a\": 1,\n\t\"b\": {\n\t\t\"c\": true\n\t}\n}\n"},
		{"crlf", Strict, "{\r\n  \"a\": 1\r\n}\r\n", func(o *Object) {
			o.Set("b", 2)
		}, "{\r\n  \"a\": 1,\r\n  \"b\": 2\r\n}\r\n"},
		{"inline object stays inline", Strict, `{"a":1,"b":{"c":2}}`, func(o *Object) {
			o.Set("d", obj("e", []any{"f"}))
			_ = o.SetPath(3, "b", "x")
		}, `{"a":1,"b":{"c":2,"x":3},"d":{"e": ["f"]}}`},
		{"empty object opens up", Strict, "{\n  \"env\": {}\n}\n", func(o *Object) {
			_ = o.SetPath("1", "env", "A")
		}, "{\n  \"env\": {\n    \"A\": \"1\"\n  }\n}\n"},
		{"replace in place", Strict, "{\n  \"a\":   \"old\",\n  \"b\": 1\n}\n", func(o *Object) {
			o.Set("a", obj("x", 1))
		}, "{\n  \"a\":   {\n    \"x\": 1\n  },\n  \"b\": 1\n}\n"},
		{"comments stay where they are", Comments, geminiSettings, func(o *Object) {
			_ = o.SetPath("gemini-api-key", "security", "auth", "selectedType")
			_ = o.SetPath(true, "ui", "hideBanner")
		}, `{
  // my theme
  "ui": {"theme": "GitHub", "hideBanner": true}, // inline
  /* block
     comment */
  "general": {
    "vimMode": true
  },
  "security": {
    "auth": {
      "selectedType": "gemini-api-key"
    }
  }
}
`},
		{"a comment on the last member's line stays on it", Comments, "{\n  \"a\": 1 // about a\n}\n", func(o *Object) {
			o.Set("b", 2)
		}, "{\n  \"a\": 1, // about a\n  \"b\": 2\n}\n"},
		{"a block comment on the last member's line stays on it", Comments, "{\n  \"a\": 1 /* about a */\n}\n", func(o *Object) {
			o.Set("b", 2)
		}, "{\n  \"a\": 1, /* about a */\n  \"b\": 2\n}\n"},
		{"a comment on the opening line stays on it", Comments, "{ // settings\n}\n", func(o *Object) {
			o.Set("b", 2)
		}, "{ // settings\n  \"b\": 2\n}\n"},
		{"a comment before the closing brace stays last", Comments, "{\n  \"a\": 1\n  // the end\n}\n", func(o *Object) {
			o.Set("b", 2)
		}, "{\n  \"a\": 1,\n  \"b\": 2\n  // the end\n}\n"},
		{"trailing commas kept", JWCC, opencodeConfig, func(o *Object) {
			_ = o.SetPath(obj("npm", "x"), "provider", "coda")
			o.Set("model", "coda/m")
		}, `{
    // providers I use
    "provider": {
        "ollama": {"npm": "@ai-sdk/openai-compatible"},
        "coda": {
            "npm": "x"
        },
    },
    "theme": "tokyonight", // dark
    "model": "coda/m",
}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustParse(t, tt.d, tt.in)
			before := o.Clone()
			tt.op(o)
			got := string(Marshal(o))
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if _, err := ParseDialect([]byte(got), tt.d); err != nil {
				t.Errorf("the result does not parse in its dialect: %v", err)
			}
			if Equal(before, o) {
				t.Error("Equal says nothing changed")
			}
		})
	}
}

// TestSetThenDeleteRestores: what coda adds and takes out again leaves the
// user's file as it was, comments included.
func TestSetThenDeleteRestores(t *testing.T) {
	docs := []struct {
		d  Dialect
		in string
	}{
		{Strict, claudeSettings},
		{Strict, `{"a":1}`},
		{Strict, "{\n  \"env\": {}\n}\n"},
		{Comments, geminiSettings},
		{Comments, "{\n  \"a\": 1 // about a\n}\n"},
		{Comments, "{\n  \"a\": {\n    \"b\": 1 // about b\n  }\n}"},
		{Comments, "{\n  \"a\": 1\n  // the end\n}\n"},
		{Comments, "{\n  \"a\": 1 /* about a */\n}\n"},
		{Comments, "{ // settings\n}\n"},
		{Comments, "{\r\n  \"a\": 1, // crlf\r\n  \"b\": 2 /* b */\r\n}\r\n"},
		{JWCC, opencodeConfig},
		{JWCC, "{\"a\": [1,], \"b\": {\"c\": 1,},}"},
	}
	for _, tc := range docs {
		o := mustParse(t, tc.d, tc.in)
		keys := o.Keys()
		_ = o.SetPath("x", "zz", "y")
		for _, k := range keys {
			if v, _ := o.Get(k); v != nil {
				if obj, ok := v.(*Object); ok {
					obj.Set("coda", []any{1, "two"})
				}
			}
		}
		o.Set("last", true)
		o.DeletePathPrune("zz", "y")
		o.Delete("last")
		for _, k := range keys {
			o.DeletePath(k, "coda")
		}
		if got := string(Marshal(o)); got != tc.in {
			t.Errorf("set then delete:\n got %q\nwant %q", got, tc.in)
		}
	}
}

func TestSetEqualValueChangesNothing(t *testing.T) {
	in := "{\n  \"p\": {\"b\": [1, 2], \"a\": \"\\u0078\"}\n}\n"
	o := mustParse(t, Strict, in)
	o.Set("p", mustParse(t, Strict, `{"b":[1,2],"a":"x"}`))
	if got := string(Marshal(o)); got != in {
		t.Errorf("an equal value was rewritten: %q", got)
	}
	o.Set("p", mustParse(t, Strict, `{"a":"x","b":[1,2]}`))
	if got := string(Marshal(o)); got == in {
		t.Error("a reordered value counts as equal")
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		op      func(o *Object) error
		want    string
		wantErr string
	}{
		{
			name: "set creates intermediates",
			in:   `{"model": "x"}`,
			op:   func(o *Object) error { return o.SetPath("tok", "env", "CODA_TOKEN") },
			want: `{"model": "x", "env": {"CODA_TOKEN": "tok"}}`,
		},
		{
			name: "set into existing object keeps siblings and order",
			in:   `{"env": {"A": "1", "CODA_TOKEN": "old", "B": "2"}, "z": 0}`,
			op:   func(o *Object) error { return o.SetPath("new", "env", "CODA_TOKEN") },
			want: `{"env": {"A": "1", "CODA_TOKEN": "new", "B": "2"}, "z": 0}`,
		},
		{
			name:    "intermediate is a string",
			in:      `{"env": "oops"}`,
			op:      func(o *Object) error { return o.SetPath("tok", "env", "CODA_TOKEN") },
			want:    `{"env": "oops"}`,
			wantErr: "env is a string, not an object",
		},
		{
			name:    "deeper intermediate is an array, nothing created",
			in:      `{"a": {"b": [1]}}`,
			op:      func(o *Object) error { return o.SetPath(1, "a", "b", "c", "d") },
			want:    `{"a": {"b": [1]}}`,
			wantErr: "a.b is an array",
		},
		{
			name:    "empty path",
			in:      `{}`,
			op:      func(o *Object) error { return o.SetPath(1) },
			want:    `{}`,
			wantErr: "non-empty path",
		},
		{
			name: "delete keeps empty parent",
			in:   `{"env": {"CODA_TOKEN": "x"}}`,
			op:   func(o *Object) error { o.DeletePath("env", "CODA_TOKEN"); return nil },
			want: `{"env": {}}`,
		},
		{
			name: "prune removes parents left empty",
			in:   `{"a": {"b": {"c": 1}}, "k": 1}`,
			op:   func(o *Object) error { o.DeletePathPrune("a", "b", "c"); return nil },
			want: `{"k": 1}`,
		},
		{
			name: "prune stops at a non-empty parent",
			in:   `{"a": {"b": {"c": 1}, "x": 2}}`,
			op:   func(o *Object) error { o.DeletePathPrune("a", "b", "c"); return nil },
			want: `{"a": {"x": 2}}`,
		},
		{
			name: "prune of an absent key changes nothing",
			in:   `{"a": {"b": {}}}`,
			op:   func(o *Object) error { o.DeletePathPrune("a", "b", "c"); return nil },
			want: `{"a": {"b": {}}}`,
		},
		{
			name: "delete through a non-object",
			in:   `{"a": [1]}`,
			op:   func(o *Object) error { o.DeletePath("a", "0"); return nil },
			want: `{"a": [1]}`,
		},
		{
			name: "keys with pointer characters",
			in:   `{"/home/a~b": "x", "a/b": {"~": 1}}`,
			op: func(o *Object) error {
				o.Set("/home/a~b", "TRUST_FOLDER")
				o.DeletePath("a/b", "~")
				return o.SetPath(2, "a/b", "c/~1")
			},
			want: `{"/home/a~b": "TRUST_FOLDER", "a/b": {"c/~1": 2}}`,
		},
		{
			name: "values of every kind",
			in:   `{}`,
			op: func(o *Object) error {
				o.Set("n", 42)
				o.Set("f", json.Number("1.50"))
				o.Set("s", []any{"a", nil, false, []any{}})
				o.Set("m", obj("z", 1, "a", obj()))
				return nil
			},
			want: `{"n": 42, "f": 1.50, "s": ["a", null, false, []], "m": {"z": 1, "a": {}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustParse(t, Strict, tt.in)
			err := tt.op(o)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if want := mustParse(t, Strict, tt.want); !Equal(o, want) {
				t.Errorf("got\n%s\nwant\n%s", Marshal(o), tt.want)
			}
			if tt.wantErr != "" && string(Marshal(o)) != tt.in {
				t.Errorf("a failed SetPath changed the document: %s", Marshal(o))
			}
		})
	}
}

func TestGetPath(t *testing.T) {
	o := mustParse(t, Strict, `{"a": {"b": {"c": "x"}, "arr": [1, {"d": null}]}}`)
	if v, ok := o.GetPath("a", "b", "c"); !ok || v != "x" {
		t.Errorf("GetPath(a,b,c) = %v, %v", v, ok)
	}
	if v, ok := o.GetPath(); !ok || v != o {
		t.Errorf("GetPath() = %v, %v", v, ok)
	}
	for _, p := range [][]string{{"x"}, {"a", "x"}, {"a", "arr", "0"}, {"a", "b", "c", "d"}} {
		if v, ok := o.GetPath(p...); ok {
			t.Errorf("GetPath(%v) = %v, true", p, v)
		}
	}
	arr, _ := o.GetPath("a", "arr")
	if a, ok := arr.([]any); !ok || len(a) != 2 || a[0] != json.Number("1") {
		t.Fatalf("arr = %#v", arr)
	} else if d, _ := a[1].(*Object).Get("d"); d != nil {
		t.Errorf("arr[1].d = %v", d)
	}
	// An object taken out of the document follows it.
	b, _ := o.GetPath("a", "b")
	o.Set("first", 1)
	b.(*Object).Set("e", "y")
	if v, _ := o.GetPath("a", "b", "e"); v != "y" {
		t.Errorf("a change through a nested object is lost: %s", Marshal(o))
	}
}

func TestCloneIsIndependent(t *testing.T) {
	o := mustParse(t, Strict, `{"a": {"b": [1, 2]}, "n": 1.50}`)
	c := o.Clone()
	if err := c.SetPath("x", "a", "b"); err != nil {
		t.Fatal(err)
	}
	if v, _ := o.GetPath("a", "b"); v == "x" || Equal(o, c) {
		t.Error("the clone shares the original's tree")
	}
}

func TestMarshalStrings(t *testing.T) {
	o := New()
	o.Set("html", "<a href=\"x\">&</a>")
	o.Set("ctl", "\x00\x1f\x7f\b\f\n\r\t")
	o.Set("bad utf8", "a\xffb")
	o.Set("ls", "\u2028\u2029")
	o.Set("k\"ey\\", "v")
	got := string(Marshal(o))
	want := "{\n" +
		"  \"html\": \"<a href=\\\"x\\\">&</a>\",\n" +
		"  \"ctl\": \"\\u0000\\u001f\x7f\\b\\f\\n\\r\\t\",\n" +
		"  \"bad utf8\": \"a\ufffdb\",\n" +
		"  \"ls\": \"\u2028\u2029\",\n" +
		"  \"k\\\"ey\\\\\": \"v\"\n" +
		"}\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(got), &back); err != nil {
		t.Fatal(err)
	}
	if back["ctl"] != "\x00\x1f\x7f\b\f\n\r\t" || back["bad utf8"] != "a\ufffdb" || back["k\"ey\\"] != "v" {
		t.Errorf("decoded back to %q", back)
	}
}

func TestSetPanicsOnBadValues(t *testing.T) {
	for name, v := range map[string]any{"number": json.Number("0x1F"), "struct": struct{}{}, "float": 1.5, "map": map[string]any{}} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			New().Set("n", v)
		})
	}
}

// TestDeleteComments: a member's comments go with it (those just above it
// and on its line); the previous member's comment on its line stays.
func TestDeleteComments(t *testing.T) {
	for _, tc := range []struct{ in, key, want string }{
		{"{\n  \"a\": 1, // about a\n  \"b\": 2 /* about b */\n}\n", "b", "{\n  \"a\": 1 // about a\n}\n"},
		{"{\n  \"a\": 1, /* about a */\n  // about b\n  \"b\": 2,\n  \"c\": 3\n}\n", "b", "{\n  \"a\": 1, /* about a */\n  \"c\": 3\n}\n"},
		{"{ // top\n  \"a\": 1\n}\n", "a", "{ // top\n}\n"},
		{"{\n  \"a\": 1,\n\n  // about c, after a blank line\n  \"b\": 2\n}\n", "a", "{\n\n  // about c, after a blank line\n  \"b\": 2\n}\n"},
	} {
		o := mustParse(t, Comments, tc.in)
		o.Delete(tc.key)
		if got := string(Marshal(o)); got != tc.want {
			t.Errorf("Delete(%s) of %q:\n got %q\nwant %q", tc.key, tc.in, got, tc.want)
		}
	}
}

func TestBlockComment(t *testing.T) {
	for _, tc := range []struct {
		in        string
		line, col int
		ok        bool
	}{
		{"{\n  \"a\": 1 /* c */\n}", 2, 10, true},
		{"{\n  // a /* in a line comment\n  \"a\": \"/* in a string \\\" */\"\n}", 0, 0, false},
		{"{\"a\": 1} // c", 0, 0, false},
		{"{\"a\": \"x\"}\n// c\n/* d */", 3, 1, true},
	} {
		line, col, ok := BlockComment([]byte(tc.in))
		if line != tc.line || col != tc.col || ok != tc.ok {
			t.Errorf("BlockComment(%q) = %d:%d %v, want %d:%d %v", tc.in, line, col, ok, tc.line, tc.col, tc.ok)
		}
	}
}
