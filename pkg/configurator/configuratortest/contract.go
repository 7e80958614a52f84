// Package configuratortest is the contract every Configurator must pass.
// A plugin's test calls Run with a Suite describing its files; Run checks
// that applying is idempotent, that what coda does not own survives, that
// remove restores the user's files minus coda's keys, that secrets are
// 0600, that malformed files are refused untouched, and that Status
// follows apply and remove.
package configuratortest

import (
	"maps"
	"slices"

	"bytes"
	"github.com/coda-cli/coda/internal/sink"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/pkg/configurator"
)

// Suite describes one plugin for the contract.
type Suite struct {
	New func() configurator.Configurator
	// Target returns the target to configure for; the contract changes
	// Host, Token and Models to check staleness and rotations.
	Target func() configurator.Target
	// Binaries are executables the plugin's Detect looks for on PATH; the
	// contract creates stubs of them.
	Binaries []string
	// UserFiles are existing configs (path relative to HOME → content)
	// with keys, sections and comments coda does not own.
	UserFiles map[string]string
	// Malformed are files (relative to HOME) the plugin must refuse.
	Malformed map[string]string
	// Stale changes the target so that what was applied is out of date;
	// nil moves it to another host (right for every tool that points at
	// the workspace, not for one that only takes the user's identity).
	Stale func(configurator.Target) configurator.Target
	// NeverAbsent marks a plugin whose files matter without its binary
	// (the Databricks profile serves every SDK): not installed is
	// not-configured, never absent.
	NeverAbsent bool
	// Split decodes a managed file into what coda does not own and what it
	// does (both comparable with reflect.DeepEqual). rel is relative to HOME.
	Split func(rel string, data []byte) (foreign, owned any, err error)
}

// Run runs the contract.
func Run(t *testing.T, s Suite) {
	t.Run("ApplyTwiceChangesNothing", func(t *testing.T) { applyTwice(t, s, nil) })
	t.Run("ApplyTwiceWithUserFiles", func(t *testing.T) { applyTwice(t, s, s.UserFiles) })
	t.Run("ForeignContentSurvivesAndRemoveRestores", func(t *testing.T) { foreignSurvives(t, s) })
	t.Run("RemoveLeavesAnEmptyHomeEmpty", func(t *testing.T) { removeLeavesNothing(t, s) })
	t.Run("SecretsArePrivate", func(t *testing.T) { secretsPrivate(t, s) })
	t.Run("MalformedFilesRefusedUntouched", func(t *testing.T) { malformed(t, s) })
	t.Run("StatusFollowsApplyAndRemove", func(t *testing.T) { statusFollows(t, s) })
	t.Run("PlanWritesNothing", func(t *testing.T) { planWritesNothing(t, s) })
	t.Run("RotationReachesTheFiles", func(t *testing.T) { rotation(t, s) })
	t.Run("SinksHoldTheTokenAndNothingElse", func(t *testing.T) { sinks(t, s) })
}

type harness struct {
	t   *testing.T
	s   Suite
	c   configurator.Configurator
	env configurator.Env
	tgt configurator.Target
}

