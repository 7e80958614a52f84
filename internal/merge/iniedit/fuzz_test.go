package iniedit

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// owned are the keys the fuzz target sets: section, key.
var owned = [][2]string{{"coda", "host"}, {"coda", "token"}, {DefaultSection, "coda_profile"}}

func isOwned(section, key string) bool {
	for _, o := range owned {
		if o[0] == section && o[1] == key {
			return true
		}
	}
	return false
}

// withoutOwned drops the owned keys, and sections left empty that were not
// in base.
func withoutOwned(v, base view) view {
	out := view{}
	for s, kvs := range v {
		var keep []KeyValue
		for _, kv := range kvs {
			if !isOwned(s, kv.Key) {
				keep = append(keep, kv)
			}
		}
		if _, had := base[s]; len(keep) == 0 && !had {
			continue
		}
		if keep == nil {
			keep = []KeyValue{}
		}
		out[s] = keep
	}
	return out
}

// secretMarker appears in seeds; no error may repeat it.
const secretMarker = "SECRETX"

func FuzzEdit(f *testing.F) {
	for _, s := range []string{
		databrickscfg,
		"",
		"[coda]\nhost = old\ntoken = old ; c\n",
		"coda_profile = x\n[DEFAULT]\ncoda_profile = y\n",
		"[coda]\n[a]\n[coda]\nk = v\n",
		"k = `a # b`\nj = \"\"\"x\"\"\"\n",
		"k = 'q'\nj = \"q\" #c\n",
		"[a]\r\nk = v\r\n",
		"\xef\xbb\xbf[a]\n",
		"garbage\n",
		"[a\n",
		"k = \\\n",
	} {
		f.Add([]byte(s), "https://example.cloud.databricks.com")
	}
	f.Add([]byte(databrickscfg), " p#w ;x\\")
	f.Add([]byte(databrickscfg), "`\"q\"`")
	for _, s := range []string{
		"[SECRETX\n",
		"SECRETX\n",
		"[a] SECRETX\n",
		"k = `SECRETX\n",
		"k = SECRETX\\\n",
		"\"SECRETX = 1\n",
		"k = `SECRETX` x\n",
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
		orig := ownView(t, d)
		ref, err := iniView(data)
		if err != nil {
			t.Fatalf("ini.v1 rejects what Parse accepts: %v", err)
		}
		if !reflect.DeepEqual(orig, ref) {
			t.Fatalf("Parse and ini.v1 disagree:\n own %q\n ini %q", orig, ref)
		}

		had := map[[2]string]bool{}
		for _, o := range owned {
			_, had[o] = d.Get(o[0], o[1])
		}
		_, hadCoda := d.Section("coda")
		_, hadDefault := d.Section(DefaultSection)

		_, encErr := encode(value)
		for _, o := range owned {
			before := d.Bytes()
			_, present := d.Get(o[0], o[1])
			err := d.Set(o[0], o[1], value)
			if err == errLastLine && !present && !d.lastLineStable() {
				return
			}
			if (err != nil) != (encErr != nil) {
				t.Fatalf("Set(%q, %q) = %v, encode error %v", o[0], o[1], err, encErr)
			}
			if err != nil && !bytes.Equal(before, d.Bytes()) {
				t.Fatalf("failed Set changed the file")
			}
		}
		if encErr != nil {
			if !strings.ContainsAny(value, "\r\n") {
				t.Fatalf("cannot encode a value without line breaks: %v", encErr)
			}
			return
		}
		out := d.Bytes()
		got, err := iniView(out)
		if err != nil {
			t.Fatalf("ini.v1 cannot read the result: %v", err)
		}
		if own := ownView(t, d); !reflect.DeepEqual(own, got) {
			t.Fatalf("after Set, Parse and ini.v1 disagree:\n own %q\n ini %q", own, got)
		}
		for _, o := range owned {
			if v, _ := d.Get(o[0], o[1]); v != value {
				t.Fatalf("%s.%s = %q, want %q", o[0], o[1], v, value)
			}
		}
		if a, b := withoutOwned(got, orig), withoutOwned(orig, orig); !reflect.DeepEqual(a, b) {
			t.Fatalf("Set changed foreign keys:\n got %q\nwant %q", a, b)
		}

		// Deleting what was not there restores the meaning.
		for _, o := range owned {
			if !had[o] {
				d.Delete(o[0], o[1])
			}
		}
		if !hadCoda {
			d.DeleteSection("coda")
		}
		back, err := iniView(d.Bytes())
		if err != nil {
			t.Fatalf("ini.v1 cannot read the result: %v", err)
		}
		want := withoutOwned(orig, orig)
		for _, o := range owned {
			if had[o] {
				if _, ok := want[o[0]]; !ok {
					want[o[0]] = []KeyValue{}
				}
			}
		}
		got2 := withoutOwned(back, orig)
		if !hadDefault {
			if kvs, ok := got2[DefaultSection]; ok && len(kvs) == 0 {
				delete(got2, DefaultSection)
			}
		}
		if !reflect.DeepEqual(got2, want) {
			t.Fatalf("Delete did not restore:\n got %q\nwant %q", got2, want)
		}
		for _, o := range owned {
			if v, ok := mustParse(t, string(d.Bytes())).Get(o[0], o[1]); had[o] != ok || ok && v != value {
				t.Fatalf("%s.%s = %q, %v after Delete", o[0], o[1], v, ok)
			}
		}
	})
}
