package iniedit

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/ini.v1"
)

const databrickscfg = `; Databricks CLI config
host  = https://default.cloud.databricks.com
token = dapi-default-0000 ; inline comment

[prod]   # production
host=https://prod.cloud.databricks.com
token = "dapi-prod-1111"
  cluster_id : 0123-abc

# staging profile
[staging]
host = https://staging.cloud.databricks.com
auth_type = databricks-cli

[__settings__]
default_profile = prod
`

// view is what a reader sees: section -> ordered keys and values.
type view map[string][]KeyValue

// ownView reads data with this package.
func ownView(t testing.TB, d *Doc) view {
	t.Helper()
	v := view{}
	for _, s := range d.Sections() {
		kvs, ok := d.SectionKeys(s)
		if !ok {
			t.Fatalf("Sections lists %q but SectionKeys does not find it", s)
		}
		if kvs == nil {
			kvs = []KeyValue{}
		}
		v[s] = kvs
	}
	return v
}

// iniView reads data the way the Databricks SDK does.
func iniView(data []byte) (view, error) {
	f, err := ini.LoadSources(ini.LoadOptions{SpaceBeforeInlineComment: true}, data)
	if err != nil {
		return nil, err
	}
	v := view{}
	for _, s := range f.Sections() {
		kvs := []KeyValue{}
		for _, k := range s.Keys() {
			kvs = append(kvs, KeyValue{k.Name(), k.Value()})
		}
		if s.Name() == ini.DefaultSection && len(kvs) == 0 {
			continue // ini.v1 always has DEFAULT
		}
		v[s.Name()] = kvs
	}
	return v, nil
}

