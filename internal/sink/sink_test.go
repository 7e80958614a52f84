package sink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tok = "dapi0123456789abcdef0123456789ab"

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Each format changes only the token's line, keeps every other byte, makes
// the file 0600, and reads back what it wrote; no token takes it out.
func TestPutGetEachFormat(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		spec               Spec
		before, want, gone string
	}{
		{Spec{Plugin: "g", Path: filepath.Join(dir, "a", ".env"), Format: FormatDotenv, Key: "KEY"},
			"# mine\nOTHER=1\nKEY=old\n", "# mine\nOTHER=1\nKEY=" + tok + "\n", "# mine\nOTHER=1\n"},
		{Spec{Plugin: "d", Path: filepath.Join(dir, "b", "cfg"), Format: FormatINI, Section: "DEFAULT", Key: "token"},
			"; mine\n[DEFAULT]\nhost = h\ntoken = old\n\n[work]\ntoken = theirs\n", "; mine\n[DEFAULT]\nhost = h\ntoken = " + tok + "\n\n[work]\ntoken = theirs\n",
			"; mine\n[DEFAULT]\nhost = h\n\n[work]\ntoken = theirs\n"},
		{Spec{Plugin: "o", Path: filepath.Join(dir, "c", "token"), Format: FormatFile}, "old\n", tok + "\n", ""},
	}
	w := Writer{LockDir: filepath.Join(dir, "locks")}
	for _, tt := range tests {
		write(t, tt.spec.Path, tt.before)
		if err := w.Put(tt.spec, tok); err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if got := read(t, tt.spec.Path); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.spec, got, tt.want)
		}
		if info, _ := os.Stat(tt.spec.Path); info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o", tt.spec, info.Mode().Perm())
		}
		if got, err := w.Get(tt.spec); err != nil || got != tok {
			t.Errorf("%s: Get = %q, %v", tt.spec, got, err)
		}
		if err := w.Put(tt.spec, ""); err != nil {
			t.Fatal(err)
		}
		if tt.spec.Format == FormatFile {
			if _, err := os.Stat(tt.spec.Path); !os.IsNotExist(err) {
				t.Errorf("%s: the token file is still there", tt.spec)
			}
		} else if got := read(t, tt.spec.Path); got != tt.gone {
			t.Errorf("%s after revoke:\n got %q\nwant %q", tt.spec, got, tt.gone)
		}
		if got, err := w.Get(tt.spec); err != nil || got != "" {
			t.Errorf("%s: Get after revoke = %q, %v", tt.spec, got, err)
		}
	}
}

// A sink creates its file (and a private directory) when missing, and
// writes nothing when the file already holds the token.
func TestPutCreatesAndSkipsUnchanged(t *testing.T) {
	dir := t.TempDir()
	s := Spec{Plugin: "g", Path: filepath.Join(dir, "new", ".env"), Format: FormatDotenv, Key: "KEY"}
	writes := 0
	w := Writer{Write: func(p string, d []byte, m os.FileMode) error { writes++; return AtomicWrite(p, d, m) }}
	for range 2 {
		if err := w.Put(s, tok); err != nil {
			t.Fatal(err)
		}
	}
	if writes != 1 || read(t, s.Path) != "KEY="+tok+"\n" {
		t.Errorf("%d writes, content %q", writes, read(t, s.Path))
	}
	if info, _ := os.Stat(filepath.Dir(s.Path)); info.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %o", info.Mode().Perm())
	}
}

// A malformed file, a bad spec or a token with a control character is an
// error that names the sink and never quotes the token.
func TestPutRefuses(t *testing.T) {
	dir := t.TempDir()
	env := Spec{Plugin: "g", Path: filepath.Join(dir, ".env"), Format: FormatDotenv, Key: "KEY"}
	write(t, env.Path, "not a dotenv line\n")
	tests := []struct {
		spec  Spec
		token string
		want  string
	}{
		{env, tok, "not a valid .env file"},
		{Spec{Plugin: "g", Path: "relative", Format: FormatFile}, tok, "must be absolute"},
		{Spec{Plugin: "g", Path: env.Path, Format: FormatINI, Key: "token"}, tok, "needs a key (and an INI section)"},
		{Spec{Plugin: "g", Path: env.Path, Format: "yaml"}, tok, "unknown format"},
		{Spec{Plugin: "o", Path: filepath.Join(dir, "t"), Format: FormatFile}, tok + "\n", "control character"},
	}
	for _, tt := range tests {
		err := Writer{}.Put(tt.spec, tt.token)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), tt.spec.Plugin+": ") {
			t.Errorf("%+v: %v, want %q", tt.spec, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), tok) {
			t.Errorf("the error quotes the token: %v", err)
		}
	}
	if read(t, env.Path) != "not a dotenv line\n" {
		t.Error("a refused file was changed")
	}
}
