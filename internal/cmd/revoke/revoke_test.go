package revoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/rotation"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// ---- test harness (each command package keeps its own copy) ----

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const testUser = "alice@example.com"

type fakePrompter struct{ calls int }

func (p *fakePrompter) Login(string) (string, string, error) {
	p.calls++
	return "", "", errors.New("the test prompter must not be called")
}

// recordingConsumer records what it is told about tokens.
type recordingConsumer struct {
	mu      sync.Mutex
	rotated []string // "profile token-id"
	revoked []string // profiles
}

func (c *recordingConsumer) Name() string { return "recorder" }

func (c *recordingConsumer) TokenRotated(_ context.Context, profile string, p store.Profile) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotated = append(c.rotated, profile+" "+p.TokenID)
	return nil
}

func (c *recordingConsumer) TokenRevoked(_ context.Context, profile string, _ store.Profile) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revoked = append(c.revoked, profile)
	return nil
}

type testEnv struct {
	t        *testing.T
	srv      *fakeworkspace.Server
	clock    *clock.Fake
	dir      string
	env      map[string]string
	tty      bool
	stdin    string
	ctx      context.Context
	prompter *fakePrompter
	consumer *recordingConsumer
	pat      string // the user's PAT, issued at t0
	patID    string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	clk := clock.NewFake(t0)
	srv := fakeworkspace.New(fakeworkspace.Options{
		Clock:        clk,
		OnUnexpected: func(msg string) { t.Errorf("%s", msg) },
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddUser(testUser, "Alice Example")
	pat, patID := srv.IssuePAT(testUser, "laptop", 0)
	dir := t.TempDir()
	return &testEnv{
		t: t, srv: srv, clock: clk, dir: dir,
		env:      map[string]string{"CODA_CONFIG_DIR": dir},
		ctx:      context.Background(),
		prompter: &fakePrompter{},
		consumer: &recordingConsumer{},
		pat:      pat, patID: patID,
	}
}

type runResult struct {
	out, errOut string
	err         error
}

func (r runResult) code() int { return exit.CodeOf(r.err) }

// factory builds the Factory the way root.NewFactory does, over in-memory
// streams, the map environment, the fake clock and the real SDK client.
func (e *testEnv) factory() (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, in, out, errOut := cmdutil.TestStreams(e.tty)
	in.WriteString(e.stdin)
	f := &cmdutil.Factory{
		IO:          ios,
		Getenv:      func(k string) string { return e.env[k] },
		Clock:       e.clock,
		Clients:     workspace.NewSDKClient,
		Prompter:    func() cmdutil.Prompter { return e.prompter },
		Consumers:   func() []rotation.Consumer { return []rotation.Consumer{e.consumer} },
		ProfileFlag: "default",
		Output:      "text",
	}
	return f, out, errOut
}

// exec runs one command. "-o X" and "-p X" are taken out of args and set
// on the Factory, as the root command's persistent flags would.
func (e *testEnv) exec(newCmd func(*cmdutil.Factory) *cobra.Command, args ...string) runResult {
	e.t.Helper()
	f, out, errOut := e.factory()
	var rest []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-o":
			f.Output = args[i+1]
			i++
		case "-p":
			f.ProfileFlag, f.ProfileChanged = args[i+1], true
			i++
		default:
			rest = append(rest, args[i])
		}
	}
	cmd := newCmd(f)
	cmd.SetArgs(rest)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(e.ctx)
	return runResult{out: out.String(), errOut: errOut.String(), err: err}
}

// login runs the real `coda login --token-stdin` with the user's PAT.
func (e *testEnv) login(args ...string) *store.Profile {
	e.t.Helper()
	e.stdin = e.pat
	defer func() { e.stdin = "" }()
	res := e.exec(func(f *cmdutil.Factory) *cobra.Command { return login.NewCmdLogin(f, nil) },
		append([]string{"--host", e.srv.URL(), "--token-stdin"}, args...)...)
	if res.err != nil {
		e.t.Fatalf("login: %v\nstderr: %s", res.err, res.errOut)
	}
	profile := "default"
	for i, a := range args {
		if a == "-p" {
			profile = args[i+1]
		}
	}
	p := e.state().Profile(profile)
	if !p.HasToken() {
		e.t.Fatalf("login stored no token for %s", profile)
	}
	return p
}

func (e *testEnv) state() *store.State {
	e.t.Helper()
	st, err := store.NewFileStore(e.dir).Load()
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *testEnv) writeConfig(yaml string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, cmdutil.SettingsFile), []byte(yaml), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// assertNoSecrets fails if any token the fake ever minted shows up.
func (e *testEnv) assertNoSecrets(texts ...string) {
	e.t.Helper()
	for _, v := range e.srv.MintedValues() {
		for _, s := range texts {
			if strings.Contains(s, v) {
				e.t.Errorf("output contains a token value (%s…):\n%s", v[:8], s)
			}
		}
	}
}