func mustParse(t *testing.T, s string) *Doc {
	t.Helper()
	d, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func TestParseMatchesIniV1(t *testing.T) {
	docs := []string{
		databrickscfg,
		"",
		"\n\n",
		"[a]",
		"[DEFAULT]\nhost = x\n",
		"k = 1\n[DEFAULT]\nj = 2\n[a]\nk = 3\n[DEFAULT]\nk = 4\n",
		"[a]\nk = 1\n[b]\n[a]\nk = 2\nj = 3\n",
		"a = `x # y`\nb = \"\"\"q\"uoted\"\"\" ; c\nc = 'single'\nd = \"dq\"\ne = 'mis\"\nf = \"a\"b\"\n",
		"a = x#y\nb = x ;y\nc = x\t#y\nd = x ;y #z\ne=\nf = \n g :h\n",
		"\"quoted key\" = 1\n`bt key` : 2\n",
		"pw = p@ss#word;x\n",
		"k = v\r\n[s]\r\nk = w\r\n",
		"\xef\xbb\xbfk = v\n",
		"[ spaced ]\nk = v\n",
		"[a]b]\nk = v\n",
		"k = \"\"\"",
		"k = `a``\n",
		"k = ''\nj = \"\"\n",
		"k = \u00a0v\u00a0\n",
	}
	for _, in := range docs {
		d, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := string(d.Bytes()); got != in {
			t.Errorf("Bytes() = %q, want %q", got, in)
		}
		want, err := iniView([]byte(in))
		if err != nil {
			t.Errorf("ini.v1 cannot read %q: %v", in, err)
			continue
		}
		if got := ownView(t, d); !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q):\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[a]\nsecret-garbage\n", "line 2: expected a comment"},
		{"k = 1\n[secret\n", "line 2: unterminated section header"},
		{"[]\n", "line 1: empty section name"},
		{"[a] secret\n", "line 1: unexpected text after a section header"},
		{"= secret\n", "line 1: empty key name"},
		{"\"\" = secret\n", "line 1: empty key name"},
		{"- = secret\n", "auto-increment"},
		{"\"\"\"k\"\"\" = secret\n", `"""`},
		{"\"secret = 1\n", "missing closing quote"},
		{"\"k\" secret = 1\n", "after a quoted key"},
		{"k = `secret\nmore`\n", "line 1: multi-line values"},
		{"k = \"\"\"secret\n", "line 1: multi-line values"},
		{"a = 1\nk = secret\\\nmore\n", "line 2: a value ends with \\"},
		{"k = `secret` junk\n", "after a quoted value"},
		{"\xff\xfek\x00", "UTF-16"},
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

func TestEdits(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		edit    func(d *Doc) error
		want    string
		errText string
	}{
		{
			name: "replace in place keeps spacing and comment",
			in:   databrickscfg,
			edit: func(d *Doc) error { return d.Set(DefaultSection, "token", "dapi-new") },
			want: strings.Replace(databrickscfg, "token = dapi-default-0000 ; inline comment", "token = dapi-new ; inline comment", 1),
		},
		{
			name: "replace quoted value and colon style",
			in:   databrickscfg,
			edit: func(d *Doc) error {
				if err := d.Set("prod", "token", "dapi-2"); err != nil {
					return err
				}
				return d.Set("prod", "cluster_id", "x")
			},
			want: strings.Replace(strings.Replace(databrickscfg, `token = "dapi-prod-1111"`, `token = dapi-2`, 1), "cluster_id : 0123-abc", "cluster_id : x", 1),
		},
		{
			name: "append to a section before its trailing blank line and comment",
			in:   databrickscfg,
			edit: func(d *Doc) error { return d.Set("prod", "auth_type", "pat") },
			want: strings.Replace(databrickscfg, "  cluster_id : 0123-abc\n", "  cluster_id : 0123-abc\n  auth_type : pat\n", 1),
		},
		{
			name: "append to the implicit DEFAULT section",
			in:   databrickscfg,
			edit: func(d *Doc) error { return d.Set(DefaultSection, "x", "1") },
			want: strings.Replace(databrickscfg, "; inline comment\n", "; inline comment\nx = 1\n", 1),
		},
		{
			name: "new section at the end after a blank line",
			in:   databrickscfg,
			edit: func(d *Doc) error { return d.Set("coda", "host", "https://h") },
			want: databrickscfg + "\n[coda]\nhost = https://h\n",
		},
		{
			name: "new section in an empty file",
			in:   "",
			edit: func(d *Doc) error { return d.Set("coda", "host", "https://h") },
			want: "[coda]\nhost = https://h\n",
		},
		{
			name: "new DEFAULT section in a file with only comments",
			in:   "# nothing here",
			edit: func(d *Doc) error { return d.Set(DefaultSection, "host", "h") },
			want: "# nothing here\n\n[DEFAULT]\nhost = h\n",
		},
		{
			name: "no trailing newline",
			in:   "[a]\nk=1",
			edit: func(d *Doc) error { return d.Set("a", "j", "2") },
			want: "[a]\nk=1\nj=2\n",
		},
		{
			name: "header without keys",
			in:   "[a]\n\n[b]\n",
			edit: func(d *Doc) error { return d.Set("a", "k", "v") },
			want: "[a]\nk = v\n\n[b]\n",
		},
		{
			name: "last block of a repeated section",
			in:   "[a]\nk = 1\n[b]\n[a]\nj = 2\n\n[c]\n",
			edit: func(d *Doc) error { return d.Set("a", "x", "3") },
			want: "[a]\nk = 1\n[b]\n[a]\nj = 2\nx = 3\n\n[c]\n",
		},
		{
			name: "every duplicate is replaced",
			in:   "[a]\nk = 1\nk = 2\n",
			edit: func(d *Doc) error { return d.Set("a", "k", "3") },
			want: "[a]\nk = 3\nk = 3\n",
		},
		{
			name: "CRLF",
			in:   "[a]\r\nk = 1\r\n",
			edit: func(d *Doc) error {
				if err := d.Set("a", "j", "2"); err != nil {
					return err
				}
				return d.Set("b", "k", "3")
			},
			want: "[a]\r\nk = 1\r\nj = 2\r\n\r\n[b]\r\nk = 3\r\n",
		},
		{
			name: "value with an inline comment marker is quoted",
			in:   "[a]\nk = 1 # c\n",
			edit: func(d *Doc) error { return d.Set("a", "k", "p #w") },
			want: "[a]\nk = `p #w` # c\n",
		},
		{
			name: "value with surrounding spaces and quotes",
			in:   "[a]\n",
			edit: func(d *Doc) error {
				if err := d.Set("a", "s", " x "); err != nil {
					return err
				}
				if err := d.Set("a", "q", `"x"`); err != nil {
					return err
				}
				return d.Set("a", "b", `x\`)
			},
			want: "[a]\ns = ` x `\nq = `\"x\"`\nb = `x\\`\n",
		},
		{
			name: "password with # and ; stays raw",
			in:   "",
			edit: func(d *Doc) error { return d.Set("a", "password", "p#s;w") },
			want: "[a]\npassword = p#s;w\n",
		},
		{
			name: "quotes that do not surround the value are part of it",
			in:   "[a]\nk = 'x' y\n",
			edit: func(d *Doc) error { return d.Set("a", "k", "z") },
			want: "[a]\nk = z\n",
		},
		{
			name:    "last line that a line break would change",
			in:      "k = \"\"\"",
			edit:    func(d *Doc) error { return d.Set(DefaultSection, "j", "1") },
			want:    "k = \"\"\"",
			errText: "last line has no line break",
		},
		{
			name: "that last line can still be replaced",
			in:   "k = \"\"\"",
			edit: func(d *Doc) error { return d.Set(DefaultSection, "k", "1") },
			want: "k = 1",
		},
		{
			name:    "newline in value",
			in:      "[a]\n",
			edit:    func(d *Doc) error { return d.Set("a", "k", "x\ny") },
			want:    "[a]\n",
			errText: "line breaks",
		},
		{
			name:    "bad key",
			in:      "[a]\n",
			edit:    func(d *Doc) error { return d.Set("a", "k=x", "y") },
			want:    "[a]\n",
			errText: "key name",
		},
		{
			name:    "bad section",
			in:      "[a]\n",
			edit:    func(d *Doc) error { return d.Set("a]\n[b", "k", "y") },
			want:    "[a]\n",
			errText: "section name",
		},
		{
			name: "delete every occurrence",
			in:   "[a]\nk = 1\nj = 2\n[a]\nk = 3\n",
			edit: func(d *Doc) error {
				if !d.Delete("a", "k") || d.Delete("a", "k") || d.Delete("b", "j") {
					return errTest
				}
				return nil
			},
			want: "[a]\nj = 2\n[a]\n",
		},
		{
			name: "delete section keeps following comment",
			in:   databrickscfg,
			edit: func(d *Doc) error {
				if !d.DeleteSection("prod") || d.DeleteSection("prod") {
					return errTest
				}
				return nil
			},
			want: strings.Replace(databrickscfg, "[prod]   # production\nhost=https://prod.cloud.databricks.com\ntoken = \"dapi-prod-1111\"\n  cluster_id : 0123-abc\n\n", "", 1),
		},
		{
			name: "delete DEFAULT",
			in:   "host = x\n\n[DEFAULT]\ntoken = y\n\n[a]\nk = 1\n",
			edit: func(d *Doc) error {
				if !d.DeleteSection(DefaultSection) {
					return errTest
				}
				return nil
			},
			want: "[a]\nk = 1\n",
		},
		{
			name: "delete the last section",
			in:   "[a]\nk = 1\n\n[coda]\nhost = h",
			edit: func(d *Doc) error {
				if !d.DeleteSection("coda") {
					return errTest
				}
				return nil
			},
			want: "[a]\nk = 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, tt.in)
			err := tt.edit(d)
			if tt.errText == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.errText)
			}
			got := string(d.Bytes())
			if got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
			want, err := iniView(d.Bytes())
			if err != nil {
				t.Fatalf("ini.v1 cannot read the result: %v", err)
			}
			if own := ownView(t, mustParse(t, got)); !reflect.DeepEqual(own, want) {
				t.Errorf("ini.v1 reads the result differently:\n own %q\n ini %q", own, want)
			}
		})
	}
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("wrong presence reported")

func TestAccessors(t *testing.T) {
	d := mustParse(t, databrickscfg)
	if got, want := d.Sections(), []string{"DEFAULT", "prod", "staging", "__settings__"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sections = %q, want %q", got, want)
	}
	m, ok := d.Section("prod")
	if want := map[string]string{"host": "https://prod.cloud.databricks.com", "token": "dapi-prod-1111", "cluster_id": "0123-abc"}; !ok || !reflect.DeepEqual(m, want) {
		t.Errorf("Section(prod) = %q, %v", m, ok)
	}
	if v, ok := d.Get(DefaultSection, "token"); !ok || v != "dapi-default-0000" {
		t.Errorf("Get(DEFAULT, token) = %q, %v", v, ok)
	}
	if _, ok := d.Section("missing"); ok {
		t.Error("Section(missing) found")
	}
	if _, ok := d.Get("prod", "missing"); ok {
		t.Error("Get(prod, missing) found")
	}
	if kvs, ok := mustParse(t, "[a]\n").SectionKeys("a"); !ok || len(kvs) != 0 {
		t.Errorf("SectionKeys of an empty section = %v, %v", kvs, ok)
	}
	if _, ok := mustParse(t, "; c\n").Section(DefaultSection); ok {
		t.Error("empty DEFAULT reported as present")
	}
}

func TestSetThenDeleteRestoresBytes(t *testing.T) {
	for _, in := range []string{databrickscfg, "", "[a]\nk = 1", "k = 1\n", "[prod]\n\n# c\n"} {
		d := mustParse(t, in)
		if err := d.Set("coda", "host", "https://h"); err != nil {
			t.Fatal(err)
		}
		if err := d.Set("coda", "token", "t"); err != nil {
			t.Fatal(err)
		}
		if !d.DeleteSection("coda") {
			t.Fatal("DeleteSection found nothing")
		}
		if strings.Contains(in, "[prod]") {
			if err := d.Set("prod", "coda_marker", "1"); err != nil {
				t.Fatal(err)
			}
			d.Delete("prod", "coda_marker")
		}
		want := in
		if !strings.HasSuffix(in, "\n") && in != "" {
			want += "\n"
		}
		if got := string(d.Bytes()); got != want {
			t.Errorf("set+delete of %q gave %q", in, got)
		}
	}
}
