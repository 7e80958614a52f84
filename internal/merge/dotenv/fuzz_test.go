package dotenv

import (
	"bytes"
	"maps"
	"reflect"
	"strings"
	"testing"
)

var ownedKeys = []string{"GOOGLE_GEMINI_BASE_URL", "GEMINI_API_KEY"}

// secretMarker appears in seeds; no error may repeat it.
const secretMarker = "SECRETX"

func FuzzEdit(f *testing.F) {
	for _, s := range []string{
		geminiEnv,
		"",
		"GEMINI_API_KEY=x\nGEMINI_API_KEY='y' # c\n",
		"export GOOGLE_GEMINI_BASE_URL = \"http://x\"\n",
		"A=\"multi\nline\"\nB='x\\'y'\n",
		"A=1\r\nB=2",
		"A=v#c\nB= v \n",
		"A='unterminated\n",
		"garbage\n",
		"A=1\rB=2\n",
	} {
		f.Add([]byte(s), "https://example.com/serving-endpoints")
	}
	f.Add([]byte(geminiEnv), " it's $HOME \\n # x ")
	f.Add([]byte(geminiEnv), "'\"`")
	for _, s := range []string{
		"SECRETX\n",
		"A='SECRETX\n",
		"A='x' SECRETX\n",
		"A=SECRETX\rB=1\n",
		"A: SECRETX\n",
		"A=\u00a0'SECRETX'\n",
	} {
		f.Add([]byte(s), "x")
	}
	f.Fuzz(func(t *testing.T, data []byte, value string) {
		d, err := Parse(data)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || len(msg) > 120 {
				t.Fatalf("error is not one short line: %q", msg)
			}
			if strings.Contains(msg, secretMarker) {
				t.Fatalf("error echoes content: %q", msg)
			}
			return
		}
		if !bytes.Equal(d.Bytes(), data) {
			t.Fatalf("Bytes() differs from the input")
		}
		orig := values(d)
		_, encErr := encode(value)
		for _, k := range ownedKeys {
			before := d.Bytes()
			err := d.Set(k, value)
			if (err != nil) != (encErr != nil) {
				t.Fatalf("Set(%s) = %v, encode error %v", k, err, encErr)
			}
			if err != nil && !bytes.Equal(before, d.Bytes()) {
				t.Fatalf("failed Set changed the file")
			}
		}
		// A value is unquotable only with a line break, or when each
		// quoting style is ruled out by the characters it contains: a
		// quote ends a value unless a backslash precedes it (\' and \`
		// do not end it, as in npm dotenv), and a final backslash would
		// escape the closing quote.
		endsBS := strings.HasSuffix(value, `\`)
		unquotable := strings.ContainsAny(value, "\r\n") ||
			(bareQuote(value, '\'') || endsBS) &&
				strings.ContainsAny(value, `"$\`) &&
				(bareQuote(value, '`') || endsBS)
		if (encErr != nil) != unquotable {
			t.Fatalf("encode(%q) error = %v, want failure %v", value, encErr, unquotable)
		}
		if encErr != nil {
			return
		}
		reparsed, err := Parse(d.Bytes())
		if err != nil {
			t.Fatalf("cannot parse own output: %v", err)
		}
		got := values(reparsed)
		want := maps.Clone(orig)
		for _, k := range ownedKeys {
			want[k] = value
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after Set:\n got %q\nwant %q", got, want)
		}
		for _, k := range ownedKeys {
			if _, had := orig[k]; !had {
				d.Delete(k)
			}
		}
		want = maps.Clone(orig)
		for _, k := range ownedKeys {
			if _, had := orig[k]; had {
				want[k] = value
			}
		}
		if got := values(d); !reflect.DeepEqual(got, want) {
			t.Fatalf("after Delete:\n got %q\nwant %q", got, want)
		}
	})
}

// bareQuote reports whether value holds q without a backslash before it.
func bareQuote(value string, q byte) bool {
	for i := 0; i < len(value); i++ {
		if value[i] == q && (i == 0 || value[i-1] != '\\') {
			return true
		}
	}
	return false
}
