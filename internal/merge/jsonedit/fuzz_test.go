package jsonedit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tailscale/hujson"
)

// meaning decodes a document with hujson.Standardize and encoding/json,
// the oracle for what a file means. Blank input means an empty object.
func meaning(t *testing.T, data []byte) map[string]any {
	t.Helper()
	if hujson.Extra(append(bytes.Clone(data), '\n')).IsValid() { // blank or comments only
		return map[string]any{}
	}
	std, err := hujson.Standardize(append(bytes.Clone(data), '\n'))
	if err != nil {
		t.Fatalf("hujson cannot standardize: %v\n%q", err, data)
	}
	dec := json.NewDecoder(bytes.NewReader(std))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("encoding/json cannot decode: %v\n%q", err, data)
	}
	return m
}

// comments lists the comments of a document, sorted: a comment may move
// from the end of an object to before a member added after it.
func comments(t *testing.T, data []byte) []string {
	t.Helper()
	if isBlank(data) {
		return nil
	}
	v, err := hujson.Parse(append(bytes.Clone(data), '\n'))
	if err != nil { // comments only
		v = hujson.Value{BeforeExtra: append(bytes.Clone(data), '\n'), Value: hujson.Literal("null")}
	}
	var out []string
	split := func(e hujson.Extra) {
		for s := string(e); ; {
			s = strings.TrimLeft(s, " \t\r\n")
			end := strings.Index(s, "*/") + 2
			if strings.HasPrefix(s, "//") {
				end = strings.IndexByte(s, '\n')
			}
			if s == "" || end <= 0 {
				break
			}
			out = append(out, strings.TrimRight(s[:end], "\r"))
			s = s[end:]
		}
	}
	for x := range v.All() {
		split(x.BeforeExtra)
		split(x.AfterExtra)
		switch c := x.Value.(type) {
		case *hujson.Object:
			split(c.AfterExtra)
		case *hujson.Array:
			split(c.AfterExtra)
		}
	}
	slices.Sort(out)
	return out
}

// rootCount counts the top-level members named key.
func rootCount(t *testing.T, data []byte, key string) int {
	t.Helper()
	v, err := hujson.Parse(append(bytes.Clone(data), '\n'))
	if err != nil {
		return 0
	}
	n := 0
	if obj, ok := v.Value.(*hujson.Object); ok {
		for _, m := range obj.Members {
			if m.Name.Value.(hujson.Literal).String() == key {
				n++
			}
		}
	}
	return n
}

// stdString is what a string becomes after an encode/decode round trip
// (invalid UTF-8 turns into U+FFFD).
func stdString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// secretMarker appears in seeds; no error may repeat it.
const secretMarker = "SECRETX"