func newHarness(t *testing.T, s Suite, files map[string]string, installed bool) *harness {
	t.Helper()
	home := t.TempDir()
	state := filepath.Join(t.TempDir(), "coda")
	bin := t.TempDir()
	if installed {
		for _, b := range s.Binaries {
			if err := os.WriteFile(filepath.Join(bin, b), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for rel, content := range files {
		path := filepath.Join(home, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"HOME": home, "PATH": bin}
	env := configurator.Env{
		Home:     home,
		Getenv:   func(k string) string { return vars[k] },
		StateDir: state,
		// A folder of the fake home, so nothing depends on where tests run.
		Getwd: func() (string, error) { return filepath.Join(home, "src"), nil },
		LookPath: func(file string) (string, error) {
			p := filepath.Join(bin, file)
			if _, err := os.Stat(p); err != nil {
				return "", err
			}
			return p, nil
		},
	}
	return &harness{t: t, s: s, c: s.New(), env: env, tgt: s.Target()}
}

func (h *harness) plan(tgt configurator.Target) configurator.Plan {
	h.t.Helper()
	p, err := h.c.Plan(h.env, tgt)
	if err != nil {
		h.t.Fatalf("Plan: %v", err)
	}
	return p
}

func (h *harness) apply(p configurator.Plan) {
	h.t.Helper()
	if err := configurator.Apply(h.env, h.c, p); err != nil {
		h.t.Fatalf("Apply: %v", err)
	}
}

func (h *harness) remove() configurator.Plan {
	h.t.Helper()
	p, err := h.c.PlanRemove(h.env, h.tgt)
	if err != nil {
		h.t.Fatalf("PlanRemove: %v", err)
	}
	h.apply(p)
	return p
}

func (h *harness) status(tgt configurator.Target) configurator.State {
	h.t.Helper()
	st, err := h.c.Status(h.env, tgt)
	if err != nil {
		h.t.Fatalf("Status: %v", err)
	}
	return st.State
}

// snapshot reads every regular file under HOME (relative path → content).
func (h *harness) snapshot() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(h.env.Home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(h.env.Home, path)
		out[rel] = string(data)
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *harness) managed(p configurator.Plan) []string {
	var rels []string
	for _, c := range p.Changes {
		if !c.Changed() {
			continue
		}
		rel, err := filepath.Rel(h.env.Home, c.Path)
		if err == nil && !strings.HasPrefix(rel, "..") {
			rels = append(rels, rel)
		}
	}
	return rels
}

func applyTwice(t *testing.T, s Suite, files map[string]string) {
	h := newHarness(t, s, files, true)
	first := h.plan(h.tgt)
	if first.Empty() {
		t.Fatal("the first plan changes nothing")
	}
	h.apply(first)
	if second := h.plan(h.tgt); !second.Empty() {
		t.Fatalf("applying twice changes files the second time:\n%s", configurator.Diff(second, h.tgt.Token))
	}
}

func foreignSurvives(t *testing.T, s Suite) {
	if len(s.UserFiles) == 0 {
		t.Fatal("the suite has no UserFiles: give the plugin existing configs with foreign keys")
	}
	h := newHarness(t, s, s.UserFiles, true)
	p := h.plan(h.tgt)
	h.apply(p)
	for rel, original := range s.UserFiles {
		data, err := os.ReadFile(filepath.Join(h.env.Home, rel))
		if err != nil {
			t.Fatalf("%s after apply: %v", rel, err)
		}
		wantForeign, wantOwned := h.split(rel, []byte(original))
		gotForeign, gotOwned := h.split(rel, data)
		if !reflect.DeepEqual(gotForeign, wantForeign) {
			t.Errorf("%s: apply changed content coda does not own:\n got %#v\nwant %#v", rel, gotForeign, wantForeign)
		}
		if reflect.DeepEqual(gotOwned, wantOwned) && slicesContains(h.managed(p), rel) {
			t.Errorf("%s: apply planned a change but coda's keys are as before", rel)
		}
	}
	h.remove()
	for rel, original := range s.UserFiles {
		data, err := os.ReadFile(filepath.Join(h.env.Home, rel))
		if err != nil {
			t.Fatalf("%s after remove: %v", rel, err)
		}
		wantForeign, wantOwned := h.split(rel, []byte(original))
		gotForeign, gotOwned := h.split(rel, data)
		if !reflect.DeepEqual(gotForeign, wantForeign) || !reflect.DeepEqual(gotOwned, wantOwned) {
			t.Errorf("%s: remove did not restore the user's file:\n got %#v / %#v\nwant %#v / %#v", rel, gotForeign, gotOwned, wantForeign, wantOwned)
		}
	}
	// coda keeps nothing of the plugin's in its own state dir either.
	_ = filepath.WalkDir(h.env.StateDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(path, string(filepath.Separator)+"locks"+string(filepath.Separator)) {
			t.Errorf("%s is left in coda's state dir after remove", path)
		}
		return nil
	})
	// Files coda created from nothing are gone or hold nothing of coda's.
	for rel, content := range h.snapshot() {
		if _, user := s.UserFiles[rel]; user || strings.HasSuffix(rel, ".bak") {
			continue
		}
		if _, owned := h.split(rel, []byte(content)); owned != nil && !reflect.ValueOf(owned).IsZero() {
			t.Errorf("%s: coda's keys remain after remove: %#v", rel, owned)
		}
	}
}

// removeLeavesNothing: set up in an empty home and removed, a plugin
// leaves the home as it found it: no file, no .bak of what coda alone
// wrote, no directory coda created; and nothing in coda's state dir but
// its locks.
func removeLeavesNothing(t *testing.T, s Suite) {
	h := newHarness(t, s, nil, true)
	h.apply(h.plan(h.tgt))
	h.remove()
	left := func(root string, skip func(rel string) bool) []string {
		var out []string
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(root, path)
			if err != nil || rel == "." || skip(rel) {
				return nil
			}
			if d.IsDir() {
				rel += "/"
			}
			out = append(out, rel)
			return nil
		})
		return out
	}
	if got := left(h.env.Home, func(string) bool { return false }); len(got) > 0 {
		t.Errorf("setup then remove in an empty home leaves %q", got)
	}
	locks := func(rel string) bool {
		return rel == "locks" || strings.HasPrefix(rel, "locks"+string(filepath.Separator))
	}
	if got := left(h.env.StateDir, locks); len(got) > 0 {
		t.Errorf("setup then remove leaves %q in coda's state dir", got)
	}
}

func (h *harness) split(rel string, data []byte) (any, any) {
	h.t.Helper()
	f, o, err := h.s.Split(rel, data)
	if err != nil {
		h.t.Fatalf("Split(%s): %v", rel, err)
	}
	return f, o
}

func secretsPrivate(t *testing.T, s Suite) {
	h := newHarness(t, s, s.UserFiles, true)
	p := h.plan(h.tgt)
	h.apply(p)
	token := h.tgt.Token
	delivery := h.c.Info().Delivery
	check := func(path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if token == "" || !bytes.Contains(data, []byte(token)) {
			return
		}
		// Through the proxy the "token" is the proxy's local key, which a
		// tool may hold whatever its delivery: it never rotates.
		if delivery != configurator.DeliveryLiteral && !h.tgt.Proxied {
			t.Errorf("%s holds the token, but %s delivers it by %s", path, h.c.Info().Name, delivery)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != configurator.SecretPerm {
			t.Errorf("%s holds the token with mode %o, want 0600", path, info.Mode().Perm())
		}
		if dir, _ := os.Stat(filepath.Dir(path)); dir != nil && dir.Mode().Perm()&0o077 != 0 && filepath.Dir(path) != h.env.Home {
			t.Errorf("%s holds the token in a directory others can read (%o)", path, dir.Mode().Perm())
		}
	}
	for _, c := range p.Changes {
		if c.New != nil {
			check(c.Path)
		}
	}
	for _, bak := range globBak(h.env.Home) {
		check(bak)
	}
}

func globBak(home string) []string {
	var out []string
	_ = filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".bak") {
			out = append(out, path)
		}
		return nil
	})
	return out
}

