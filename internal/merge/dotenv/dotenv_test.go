package dotenv

import (
	"reflect"
	"strings"
	"testing"
)

const geminiEnv = `# Gemini CLI
GEMINI_API_KEY=old-key
export GOOGLE_CLOUD_PROJECT = my-project   # trailing comment

  SPACED  =  value with spaces
SINGLE='single # not a comment'
DOUBLE="line1\nline2 # not a comment"
BACK=` + "`back # tick`" + `
MULTI="first
second"
EMPTY=
HASH=abc#def
`

func mustParse(t *testing.T, s string) *Doc {
	t.Helper()
	d, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

// values reads every key's value.
func values(d *Doc) map[string]string {
	m := map[string]string{}
	for _, k := range d.Keys() {
		m[k], _ = d.Get(k)
	}
	return m
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		keys []string
	}{
		{geminiEnv, map[string]string{
			"GEMINI_API_KEY":       "old-key",
			"GOOGLE_CLOUD_PROJECT": "my-project",
			"SPACED":               "value with spaces",
			"SINGLE":               "single # not a comment",
			"DOUBLE":               "line1\nline2 # not a comment",
			"BACK":                 "back # tick",
			"MULTI":                "first\nsecond",
			"EMPTY":                "",
			"HASH":                 "abc",
		}, nil},
		{"", map[string]string{}, nil},
		{"A=1\nB=2\nA=3", map[string]string{"A": "3", "B": "2"}, []string{"A", "B"}},
		{"A=1\r\nB='x\r\ny'\r\n", map[string]string{"A": "1", "B": "x\ny"}, nil},
		{"export=1\nexport  X=2\nexport\tY = 3\n", map[string]string{"export": "1", "X": "2", "Y": "3"}, nil},
		{"A='a\\'b'\nB=\"a\\\"b\"\nC='\\n'\nD=\"\\\\n\"\n", map[string]string{"A": `a\'b`, "B": `a\"b`, "C": `\n`, "D": "\\\n"}, nil},
		{"A = 'x' # c\nB=\"y\"#c\n", map[string]string{"A": "x", "B": "y"}, nil},
		{"A=\u00a0x\u00a0\n", map[string]string{"A": "x"}, nil},
		{"dotted.key-1=v\n", map[string]string{"dotted.key-1": "v"}, nil},
		{"  # indented comment\n\t\n", map[string]string{}, nil},
	}
	for _, tt := range tests {
		d, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := string(d.Bytes()); got != tt.in {
			t.Errorf("Bytes() = %q, want %q", got, tt.in)
		}
		if got := values(d); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.keys != nil && !reflect.DeepEqual(d.Keys(), tt.keys) {
			t.Errorf("Keys() = %q, want %q", d.Keys(), tt.keys)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A=1\nsecret garbage\n", "line 2: expected = after a key"},
		{"A=1\n=secret\n", "line 2: expected a comment or KEY=VALUE"},
		{"A: secret\n", "line 1: expected = after a key"},
		{"A=1\nB='secret\n\n", "line 2: unterminated quoted value"},
		{"B=\"secret\nC=1\n", "line 1: unterminated quoted value"},
		{"A=1\nB='x\ny' secret\n", "line 3: unexpected text after a quoted value"},
		{"A=secret\rB=2\n", "line 1: carriage return"},
		{"# secret\rB=2\n", "line 1: carriage return"},
		{"\ufeffA=secret\n", "line 1: expected a comment"},
		{"A=\u00a0'secret'\n", "line 1: unusual whitespace"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tt.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) || strings.Contains(msg, "secret") || strings.ContainsRune(msg, '\n') {
			t.Errorf("Parse(%q) = %q, want one line with %q and no content", tt.in, msg, tt.want)
		}
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		key     string
		value   string
		want    string
		errText string
	}{
		{"replace keeps export spacing and comment", geminiEnv, "GOOGLE_CLOUD_PROJECT", "p2",
			strings.Replace(geminiEnv, "export GOOGLE_CLOUD_PROJECT = my-project   # trailing", "export GOOGLE_CLOUD_PROJECT = p2   # trailing", 1), ""},
		{"replace plain", geminiEnv, "GEMINI_API_KEY", "AIza-new_key.1",
			strings.Replace(geminiEnv, "GEMINI_API_KEY=old-key", "GEMINI_API_KEY=AIza-new_key.1", 1), ""},
		{"replace multi-line value", geminiEnv, "MULTI", "one",
			strings.Replace(geminiEnv, "MULTI=\"first\nsecond\"", "MULTI=one", 1), ""},
		{"replace before a glued comment", geminiEnv, "HASH", "a b",
			strings.Replace(geminiEnv, "HASH=abc#def", "HASH='a b'#def", 1), ""},
		{"replace empty", geminiEnv, "EMPTY", "x",
			strings.Replace(geminiEnv, "EMPTY=\n", "EMPTY=x\n", 1), ""},
		{"append", geminiEnv, "GOOGLE_GEMINI_BASE_URL", "https://h/serving-endpoints",
			geminiEnv + "GOOGLE_GEMINI_BASE_URL=https://h/serving-endpoints\n", ""},
		{"append without final newline", "A=1", "B", "2", "A=1\nB=2\n", ""},
		{"append to CRLF", "A=1\r\n", "B", "2", "A=1\r\nB=2\r\n", ""},
		{"every duplicate", "A=1\nA=2\n", "A", "3", "A=3\nA=3\n", ""},
		{"unusual leading whitespace is replaced", "A=\u00a0x #c\n", "A", "a b", "A='a b' #c\n", ""},
		{"single quotes", "", "A", "has space # and hash", "A='has space # and hash'\n", ""},
		{"dollar stays literal", "", "A", "$HOME", "A='$HOME'\n", ""},
		{"apostrophe uses double quotes", "", "A", "it's", "A=\"it's\"\n", ""},
		{"apostrophe and backslash use backquotes", "", "A", `it's \n`, "A=`it's \\n`\n", ""},
		{"surrounding spaces", "", "A", " x ", "A=' x '\n", ""},
		{"empty", "", "A", "", "A=\n", ""},
		{"newline refused", "A=1\n", "A", "x\ny", "A=1\n", "line breaks"},
		{"unquotable refused", "A=1\n", "A", "'\"`", "A=1\n", "cannot be quoted"},
		{"trailing backslash with all quotes", "A=1\n", "A", "'`\\", "A=1\n", "cannot be quoted"},
		{"bad key", "A=1\n", "1A", "x", "A=1\n", "invalid key"},
		{"bad key dot", "A=1\n", "A.B", "x", "A=1\n", "invalid key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, tt.in)
			err := d.Set(tt.key, tt.value)
			if tt.errText == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.errText)
			}
			if got := string(d.Bytes()); got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
			if err == nil {
				if v, ok := mustParse(t, string(d.Bytes())).Get(tt.key); !ok || v != tt.value {
					t.Errorf("reads back %q, %v", v, ok)
				}
			}
		})
	}
}

func TestDelete(t *testing.T) {
	d := mustParse(t, geminiEnv)
	if !d.Delete("MULTI") || d.Delete("MULTI") || d.Delete("NOPE") {
		t.Fatal("Delete reported the wrong presence")
	}
	want := strings.Replace(geminiEnv, "MULTI=\"first\nsecond\"\n", "", 1)
	if got := string(d.Bytes()); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	d = mustParse(t, "A=1\nB=2\nA=3")
	d.Delete("A")
	if got := string(d.Bytes()); got != "B=2\n" {
		t.Errorf("got %q", got)
	}
}

func TestSetThenDeleteRestoresBytes(t *testing.T) {
	for _, in := range []string{geminiEnv, "", "A=1\n"} {
		d := mustParse(t, in)
		for _, k := range []string{"GOOGLE_GEMINI_BASE_URL", "CODA_TOKEN"} {
			if err := d.Set(k, "v a l"); err != nil {
				t.Fatal(err)
			}
		}
		d.Delete("GOOGLE_GEMINI_BASE_URL")
		d.Delete("CODA_TOKEN")
		if got := string(d.Bytes()); got != in {
			t.Errorf("set+delete of %q gave %q", in, got)
		}
	}
}
