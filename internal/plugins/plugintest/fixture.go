package plugintest

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Fixture is a HOME, a state directory and an environment for one test of
// one configurator. Its methods fail the test on an error; paths named
// rel are relative to HOME, with slashes.
type Fixture struct {
	T     testing.TB
	Home  string            // HOME: a temporary directory
	State string            // coda's state directory, outside HOME
	Vars  map[string]string // what Env.Getenv reads; HOME is set
	Bins  map[string]bool   // executables Env.LookPath finds, as /usr/bin/NAME
	// Wd is the working directory Env.Getwd reports: HOME/src unless a
	// test moves it, so no result depends on where the tests run.
	Wd  string
	Env configurator.Env
	C   configurator.Configurator
}

// NewFixture returns a fixture for c whose HOME holds files (rel →
// content) and whose PATH holds nothing (see Install).
func NewFixture(t testing.TB, c configurator.Configurator, files map[string]string) *Fixture {
	t.Helper()
	f := &Fixture{T: t, Home: t.TempDir(), State: filepath.Join(t.TempDir(), "coda"), Bins: map[string]bool{}, C: c}
	f.Vars = map[string]string{"HOME": f.Home}
	f.Wd = filepath.Join(f.Home, "src")
	f.Env = configurator.Env{
		Home:     f.Home,
		Getwd:    func() (string, error) { return f.Wd, nil },
		Getenv:   func(k string) string { return f.Vars[k] },
		StateDir: f.State,
		LookPath: func(file string) (string, error) {
			if f.Bins[file] {
				return "/usr/bin/" + file, nil
			}
			return "", fs.ErrNotExist
		},
	}
	for rel, content := range files {
		f.Write(rel, content)
	}
	return f
}

// Install puts an executable on the fixture's PATH.
func (f *Fixture) Install(name string) { f.Bins[name] = true }

// Path is the absolute path of rel.
func (f *Fixture) Path(rel string) string { return filepath.Join(f.Home, filepath.FromSlash(rel)) }

// Write writes a file below HOME.
func (f *Fixture) Write(rel, content string) {
	f.T.Helper()
	WriteFile(f.T, f.Path(rel), content)
}

// Read returns a file below HOME.
func (f *Fixture) Read(rel string) string {
	f.T.Helper()
	data, err := os.ReadFile(f.Path(rel))
	if err != nil {
		f.T.Fatal(err)
	}
	return string(data)
}

// ReadJSON parses a JSON file below HOME with jsonedit.
func (f *Fixture) ReadJSON(rel string) *jsonedit.Object {
	f.T.Helper()
	o, err := jsonedit.Parse([]byte(f.Read(rel)))
	if err != nil {
		f.T.Fatalf("%s: %v", rel, err)
	}
	return o
}

// Exists reports whether a file below HOME exists.
func (f *Fixture) Exists(rel string) bool { return Exists(f.Path(rel)) }

// FilesHolding lists the files below HOME and the state directory that
// hold s (a token, say), sorted.
func (f *Fixture) FilesHolding(s string) []string {
	f.T.Helper()
	var out []string
	for _, dir := range []string{f.Home, f.State} {
		for path, data := range Snapshot(f.T, dir) {
			if strings.Contains(data, s) {
				out = append(out, path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Plan plans tgt.
func (f *Fixture) Plan(tgt configurator.Target) configurator.Plan {
	f.T.Helper()
	p, err := f.C.Plan(f.Env, tgt)
	if err != nil {
		f.T.Fatalf("Plan: %v", err)
	}
	return p
}

// Apply plans tgt and applies the plan, which it returns.
func (f *Fixture) Apply(tgt configurator.Target) configurator.Plan {
	f.T.Helper()
	p := f.Plan(tgt)
	if err := configurator.Apply(f.Env, f.C, p); err != nil {
		f.T.Fatalf("Apply: %v", err)
	}
	return p
}

// PlanRemove plans the removal of what coda wrote for tgt.
func (f *Fixture) PlanRemove(tgt configurator.Target) configurator.Plan {
	f.T.Helper()
	p, err := f.C.PlanRemove(f.Env, tgt)
	if err != nil {
		f.T.Fatalf("PlanRemove: %v", err)
	}
	return p
}

// Remove plans the removal for tgt and applies it; it returns the plan.
func (f *Fixture) Remove(tgt configurator.Target) configurator.Plan {
	f.T.Helper()
	p := f.PlanRemove(tgt)
	if err := configurator.Apply(f.Env, f.C, p); err != nil {
		f.T.Fatalf("Apply remove: %v", err)
	}
	return p
}

// Status returns the configurator's status for tgt.
func (f *Fixture) Status(tgt configurator.Target) configurator.Status {
	f.T.Helper()
	st, err := f.C.Status(f.Env, tgt)
	if err != nil {
		f.T.Fatalf("Status: %v", err)
	}
	return st
}

// WriteLegacyRecord puts testdata/legacy/NAME.json, a sidecar an older coda
// wrote ($HOME and $STATE stand for the fixture's dirs), in place of the
// plugin's record.
func (f *Fixture) WriteLegacyRecord(name string) {
	f.T.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "legacy", name+".json"))
	if err != nil {
		f.T.Fatal(err)
	}
	side := strings.NewReplacer("$HOME", f.Home, "$STATE", f.State).Replace(string(data))
	WriteFile(f.T, filepath.Join(f.State, "plugins", f.C.Info().Name+".json"), side)
}
