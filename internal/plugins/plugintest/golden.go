package plugintest

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coda-cli/coda/pkg/configurator"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Scrub replaces the fixture's state directory with $STATE and its HOME
// with $HOME, so that what a plan writes compares with a golden file.
func (f *Fixture) Scrub(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, f.State, "$STATE"), f.Home, "$HOME")
}

// GoldenPath names a planned file: relative to HOME, or STATE/... for
// coda's state directory. A path elsewhere fails the test.
func (f *Fixture) GoldenPath(path string) string {
	f.T.Helper()
	if rel, err := filepath.Rel(f.Home, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	if rel, err := filepath.Rel(f.State, path); err == nil && !strings.HasPrefix(rel, "..") {
		return "STATE/" + filepath.ToSlash(rel)
	}
	f.T.Fatalf("planned file outside HOME and the state dir: %s", path)
	return ""
}

// Golden returns a plan as golden files: every file it writes (a change
// with New, changed or not) by GoldenPath, and its notes as NOTES; both
// scrubbed.
func (f *Fixture) Golden(p configurator.Plan) map[string]string {
	f.T.Helper()
	got := map[string]string{}
	for _, c := range p.Changes {
		if c.New != nil {
			got[f.GoldenPath(c.Path)] = f.Scrub(string(c.New))
		}
	}
	f.goldenNotes(got, p)
	return got
}

// GoldenChanges returns a plan as golden files: CHANGES lists every change
// as write, delete or unchanged; each file it writes and changes is there
// by GoldenPath, and its notes as NOTES; all scrubbed.
func (f *Fixture) GoldenChanges(p configurator.Plan) map[string]string {
	f.T.Helper()
	got := map[string]string{}
	var summary []string
	for _, c := range p.Changes {
		rel := f.GoldenPath(c.Path)
		switch {
		case !c.Changed():
			summary = append(summary, "unchanged "+rel)
		case c.New == nil:
			summary = append(summary, "delete    "+rel)
		default:
			summary = append(summary, "write     "+rel)
			got[rel] = f.Scrub(string(c.New))
		}
	}
	got["CHANGES"] = strings.Join(summary, "\n") + "\n"
	f.goldenNotes(got, p)
	return got
}

func (f *Fixture) goldenNotes(got map[string]string, p configurator.Plan) {
	if len(p.Notes) > 0 {
		got["NOTES"] = f.Scrub(strings.Join(p.Notes, "\n")) + "\n"
	}
}

// CompareGolden compares got (a path relative to dir → content) with the
// files below dir, which must match it file for file. With -update it
// first rewrites dir to hold got.
func CompareGolden(t testing.TB, dir string, got map[string]string) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for rel, content := range got {
			WriteFile(t, filepath.Join(dir, filepath.FromSlash(rel)), content)
		}
	}
	want := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		want[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("read golden files (run go test -update): %v", err)
	}
	for rel, w := range want {
		if g, ok := got[rel]; !ok {
			t.Errorf("%s: in the golden files but not planned", rel)
		} else if g != w {
			t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", rel, filepath.Join(dir, rel), g, w)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("%s: planned but has no golden file (run go test -update)", rel)
		}
	}
}

// CheckGolden compares with testdata/golden/NAME the plan for tgt or, with
// remove, the removal planned after applying that plan (GoldenChanges).
func (f *Fixture) CheckGolden(t testing.TB, name string, tgt configurator.Target, remove bool) {
	t.Helper()
	p := f.Plan(tgt)
	if remove {
		if err := configurator.Apply(f.Env, f.C, p); err != nil {
			t.Fatal(err)
		}
		p = f.PlanRemove(tgt)
	}
	CompareGolden(t, filepath.Join("testdata", "golden", name), f.GoldenChanges(p))
}