func FuzzEdit(f *testing.F) {
	seeds := []string{
		claudeSettings,
		geminiSettings,
		opencodeConfig,
		``,
		`{}`,
		`{ }`,
		`{"env": {"CODA_TOKEN": "old", "OTHER": "1"}, "apiKeyHelper": "x"}`,
		`{"env": "not an object"}`,
		`{"env": {}}`,
		`{"env": {/* c */}}`,
		`{"env": null, "a": [1, 2.0, -3e5]}`,
		`{"a": 1, "a": 2, "b": {"c": {"d": []}}}`,
		`{"env": {"A": 1}, "env": {"B": 2}}`,
		`{"u": "http://example.com/*x*/ // y"}`,
		`{"a": 1} // c`,
		`{"a": /* c */ 1}`,
		"{\n  \"a\": 1 // about a\n}\n",
		"{\r\n  \"a\": 1, // crlf\r\n  \"env\": {\r\n  },\r\n}\r\n",
		"{\n\t\"env\": {\n\t\t\"A\": 1,\n\t},\n}",
		`{"a": [1,], "b": {"c": 1,},}`,
		`[1]`,
		`{"a": 1}{}`,
		`{"a": "\ud800"}`,
		"{\"a\": \"\xff\"}",
		`{"a":` + strings.Repeat(`{"a":`, 50) + `1` + strings.Repeat(`}`, 51),
	}
	for _, s := range seeds {
		f.Add([]byte(s), "tok-123")
	}
	f.Add([]byte(`{"env": {"A": "b"}}`), "<&>\"\\\n\x00\u2028\xff")
	for _, s := range []string{
		`{"SECRETX": 1, SECRETX}`,
		`{"a": SECRETX}`,
		`{"a": "SECRETX\q"}`,
		`{"a": 1} SECRETX`,
		`SECRETX`,
		`{"a": // SECRETX
1}`,
		`{"a": 1SECRETX}`,
		`{"a": 'SECRETX'}`,
		`{"a": /* SECRETX`,
	} {
		f.Add([]byte(s), "x")
	}
	f.Fuzz(func(t *testing.T, data []byte, val string) {
		// The dialects nest, and a document comes back byte for byte.
		var docs [3]*Object
		for d := Strict; d <= JWCC; d++ {
			o, err := ParseDialect(data, d)
			if err != nil {
				msg := err.Error()
				if strings.ContainsAny(msg, "\n\r") || len(msg) > 200 {
					t.Fatalf("error is not one short line: %q", msg)
				}
				if strings.Contains(msg, secretMarker) {
					t.Fatalf("error echoes content: %q", msg)
				}
				if d > Strict && docs[d-1] != nil {
					t.Fatalf("dialect %d refuses what a stricter one accepts: %v", d, err)
				}
				continue
			}
			docs[d] = o
			if want := string(data); !isBlank(data) && string(Marshal(o)) != want {
				t.Fatalf("dialect %d round trip changed the document:\n got %q\nwant %q", d, Marshal(o), want)
			}
		}
		trimmed := bytes.TrimSpace(data)
		if docs[Strict] == nil && json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '{' && !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
			t.Fatal("a valid JSON object is refused")
		}
		if docs[Strict] != nil && len(trimmed) > 0 && !json.Valid(data) {
			t.Fatalf("strict Parse accepted invalid JSON %q", data)
		}
		dialect := slices.IndexFunc(docs[:], func(o *Object) bool { return o != nil })
		if dialect < 0 {
			return
		}
		o := docs[dialect]
		orig := meaning(t, data)

		// Set the owned keys.
		envBefore, hadEnv := orig["env"]
		_, hadTok := o.GetPath("env", "CODA_TOKEN")
		_, hadHelper := orig["apiKeyHelper"]
		err := o.SetPath(val, "env", "CODA_TOKEN")
		_, envIsMap := envBefore.(map[string]any)
		envIsObject := !hadEnv || envIsMap
		if envIsObject != (err == nil) {
			t.Fatalf("SetPath error %v with env %#v", err, envBefore)
		}
		o.Set("apiKeyHelper", val)
		out := Marshal(o)
		if _, err := ParseDialect(out, Dialect(dialect)); err != nil {
			t.Fatalf("the edited document is not dialect %d: %v\n%q", dialect, err, out)
		}
		want := meaning(t, data)
		want["apiKeyHelper"] = stdString(val)
		if envIsObject {
			env, _ := want["env"].(map[string]any)
			if env == nil {
				env = map[string]any{}
				want["env"] = env
			}
			env["CODA_TOKEN"] = stdString(val)
		}
		if got := meaning(t, out); !reflect.DeepEqual(got, want) {
			t.Fatalf("after Set:\n got %#v\nwant %#v\n%q", got, want, out)
		}
		// Comments survive when coda only adds members.
		onlyAdds := !hadHelper && !hadTok && envIsObject && rootCount(t, data, "env") <= 1
		if onlyAdds && !slices.Equal(comments(t, out), comments(t, data)) {
			t.Fatalf("comments changed:\n got %q\nwant %q", comments(t, out), comments(t, data))
		}

		// Deleting what was not there before restores the meaning.
		if !hadHelper {
			o.Delete("apiKeyHelper")
		}
		if envIsObject && !hadTok {
			if hadEnv {
				o.DeletePath("env", "CODA_TOKEN")
			} else {
				o.DeletePathPrune("env", "CODA_TOKEN")
			}
		}
		out = Marshal(o)
		if _, err := ParseDialect(out, Dialect(dialect)); err != nil {
			t.Fatalf("the restored document is not dialect %d: %v\n%q", dialect, err, out)
		}
		want = meaning(t, data)
		if hadHelper {
			want["apiKeyHelper"] = stdString(val)
		}
		if envIsObject && hadTok {
			want["env"].(map[string]any)["CODA_TOKEN"] = stdString(val)
		}
		if got := meaning(t, out); !reflect.DeepEqual(got, want) {
			t.Fatalf("after Delete:\n got %#v\nwant %#v", got, want)
		}
		if onlyAdds && !slices.Equal(comments(t, out), comments(t, data)) {
			t.Fatalf("comments changed by remove:\n got %q\nwant %q", comments(t, out), comments(t, data))
		}
	})
}
