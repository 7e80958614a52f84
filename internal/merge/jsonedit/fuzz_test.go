package jsonedit

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeStd decodes a document with encoding/json, the oracle for what a
// file means. Empty input means an empty object.
func decodeStd(t *testing.T, data []byte) map[string]any {
	t.Helper()
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("encoding/json cannot decode: %v\n%q", err, data)
	}
	return m
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
		``,
		`{}`,
		`{"env": {"CODA_TOKEN": "old", "OTHER": "1"}, "apiKeyHelper": "x"}`,
		`{"env": "not an object"}`,
		`{"env": {}}`,
		`{"env": null, "a": [1, 2.0, -3e5]}`,
		`{"a": 1, "a": 2, "b": {"c": {"d": []}}}`,
		`{"u": "http://example.com/*x*/ // y"}`,
		`{"a": 1} // c`,
		`{"a": /* c */ 1}`,
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
	} {
		f.Add([]byte(s), "x")
	}
	f.Fuzz(func(t *testing.T, data []byte, val string) {
		o, err := Parse(data)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") || len(msg) > 200 {
				t.Fatalf("error is not one short line: %q", msg)
			}
			if strings.Contains(msg, secretMarker) {
				t.Fatalf("error echoes content: %q", msg)
			}
			trimmed := bytes.TrimSpace(data)
			if json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '{' && !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
				t.Fatalf("valid JSON object rejected: %v", err)
			}
			if errors.Is(err, ErrComments) && !bytes.Contains(data, []byte("/")) {
				t.Fatalf("comment error without a slash: %v", err)
			}
			return
		}
		if len(bytes.TrimSpace(data)) > 0 && !json.Valid(data) {
			t.Fatalf("Parse accepted invalid JSON %q", data)
		}
		orig := decodeStd(t, data)

		// Marshal must not change the meaning.
		out := Marshal(o)
		if got := decodeStd(t, out); !reflect.DeepEqual(got, orig) {
			t.Fatalf("round trip changed meaning:\n got %#v\nwant %#v", got, orig)
		}
		// Marshal is stable.
		o2, err := Parse(out)
		if err != nil {
			t.Fatalf("cannot parse own output: %v\n%s", err, out)
		}
		if out2 := Marshal(o2); !bytes.Equal(out, out2) {
			t.Fatalf("Marshal not stable:\n%s\n%s", out, out2)
		}

		// Set the owned keys.
		envBefore, hadEnv := orig["env"]
		_, hadTok := o.GetPath("env", "CODA_TOKEN")
		_, hadHelper := orig["apiKeyHelper"]
		err = o.SetPath(val, "env", "CODA_TOKEN")
		_, envIsMap := envBefore.(map[string]any)
		envIsObject := !hadEnv || envIsMap
		if envIsObject != (err == nil) {
			t.Fatalf("SetPath error %v with env %#v", err, envBefore)
		}
		o.Set("apiKeyHelper", val)
		out = Marshal(o)
		got := decodeStd(t, out)

		want := decodeStd(t, data)
		want["apiKeyHelper"] = stdString(val)
		if envIsObject {
			env, _ := want["env"].(map[string]any)
			if env == nil {
				env = map[string]any{}
				want["env"] = env
			}
			env["CODA_TOKEN"] = stdString(val)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after Set:\n got %#v\nwant %#v", got, want)
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
		want = decodeStd(t, data)
		if hadHelper {
			want["apiKeyHelper"] = stdString(val)
		}
		if envIsObject && hadTok {
			want["env"].(map[string]any)["CODA_TOKEN"] = stdString(val)
		}
		if got := decodeStd(t, Marshal(o)); !reflect.DeepEqual(got, want) {
			t.Fatalf("after Delete:\n got %#v\nwant %#v", got, want)
		}
	})
}
