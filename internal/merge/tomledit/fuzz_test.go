package tomledit

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"github.com/rogpeppe/go-internal/txtar"
)

// semEqual is reflect.DeepEqual where NaN equals NaN.
func semEqual(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !semEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !semEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// decodeOK decodes b, reporting whether it is valid TOML.
func decodeOK(b []byte) (map[string]any, bool) {
	var m map[string]any
	if err := toml.Unmarshal(b, &m); err != nil {
		return nil, false
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, true
}

// perByteUTF8 is what Quote makes of invalid UTF-8: one U+FFFD per byte.
func perByteUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func sub(m map[string]any, path ...string) (map[string]any, bool) {
	for _, k := range path {
		v, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = v
	}
	return m, true
}

func validCorpus(t testing.TB) []txtar.File {
	ar, err := txtar.ParseFile("testdata/toml-test-valid.txtar")
	if err != nil {
		t.Fatal(err)
	}
	return ar.Files
}

func fuzzSeeds() []string {
	return []string{
		codexConfig,
		"",
		"model = \"x\"\n[model_providers.coda]\nname = \"old\"\nextra = 1\n\n# next\n[model_providers.coda.headers]\nX = \"y\"\n",
		"model_providers.coda.name = \"x\"\n",
		"model_providers = { coda = { name = \"x\" } }\n",
		"[model_providers]\ncoda.name = 1\n",
		"[[model_providers]]\nname = 1\n",
		"[model]\nx = 1\n",
		"model.x = 1\n",
		"[model_providers.coda.name]\nx = 1\n",
		"a = 1\r\n[t]\r\nb = [\r\n  1, # c\r\n]\r\n",
		"s = '''\n[fake]\n'''\nt = \"\"\"a\\\n  b\"\"\"\"\"\n",
		"x = { a = [\n1,\n2 # c\n] }\n",
		"d = 1979-05-27 07:32:00Z # spaced datetime\n",
		"\"quoted key\" = 1\n'lit.key' = 2\n[\"a b\".'c']\nk = nan\n",
		"a = 1",
		"# only a comment",
		"[a]\n[a.b]\n[a.b.c]\n",
	}
}

func TestValidCorpus(t *testing.T) {
	for _, f := range validCorpus(t) {
		t.Run(f.Name, func(t *testing.T) {
			checkEdits(t, f.Data, "value")
		})
	}
}

// secretMarker appears in seeds; no error may repeat it.
const secretMarker = "SECRETX"

func FuzzEdit(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), "tok")
	}
	for _, file := range validCorpus(f) {
		f.Add(file.Data, "v")
	}
	f.Add([]byte(codexConfig), "a\"b\\c\n\x00\x7f\xff'''")
	for _, s := range []string{
		"SECRETX = 1\nSECRETX = 2\n",
		"[SECRETX]\n[SECRETX]\n",
		"a = SECRETX\n",
		"a = \"\\SECRETX\"\n",
		"a = 1 SECRETX\n",
		"SECRETX.x = 1\n[SECRETX]\n",
		"a = 1.5SECRETX\n",
		"a = 0xSECRETX\n",
		"a = 1979-05-27TSECRETX\n",
		"[a]\nb = 1\n[a.b]\nSECRETX = 1\n",
	} {
		f.Add([]byte(s), "x")
	}
	f.Fuzz(func(t *testing.T, data []byte, val string) {
		checkEdits(t, data, val)
	})
}