func (e *testEnv) isLive(id string) bool {
	for _, ti := range e.srv.LiveTokens(testUser) {
		if ti.ID == id {
			return true
		}
	}
	return false
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, s)
	}
	if m["version"] != float64(1) {
		t.Errorf("version = %v, want 1", m["version"])
	}
	return m
}

func (e *testEnv) run(args ...string) runResult {
	e.t.Helper()
	return e.exec(func(f *cmdutil.Factory) *cobra.Command { return NewCmdRevoke(f, nil) }, args...)
}

// ---- flag parsing ----

func TestNewCmdRevokeFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		all     bool
		wantErr bool
	}{
		{name: "none"},
		{name: "all", args: []string{"--all"}, all: true},
		{name: "positional", args: []string{"default"}, wantErr: true},
		{name: "unknown flag", args: []string{"--force"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			var got *Options
			res := e.exec(func(f *cmdutil.Factory) *cobra.Command {
				return NewCmdRevoke(f, func(_ context.Context, o *Options) error {
					c := *o
					got = &c
					return nil
				})
			}, tt.args...)
			if tt.wantErr {
				if res.err == nil || got != nil {
					t.Fatalf("err = %v, runF called = %v; want an error and no call", res.err, got != nil)
				}
				return
			}
			if res.err != nil || got == nil || got.F == nil {
				t.Fatalf("err = %v, options = %+v", res.err, got)
			}
			if got.All != tt.all {
				t.Errorf("All = %v, want %v", got.All, tt.all)
			}
		})
	}
}

// ---- run ----

// rotate replaces the profile's token directly with the rotation engine,
// leaving the old one pending.
func (e *testEnv) rotate(profile string) {
	e.t.Helper()
	f, _, _ := e.factory()
	r, err := f.Rotator()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := r.Rotate(context.Background(), rotation.Options{Profile: profile, Lifetime: 15 * time.Minute, Grace: 2 * time.Minute}); err != nil {
		e.t.Fatal(err)
	}
}

func TestRevoke(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			e := newTestEnv(t)
			first := e.login()
			e.rotate("default")
			p := e.state().Profile("default")
			if len(p.Pending) != 1 || p.Pending[0].TokenID != first.TokenID {
				t.Fatalf("setup: pending = %+v", p.Pending)
			}
			e.consumer.revoked = nil

			res := e.run("-o", format)
			if res.err != nil {
				t.Fatalf("revoke: %v\nstderr: %s", res.err, res.errOut)
			}
			if e.isLive(first.TokenID) || e.isLive(p.TokenID) {
				t.Error("the current or the pending token is still live")
			}
			if !e.isLive(e.patID) {
				t.Error("revoke deleted the user's own PAT")
			}
			if e.state().Profile("default") != nil {
				t.Error("the profile was not cleared")
			}
			if got := e.consumer.revoked; len(got) != 1 || got[0] != "default" {
				t.Errorf("TokenRevoked calls = %q, want [default]", got)
			}
			// The current token authenticates the deletes and goes last.
			var deletes []fakeworkspace.Request
			for _, r := range e.srv.Requests() {
				if r.Path == fakeworkspace.PathTokenDelete {
					deletes = append(deletes, r)
				}
			}
			if len(deletes) < 2 || deletes[len(deletes)-1].TokenID != p.TokenID {
				t.Errorf("deletes = %+v, want the current token's own delete last", deletes)
			}
			e.assertNoSecrets(res.out, res.errOut)
			if format == "text" {
				want := "Revoked profile default.\nDeleted " + redact.Suffix(first.TokenID) + ", " + redact.Suffix(p.TokenID) + ".\n"
				if res.out != want {
					t.Errorf("stdout = %q, want %q", res.out, want)
				}
				return
			}
			m := decodeJSON(t, res.out)
			deleted, _ := m["deleted"].([]any)
			if m["profile"] != "default" || m["cleared"] != true || len(deleted) != 2 ||
				deleted[0] != redact.Suffix(first.TokenID) || deleted[1] != redact.Suffix(p.TokenID) {
				t.Errorf("JSON = %v", m)
			}
			if nd, ok := m["not_deleted"].([]any); !ok || len(nd) != 0 {
				t.Errorf("not_deleted = %#v, want []", m["not_deleted"])
			}
		})
	}
}