func malformed(t *testing.T, s Suite) {
	if len(s.Malformed) == 0 {
		t.Fatal("the suite has no Malformed files: every plugin that merges must refuse a broken file")
	}
	for rel, content := range s.Malformed {
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) {
			h := newHarness(t, s, map[string]string{rel: content}, true)
			_, err := h.c.Plan(h.env, h.tgt)
			if err == nil {
				t.Fatalf("Plan accepted a malformed %s", rel)
			}
			if !strings.Contains(err.Error(), filepath.Base(rel)) {
				t.Errorf("the error does not name the file: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error is not one line: %q", err)
			}
			if h.tgt.Token != "" && strings.Contains(err.Error(), h.tgt.Token) {
				t.Error("the error holds the token")
			}
			if _, err := h.c.PlanRemove(h.env, h.tgt); err == nil {
				t.Errorf("PlanRemove accepted a malformed %s", rel)
			}
			data, _ := os.ReadFile(filepath.Join(h.env.Home, rel))
			if string(data) != content {
				t.Errorf("%s was modified", rel)
			}
		})
	}
}

func statusFollows(t *testing.T, s Suite) {
	absent := newHarness(t, s, nil, false)
	if len(s.Binaries) > 0 {
		want := configurator.StateAbsent
		if s.NeverAbsent {
			want = configurator.StateNotConfigured
		}
		if got := absent.status(absent.tgt); got != want {
			t.Errorf("not installed: status %s, want %s", got, want)
		}
	}
	h := newHarness(t, s, s.UserFiles, true)
	if got := h.status(h.tgt); got != configurator.StateNotConfigured {
		t.Errorf("before apply: status %s, want %s", got, configurator.StateNotConfigured)
	}
	h.apply(h.plan(h.tgt))
	if got := h.status(h.tgt); got != configurator.StateConfigured {
		t.Errorf("after apply: status %s, want %s", got, configurator.StateConfigured)
	}
	stale := s.Stale
	if stale == nil {
		stale = otherHost
	}
	if got := h.status(stale(h.tgt)); got != configurator.StateStale {
		t.Errorf("target changed after apply: status %s, want %s", got, configurator.StateStale)
	}
	h.remove()
	if got := h.status(h.tgt); got != configurator.StateNotConfigured {
		t.Errorf("after remove: status %s, want %s", got, configurator.StateNotConfigured)
	}
	if p, err := h.c.PlanRemove(h.env, h.tgt); err != nil || !p.Empty() {
		t.Errorf("removing twice: plan %v, err %v; want nothing to do", configurator.Diff(p), err)
	}
}

