package configurator_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coda-cli/coda/pkg/configurator"
)

// diffCase is one file before and after a plan; nil is a missing file.
type diffCase struct {
	name     string
	old, new []byte
}

func b(s string) []byte { return []byte(s) }

func diffCases() []diffCase {
	var long, longAfter strings.Builder
	for i := 1; i <= 20; i++ {
		line := "line " + strings.Repeat("x", i%3) + string(rune('a'+i)) + "\n"
		long.WriteString(line)
		switch i {
		case 2:
			longAfter.WriteString("changed near the top\n")
		case 19:
			longAfter.WriteString(line + "inserted near the end\n")
		default:
			longAfter.WriteString(line)
		}
	}
	longAfter.WriteString("appended at the end\n")
	return []diffCase{
		{"no-newline-middle.txt", b("a\nb\nc"), b("a\nB\nc")},
		{"no-newline-append.txt", b("a\nb"), b("a\nb\nc\n")},
		{"no-newline-last-changed.txt", b("a\nb\nc\nd\ne"), b("a\nb\nc\nd\nE")},
		{"newline-added.txt", b("a\nb"), b("a\nb\n")},
		{"newline-removed.txt", b("a\nb\n"), b("a\nb")},
		{"end-changed.ini", b("[a]\nx = 1\n[b]\ny = 2\n"), b("[a]\nx = 1\n[b]\ny = 3\nz = 4\n")},
		{"long.txt", b(long.String()), b(longAfter.String())},
		{"new.json", nil, b("{\n  \"k\": 1\n}\n")},
		{"new-no-newline.env", nil, b("A=1")},
		{"deleted.toml", b("x = 1\ny = 2\n"), nil},
		{"deleted-no-newline.toml", b("x = 1"), nil},
		{"emptied.txt", b("gone\n"), b("")},
		{"filled.txt", b(""), b("now\n")},
		{"with space.cfg", b("k = v\n"), b("k = w\n")},
	}
}