func TestRevokeNotLoggedIn(t *testing.T) {
	e := newTestEnv(t)
	res := e.run()
	if res.err != nil || res.out != "Profile default is not logged in; nothing to revoke.\n" {
		t.Fatalf("err = %v, stdout = %q", res.err, res.out)
	}
	res = e.run("-o", "json", "-p", "other")
	if res.err != nil {
		t.Fatal(res.err)
	}
	if m := decodeJSON(t, res.out); m["profile"] != "other" || m["cleared"] != false {
		t.Errorf("JSON = %v", m)
	}
	if len(e.consumer.revoked) != 0 || len(e.srv.Requests()) != 0 {
		t.Errorf("consumers told %q, %d requests; want nothing", e.consumer.revoked, len(e.srv.Requests()))
	}
}

func TestRevokeExpiredClearsLocally(t *testing.T) {
	e := newTestEnv(t)
	p := e.login()
	e.consumer.revoked = nil
	e.clock.Advance(16 * time.Minute)
	e.srv.ResetRequests()
	res := e.run("-o", "json")
	if res.err == nil || res.code() != exit.Error {
		t.Fatalf("err = %v (exit %d), want exit 1", res.err, res.code())
	}
	if e.state().Profile("default") != nil {
		t.Error("the profile was not cleared")
	}
	if got := e.consumer.revoked; len(got) != 1 {
		t.Errorf("TokenRevoked calls = %q", got)
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("%d requests with an expired token", n)
	}
	m := decodeJSON(t, res.out)
	nd, _ := m["not_deleted"].([]any)
	if m["cleared"] != true || len(nd) != 1 || nd[0].(map[string]any)["token_id"] != redact.Suffix(p.TokenID) {
		t.Errorf("JSON = %v", m)
	}
}

func TestRevokeWorkspaceDown(t *testing.T) {
	e := newTestEnv(t)
	p := e.login()
	e.srv.AddFault("POST", fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Status: 503})
	res := e.run()
	if res.err == nil || res.code() != exit.Error {
		t.Fatalf("err = %v (exit %d), want exit 1", res.err, res.code())
	}
	if e.state().Profile("default") != nil {
		t.Error("the profile was not cleared although the local part must always happen")
	}
	if !strings.Contains(res.errOut, "Could not delete "+redact.Suffix(p.TokenID)) {
		t.Errorf("stderr = %q", res.errOut)
	}
	if !e.isLive(p.TokenID) {
		t.Error("setup: the fault did not stop the delete")
	}
}

func TestRevokeAll(t *testing.T) {
	e := newTestEnv(t)
	e.login("-p", "work")
	e.login("-p", "staging")
	st := e.state()
	work, staging := st.Profile("work"), st.Profile("staging")
	// An orphan of profile work (a create whose answer was lost), one of
	// another installation, and a user token.
	_, orphan := e.srv.IssuePAT(testUser, rotation.Tag{InstallationID: st.InstallationID, Profile: "work"}.Comment(), time.Hour)
	_, foreign := e.srv.IssuePAT(testUser, rotation.Tag{InstallationID: "ffffffffffffffff", Profile: "work"}.Comment(), time.Hour)
	_, userTok := e.srv.IssuePAT(testUser, "ci", 0)

	res := e.run("-p", "work", "--all", "-o", "json")
	if res.err != nil {
		t.Fatalf("revoke --all: %v\nstderr: %s", res.err, res.errOut)
	}
	for id, wantLive := range map[string]bool{
		work.TokenID: false, orphan: false,
		staging.TokenID: true, foreign: true, userTok: true, e.patID: true,
	} {
		if e.isLive(id) != wantLive {
			t.Errorf("token %s live = %v, want %v", redact.Suffix(id), !wantLive, wantLive)
		}
	}
	if got := e.state().ProfileNames(); len(got) != 1 || got[0] != "staging" {
		t.Errorf("profiles = %q, want [staging]", got)
	}
	m := decodeJSON(t, res.out)
	if d, _ := m["deleted"].([]any); len(d) != 2 {
		t.Errorf("deleted = %v", m["deleted"])
	}
	e.assertNoSecrets(res.out, res.errOut)
}

func TestRevokeAllListFails(t *testing.T) {
	e := newTestEnv(t)
	p := e.login()
	e.srv.AddFault("GET", fakeworkspace.PathTokenList, fakeworkspace.Fault{Status: 503})
	res := e.run("--all")
	if res.err == nil || res.code() != exit.Error {
		t.Fatalf("err = %v (exit %d), want exit 1", res.err, res.code())
	}
	if e.isLive(p.TokenID) {
		t.Error("the current token was not deleted although only the listing failed")
	}
	if e.state().Profile("default") != nil {
		t.Error("the profile was not cleared")
	}
	if !strings.Contains(res.errOut, "could not list tokens for --all") {
		t.Errorf("stderr = %q", res.errOut)
	}
}