// checkEdits parses data and, if it is valid TOML, sets and deletes the
// keys coda owns, checking that nothing else changes meaning.
func checkEdits(t *testing.T, data []byte, val string) {
	orig, valid := decodeOK(data)
	d, err := Parse(data)
	if !valid {
		if err == nil {
			t.Fatalf("Parse accepted invalid TOML")
		}
		msg := err.Error()
		if strings.ContainsAny(msg, "\r\n") || len(msg) > 200 {
			t.Fatalf("error is not one short line: %q", msg)
		}
		if strings.Contains(msg, secretMarker) {
			t.Fatalf("error echoes content: %q", msg)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse rejected valid TOML: %v", err)
	}
	if !bytes.Equal(d.Bytes(), data) {
		t.Fatalf("Bytes() differs from the input")
	}
	lit, want := Quote(val), perByteUTF8(val)

	// Root key.
	_, hadRoot := d.RootKey("model")
	before := d.Bytes()
	if err := d.SetRootKey("model", lit); err != nil {
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("SetRootKey: %v", err)
		}
		if !bytes.Equal(d.Bytes(), before) {
			t.Fatalf("failed SetRootKey changed the document")
		}
	} else {
		got, ok := decodeOK(d.Bytes())
		if !ok {
			t.Fatalf("SetRootKey produced invalid TOML:\n%s", d.Bytes())
		}
		if got["model"] != want {
			t.Fatalf("model = %#v, want %q", got["model"], want)
		}
		if l, _ := d.RootKey("model"); l != lit {
			t.Fatalf("RootKey = %q, want %q", l, lit)
		}
		exp, _ := decodeOK(data)
		delete(exp, "model")
		delete(got, "model")
		if !semEqual(got, exp) {
			t.Fatalf("SetRootKey changed other keys:\n got %#v\nwant %#v", got, exp)
		}
		if !hadRoot {
			if !d.DeleteRootKey("model") {
				t.Fatalf("DeleteRootKey found nothing")
			}
			if got, _ := decodeOK(d.Bytes()); !semEqual(got, orig) {
				t.Fatalf("DeleteRootKey did not restore:\n got %#v\nwant %#v", got, orig)
			}
		}
	}

	// Owned table.
	const name = "model_providers.coda"
	origKVs, hadTable := d.Table(name)
	base, _ := decodeOK(d.Bytes()) // after the root key edits
	body := []KV{{"name", lit}, {"base_url", `"https://example.com/serving"`}}
	before = d.Bytes()
	if err := d.SetTable(name, body); err != nil {
		origN, _ := sub(base, "model_providers", "coda")
		_, nameTable := origN["name"].(map[string]any)
		_, nameArr := origN["name"].([]any)
		_, urlTable := origN["base_url"].(map[string]any)
		_, urlArr := origN["base_url"].([]any)
		if !errors.Is(err, ErrConflict) && !nameTable && !nameArr && !urlTable && !urlArr {
			t.Fatalf("SetTable: %v", err)
		}
		if !bytes.Equal(d.Bytes(), before) {
			t.Fatalf("failed SetTable changed the document")
		}
		return
	}
	got, ok := decodeOK(d.Bytes())
	if !ok {
		t.Fatalf("SetTable produced invalid TOML:\n%s", d.Bytes())
	}
	gotN, _ := sub(got, "model_providers", "coda")
	if gotN["name"] != want || gotN["base_url"] != "https://example.com/serving" {
		t.Fatalf("table = %#v", gotN)
	}
	// Keys of the table that coda does not set come from subtables and
	// must be unchanged; the old body's keys are gone by design.
	excluded := map[string]bool{"name": true, "base_url": true}
	for _, kv := range origKVs {
		parts, err := parseKeyExpr(kv.Key)
		if err != nil {
			t.Fatalf("Table returned an invalid key")
		}
		excluded[parts[0]] = true
	}
	baseN, _ := sub(base, "model_providers", "coda")
	for k := range gotN {
		if !excluded[k] && !semEqual(gotN[k], baseN[k]) {
			t.Fatalf("SetTable changed subtable %q", k)
		}
	}
	for k := range baseN {
		if _, ok := gotN[k]; !ok && !excluded[k] {
			t.Fatalf("SetTable lost subtable %q", k)
		}
	}
	strip := func(m map[string]any) {
		if mp, ok := m["model_providers"].(map[string]any); ok {
			delete(mp, "coda")
		}
	}
	exp, _ := decodeOK(before)
	strip(exp)
	strip(got)
	if mp, ok := got["model_providers"].(map[string]any); ok && len(mp) == 0 {
		if _, had := exp["model_providers"]; !had {
			delete(got, "model_providers")
		}
	}
	if !semEqual(got, exp) {
		t.Fatalf("SetTable changed other keys:\n got %#v\nwant %#v", got, exp)
	}
	if kvs, ok := d.Table(name); !ok || !reflect.DeepEqual(kvs, body) {
		t.Fatalf("Table after SetTable = %q", kvs)
	}
	if !hadTable {
		removed, err := d.DeleteTable(name, false)
		if err != nil || !removed {
			t.Fatalf("DeleteTable = %v, %v", removed, err)
		}
		if got, _ := decodeOK(d.Bytes()); !semEqual(got, base) {
			t.Fatalf("DeleteTable did not restore:\n got %#v\nwant %#v", got, base)
		}
	}
}

// TestGeneratedDocuments assembles many documents from fragments that
// touch the names coda owns in every way TOML allows, and runs the same
// checks as the fuzz target on those that are valid.
func TestGeneratedDocuments(t *testing.T) {
	fragments := []string{
		"model = \"o3\"\n", "model.x = 1\n", "[model]\n", "# comment\n", "\n",
		"[model_providers]\n", "[model_providers.coda]\n", "[model_providers.other]\n",
		"[model_providers.coda.headers]\n", "[[model_providers]]\n", "[[model_providers.coda.list]]\n",
		"model_providers.coda.name = \"x\"\n", "coda.name = 1\n", "coda = { name = \"x\" }\n",
		"name = \"n\" # c\n", "base_url = [\n  1, # c\n]\n", "env_key = '''\n[fake]\n'''\n",
		"headers.X = \"y\"\n", "list = []\n", "\"quoted key\" = 1\n", "[profiles.fast]\n",
		"model_provider = \"coda\"\n", "x = 1\r\n", "[ model_providers . \"coda\" ] # h\n",
	}
	state := uint64(42)
	next := func(n int) int {
		state = state*6364136223846793005 + 1442695040888963407
		return int(state>>33) % n
	}
	valid := 0
	for n := 0; n < 20000 && valid < 3000; n++ {
		var b strings.Builder
		for k := next(8) + 1; k > 0; k-- {
			b.WriteString(fragments[next(len(fragments))])
		}
		data := []byte(b.String())
		if _, ok := decodeOK(data); !ok {
			continue
		}
		valid++
		checkEdits(t, data, "v")
		if t.Failed() {
			t.Fatalf("document:\n%s", data)
		}
	}
	if valid < 1000 {
		t.Fatalf("only %d valid documents generated", valid)
	}
}