// writeFiles writes every case's old content below dir.
func writeFiles(t *testing.T, dir string, cases []diffCase) {
	t.Helper()
	for _, c := range cases {
		if c.old != nil {
			if err := os.WriteFile(filepath.Join(dir, c.name), c.old, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func planFor(cases []diffCase, path func(name string) string) configurator.Plan {
	p := configurator.Plan{Plugin: "test", Notes: []string{"a note after the diffs"}}
	for _, c := range cases {
		p.Changes = append(p.Changes, configurator.Change{Path: path(c.name), Old: c.old, New: c.new})
	}
	return p
}

func runPatch(t *testing.T, dir string, diff string, args ...string) string {
	t.Helper()
	patch, err := exec.LookPath("patch")
	if err != nil {
		t.Skip("patch is not installed")
	}
	cmd := exec.Command(patch, append([]string{"--batch", "--force"}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(diff)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("patch %s: %v\n%s\n--- the diff:\n%s", strings.Join(args, " "), err, out, diff)
	}
	return string(out)
}

// TestDiffIsAPatch: what coda setup --dry-run prints applies with patch to
// the files it was computed from, and gives exactly the planned content.
func TestDiffIsAPatch(t *testing.T) {
	cases := diffCases()

	t.Run("relative paths, patch -p0", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, cases)
		diff := configurator.Diff(planFor(cases, func(n string) string { return n }))
		if strings.Contains(diff, "\x1b") {
			t.Error("an uncoloured diff holds escape sequences")
		}
		out := runPatch(t, dir, diff, "-p0", "--dry-run")
		for _, c := range cases {
			if !strings.Contains(out, c.name) {
				t.Errorf("patch did not check %s:\n%s", c.name, out)
			}
		}
		runPatch(t, dir, diff, "-p0")
		for _, c := range cases {
			got, err := os.ReadFile(filepath.Join(dir, c.name))
			switch {
			case c.new == nil && errors.Is(err, fs.ErrNotExist):
			case c.new == nil:
				t.Errorf("%s: patch left %q (%v), want it deleted", c.name, got, err)
			case err != nil:
				t.Errorf("%s: %v", c.name, err)
			case !bytes.Equal(got, c.new):
				t.Errorf("%s: patched to %q, want %q", c.name, got, c.new)
			}
		}
	})

	t.Run("absolute paths, patch -p1 -d /", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, cases)
		diff := configurator.Diff(planFor(cases, func(n string) string { return filepath.Join(dir, n) }))
		runPatch(t, dir, diff, "-p1", "-d", "/", "--dry-run")
	})
}

func TestDiffNoNewlineMarker(t *testing.T) {
	got := configurator.Diff(configurator.Plan{Changes: []configurator.Change{{Path: "f", Old: b("a\nb"), New: b("a\nc")}}})
	want := "--- f\n+++ f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
	if got != want {
		t.Errorf("diff:\n%s\nwant\n%s", got, want)
	}
	got = configurator.Diff(configurator.Plan{Changes: []configurator.Change{{Path: "f", Old: nil, New: b("x\n")}}})
	if want := "--- /dev/null\n+++ f\n@@ -0,0 +1 @@\n+x\n"; got != want {
		t.Errorf("new file:\n%s\nwant\n%s", got, want)
	}
	got = configurator.Diff(configurator.Plan{Changes: []configurator.Change{{Path: "f", Old: b("x\ny\n"), New: nil}}})
	if want := "--- f\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n"; got != want {
		t.Errorf("deleted file:\n%s\nwant\n%s", got, want)
	}
}

func TestDiffWithHidesStateDir(t *testing.T) {
	home, state := t.TempDir(), filepath.Join(t.TempDir(), "coda")
	p := configurator.Plan{Plugin: "x", Changes: []configurator.Change{
		{Path: filepath.Join(state, "plugins", "x.json"), New: b("{}\n")},
		{Path: filepath.Join(state, "tokens", "x-default"), Old: b("dapi-old-token-1234\n"), New: b("dapi-new-token-5678\n")},
		{Path: filepath.Join(home, ".x", "config"), Old: b("a = 1\n"), New: b("a = 2\n")},
		{Path: state + "-elsewhere", New: b("shown\n")},
	}}
	got := configurator.DiffWith(p, configurator.DiffOptions{StateDir: state})
	if strings.Contains(got, state+string(filepath.Separator)) || strings.Contains(got, "dapi") {
		t.Errorf("the diff shows coda's own files:\n%s", got)
	}
	if !strings.Contains(got, "+++ "+filepath.Join(home, ".x", "config")+"\n") || !strings.Contains(got, "+shown") {
		t.Errorf("the diff leaves out the user's files:\n%s", got)
	}
	if all := configurator.Diff(p); !strings.Contains(all, "x.json") {
		t.Errorf("Diff without a state dir hides files:\n%s", all)
	}
}

func TestDiffWithColor(t *testing.T) {
	p := configurator.Plan{Plugin: "x", Notes: []string{"n"}, Changes: []configurator.Change{
		{Path: "f", Old: b("a\nb\nc"), New: b("a\nB\nc\n")},
	}}
	plain := configurator.DiffWith(p, configurator.DiffOptions{})
	color := configurator.DiffWith(p, configurator.DiffOptions{Color: true})
	for _, want := range []string{"\x1b[31m-b\x1b[0m\n", "\x1b[32m+B\x1b[0m\n", "\x1b[36m@@ -1,3 +1,3 @@\x1b[0m\n", "\\ No newline at end of file\n", "note (x): n\n"} {
		if !strings.Contains(color, want) {
			t.Errorf("coloured diff lacks %q:\n%q", want, color)
		}
	}
	if stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(color, ""); stripped != plain {
		t.Errorf("without its colours the diff is\n%q\nwant\n%q", stripped, plain)
	}
}

func TestDiffRedactsAndNotesEmptyFiles(t *testing.T) {
	secret := "dapi0123456789abcdef"
	p := configurator.Plan{Plugin: "x", Changes: []configurator.Change{
		{Path: "env", Old: b("K=" + secret + "\n"), New: b("K=" + secret + "\nL=1\n")},
		{Path: "empty", New: b("")},
	}}
	got := configurator.Diff(p, secret)
	if strings.Contains(got, secret) || !strings.Contains(got, " K=<token …cdef>\n") {
		t.Errorf("secret not redacted:\n%s", got)
	}
	if !strings.Contains(got, "note (x): creates the empty file empty\n") {
		t.Errorf("the empty new file is not mentioned:\n%s", got)
	}
}