// otherHost is the target moved to another workspace.
func otherHost(t configurator.Target) configurator.Target {
	moved := t
	moved.Host = "https://elsewhere.example.com"
	e := t.Endpoints
	moved.Endpoints = configurator.Endpoints{Family: e.Family,
		Anthropic: strings.Replace(e.Anthropic, t.Host, moved.Host, 1),
		Responses: strings.Replace(e.Responses, t.Host, moved.Host, 1),
		Gemini:    strings.Replace(e.Gemini, t.Host, moved.Host, 1),
		Chat:      strings.Replace(e.Chat, t.Host, moved.Host, 1)}
	return moved
}

func planWritesNothing(t *testing.T, s Suite) {
	h := newHarness(t, s, s.UserFiles, true)
	before := h.snapshot()
	h.plan(h.tgt)
	if _, err := h.c.PlanRemove(h.env, h.tgt); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.Status(h.env, h.tgt); err != nil {
		t.Fatal(err)
	}
	if after := h.snapshot(); !reflect.DeepEqual(before, after) {
		t.Error("Plan, PlanRemove or Status wrote to HOME")
	}
}

func rotation(t *testing.T, s Suite) {
	h := newHarness(t, s, s.UserFiles, true)
	if h.tgt.Proxied {
		t.Skip("through coda's proxy the tool holds the local key, which no rotation changes")
	}
	h.apply(h.plan(h.tgt))
	next := h.tgt
	next.Token = "dapi" + strings.Repeat("7", 28) + time.Now().Format("0405")
	p := h.plan(next)
	switch h.c.Info().Delivery {
	case configurator.DeliveryLiteral:
		if p.Empty() {
			t.Fatal("a literal-delivery plugin planned nothing for a new token")
		}
		h.apply(p)
		all := strings.Join(mapValues(h.snapshot()), "\n")
		if !strings.Contains(all, next.Token) && !stateHolds(t, h.env.StateDir, next.Token) {
			t.Error("the new token reached no file")
		}
		if h.tgt.Token != "" && strings.Contains(all, h.tgt.Token) {
			t.Error("the old token is still in a file the tool reads")
		}
	default:
		if !p.Empty() {
			t.Errorf("a %s plugin changes files when only the token changes:\n%s", h.c.Info().Delivery, configurator.Diff(p, next.Token))
		}
		for rel, content := range h.snapshot() {
			if h.tgt.Token != "" && strings.Contains(content, h.tgt.Token) {
				t.Errorf("%s holds a literal token, but the plugin delivers by %s", rel, h.c.Info().Delivery)
			}
		}
	}
}

