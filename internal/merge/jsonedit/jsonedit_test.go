package jsonedit

import (
	"bytes"
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

func TestRoundTripIdentical(t *testing.T) {
	docs := map[string]string{
		"claude settings": claudeSettings,
		"empty object":    "{}\n",
		"one key":         "{\n  \"a\": 1\n}\n",
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			// The only input change: JSON.stringify writes U+2028 raw.
			in := strings.ReplaceAll(doc, `\u2028`, "\u2028")
			o, err := Parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(Marshal(o)); got != in {
				t.Errorf("round trip changed the document:\n got: %q\nwant: %q", got, in)
			}
		})
	}
}

func TestRoundTripOfGoMarshalIndent(t *testing.T) {
	v := map[string]any{"b": []any{1, "x", map[string]any{"z": nil}}, "a": map[string]any{}, "c": 1.5}
	want, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	o, err := Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := Marshal(o); string(got) != string(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseKeepsOrderNumbersAndDuplicates(t *testing.T) {
	o, err := Parse([]byte(`{"z": 1.0, "a": 1e2, "m": {"y": 0, "x": -0.0}, "z": 2.50}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.Keys(), []string{"z", "a", "m"}; !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	if v, _ := o.Get("z"); v != json.Number("2.50") {
		t.Errorf("z = %#v, want the last duplicate's exact text 2.50", v)
	}
	if v, _ := o.Get("a"); v != json.Number("1e2") {
		t.Errorf("a = %#v, want 1e2", v)
	}
	want := "{\n  \"z\": 2.50,\n  \"a\": 1e2,\n  \"m\": {\n    \"y\": 0,\n    \"x\": -0.0\n  }\n}\n"
	if got := string(Marshal(o)); got != want {
		t.Errorf("Marshal = %q, want %q", got, want)
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
}

func TestParseErrors(t *testing.T) {
	const secret = "sk-SECRET-1234"
	tests := []struct {
		name     string
		in       string
		contains []string
		comments bool
	}{
		{"line comment", "{\n  // " + secret + "\n  \"a\": 1\n}", []string{"comments (JSONC)", "line 2:3", "will not strip"}, true},
		{"block comment", "{\"a\": 1 /* " + secret + " */}", []string{"comments", "line 1:9"}, true},
		{"comment after value", "{\"a\": \"x\"} // " + secret, []string{"comments"}, true},
		{"slashes in string are not comments", "{\"u\": \"http://x/*y*/\", " + secret + "}", []string{"line 1:"}, false},
		{"array top level", "[1, 2]", []string{"must be an object", "an array", "line 1:1"}, false},
		{"string top level", "  \"" + secret + "\"", []string{"must be an object", "a string", "line 1:3"}, false},
		{"number top level", "\n12", []string{"must be an object", "line 2:1"}, false},
		{"trailing garbage", "{\"a\": 1}\n" + secret, []string{"line 2:1"}, false},
		{"second object", "{\"a\": 1}\n{\"b\": \"" + secret + "\"}", []string{"unexpected data after the top-level object", "line 2:1"}, false},
		{"unterminated", "{\"a\": \"" + secret, []string{"unexpected end of input"}, false},
		{"missing comma", "{\"a\": 1\n \"" + secret + "\": 2}", []string{"line 2:"}, false},
		{"bad literal", "{\"a\": tru}", []string{"line 1:"}, false},
		{"invalid char", "{\"a\": " + secret + "}", []string{"invalid character", "line 1:"}, false},
		{"single quote", "{'" + secret + "': 1}", []string{"invalid character"}, false},
		{"trailing comma", "{\"a\": 1,}", []string{"line 1:"}, false},
		{"bom", "\xef\xbb\xbf{}", []string{"byte order mark"}, false},
		{"control char in string", "{\"a\": \"x\ty\"}", []string{"line 1:"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			for _, s := range tt.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %q", msg, s)
				}
			}
			if strings.Contains(msg, "SECRET") || strings.Contains(msg, "sk-") || strings.ContainsRune(msg, '\n') {
				t.Errorf("error %q echoes content or spans lines", msg)
			}
			if got := errors.Is(err, ErrComments); got != tt.comments {
				t.Errorf("errors.Is(err, ErrComments) = %v, want %v (%v)", got, tt.comments, err)
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	in := `{"a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + "}"
	if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("Parse of too-deep document: %v", err)
	}
	in = `{"a":` + strings.Repeat(`[{"b":`, 500) + "1" + strings.Repeat("}]", 500) + "}"
	o, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse of 1000 levels: %v", err)
	}
	if o2, err := Parse(Marshal(o)); err != nil || !bytes.Equal(Marshal(o2), Marshal(o)) {
		t.Errorf("deep document does not round-trip: %v", err)
	}
}

func TestSetKeepsPositionAndAppends(t *testing.T) {
	o, err := Parse([]byte(`{"b": 1, "a": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	o.Set("b", "x")
	o.Set("c", true)
	if got, want := o.Keys(), []string{"b", "a", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	if !o.Delete("a") || o.Delete("a") {
		t.Error("Delete reported the wrong presence")
	}
	o.Set("a", 3)
	if got, want := o.Keys(), []string{"b", "c", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	if got, want := string(Marshal(o)), "{\n  \"b\": \"x\",\n  \"c\": true,\n  \"a\": 3\n}\n"; got != want {
		t.Errorf("Marshal = %q, want %q", got, want)
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
			name: "go values are normalized",
			in:   `{}`,
			op: func(o *Object) error {
				o.Set("n", 42)
				o.Set("f", 1.5)
				o.Set("s", []string{"a", "b"})
				o.Set("m", map[string]any{"z": 1, "a": uint8(2)})
				o.Set("t", struct {
					X int `json:"x"`
				}{7})
				return nil
			},
			want: `{"n": 42, "f": 1.5, "s": ["a", "b"], "m": {"a": 2, "z": 1}, "t": {"x": 7}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.op(o)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			want, err := Parse([]byte(tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(Marshal(o)), string(Marshal(want)); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestGetPath(t *testing.T) {
	o, err := Parse([]byte(`{"a": {"b": {"c": "x"}, "arr": [1]}}`))
	if err != nil {
		t.Fatal(err)
	}
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
		"  \"bad utf8\": \"a\\ufffdb\",\n" +
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

func TestMarshalPanicsOnBadNumber(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	o := New()
	o.Set("n", json.Number("0x1F"))
	Marshal(o)
}

func TestValidNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "1.5": true, "1e5": true, "1E-5": true, "-12.3e+4": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "+1": false, "NaN": false, "1x": false,
	} {
		if got := validNumber(s); got != want {
			t.Errorf("validNumber(%q) = %v", s, got)
		}
	}
}