// sinks checks what rotations rely on: a literal-delivery plugin declares
// where the tool reads the token (without reading any file), each sink
// holds the applied token, writing a new token into the sinks alone leaves
// the plugin configured with no file but the sinks changed, and a
// malformed file elsewhere cannot stop it. Other plugins declare none.
func sinks(t *testing.T, s Suite) {
	h := newHarness(t, s, s.UserFiles, true)
	d, ok := h.c.(configurator.SinkDeclarer)
	if h.c.Info().Delivery != configurator.DeliveryLiteral {
		if ok {
			t.Errorf("a %s plugin declares sinks", h.c.Info().Delivery)
		}
		return
	}
	if !ok {
		t.Fatal("a literal-delivery plugin must implement configurator.SinkDeclarer")
	}
	before := h.snapshot()
	specs, err := d.Sinks(h.env, h.tgt)
	if err != nil || len(specs) == 0 {
		t.Fatalf("Sinks = %v, %v", specs, err)
	}
	if !maps.Equal(before, h.snapshot()) {
		t.Error("Sinks wrote to HOME")
	}
	h.apply(h.plan(h.tgt))
	w := sink.Writer{}
	for _, sp := range specs {
		if err := sp.Check(); err != nil || sp.Plugin != h.c.Info().Name {
			t.Errorf("sink %+v: %v (plugin must be %q)", sp, err, h.c.Info().Name)
		}
		if got, err := w.Get(sp); err != nil || got != h.tgt.Token {
			t.Errorf("%s does not hold the applied token (err %v)", sp, err)
		}
	}
	// A rotation writes the sinks alone: the plugin must still find the
	// tool configured for the new token, and plan over it without error.
	rotated := h.tgt
	rotated.Token = "dapi" + strings.Repeat("9", 28) + time.Now().Format("0405")
	for _, sp := range specs {
		if err := w.Put(sp, rotated.Token); err != nil {
			t.Fatalf("Put %s: %v", sp, err)
		}
	}
	if st := h.status(rotated); st != configurator.StateConfigured {
		t.Errorf("after a rotation through the sinks: status %s, want configured", st)
	}
	if p, err := h.c.Plan(h.env, rotated); err != nil {
		t.Errorf("after a rotation through the sinks: Plan: %v", err)
	} else {
		for _, c := range p.Changes {
			if c.Changed() && !strings.HasPrefix(c.Path, h.env.StateDir+string(filepath.Separator)) {
				t.Errorf("after a rotation through the sinks, setup would change %s", c.Path)
			}
		}
	}
	// Break every other managed file the way a user's edit might.
	applied := h.snapshot()
	for rel := range applied {
		if !slices.ContainsFunc(specs, func(sp sink.Spec) bool { return sp.Path == filepath.Join(h.env.Home, rel) }) {
			if err := os.WriteFile(filepath.Join(h.env.Home, rel), []byte("{ not parseable ["), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	broken := h.snapshot()
	next := "dapi" + strings.Repeat("8", 28) + time.Now().Format("0405")
	for _, sp := range specs {
		if err := w.Put(sp, next); err != nil {
			t.Fatalf("Put %s: %v", sp, err)
		}
		if got, _ := w.Get(sp); got != next {
			t.Errorf("%s holds %q after Put", sp, redactTail(got))
		}
	}
	for rel, content := range h.snapshot() {
		if content != broken[rel] && !slices.ContainsFunc(specs, func(sp sink.Spec) bool { return sp.Path == filepath.Join(h.env.Home, rel) }) {
			t.Errorf("writing the sinks changed %s, which is not a sink", rel)
		}
	}
}

func redactTail(s string) string {
	if len(s) > 4 {
		return "…" + s[len(s)-4:]
	}
	return s
}

// stateHolds reports whether a file in coda's state dir holds the token
// (plugins may keep the token there for the tool to read).
func stateHolds(t *testing.T, dir, token string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, []byte(token)) {
			found = true
			if info, _ := os.Stat(path); info != nil && info.Mode().Perm() != configurator.SecretPerm {
				t.Errorf("%s holds the token with mode %o", path, info.Mode().Perm())
			}
		}
		return nil
	})
	return found
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
