package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	return e.exec(func(f *cmdutil.Factory) *cobra.Command { return NewCmdStatus(f, nil) }, args...)
}

// ---- flag parsing ----

func TestNewCmdStatusFlags(t *testing.T) {
	tests := []struct {
		args       []string
		check, all bool
		wantErr    bool
	}{
		{args: nil},
		{args: []string{"--check"}, check: true},
		{args: []string{"--all"}, all: true},
		{args: []string{"--check", "--all"}, check: true, all: true},
		{args: []string{"default"}, wantErr: true},
		{args: []string{"--verbose"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			e := newTestEnv(t)
			var got *Options
			res := e.exec(func(f *cmdutil.Factory) *cobra.Command {
				return NewCmdStatus(f, func(_ context.Context, o *Options) error {
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
			if got.Check != tt.check || got.All != tt.all {
				t.Errorf("Check, All = %v, %v; want %v, %v", got.Check, got.All, tt.check, tt.all)
			}
		})
	}
}

// ---- run ----

func TestStatusText(t *testing.T) {
	e := newTestEnv(t)
	p := e.login()
	e.clock.Advance(5 * time.Minute)
	e.srv.ResetRequests()
	res := e.run()
	if res.err != nil {
		t.Fatalf("status: %v\nstdout: %s", res.err, res.out)
	}
	for _, want := range []string{
		"Profile:       default\n",
		"Host:          " + e.srv.URL() + "\n",
		"User:          " + testUser + "\n",
		"Token:         " + redact.Suffix(p.TokenID) + " valid\n",
		"Expires in:    10m0s (" + t0.Add(15*time.Minute).Format(time.RFC3339) + ")\n",
		"Last rotation: never\n",
		"Pending:       none\n",
		"Watcher:       not running",
	} {
		if !strings.Contains(res.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.out)
		}
	}
	e.assertNoSecrets(res.out, res.errOut)
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("offline status made %d requests", n)
	}
}

func TestStatusJSON(t *testing.T) {
	e := newTestEnv(t)
	p := e.login()
	// A second login leaves the first token pending.
	e.clock.Advance(time.Minute)
	p2 := e.login()
	res := e.run("-o", "json")
	if res.err != nil {
		t.Fatalf("status: %v", res.err)
	}
	m := decodeJSON(t, res.out)
	profiles, _ := m["profiles"].([]any)
	if len(profiles) != 1 {
		t.Fatalf("profiles = %v", m["profiles"])
	}
	pj := profiles[0].(map[string]any)
	want := map[string]any{
		"name": "default", "logged_in": true, "valid": true, "host": e.srv.URL(), "user": testUser,
		"token_id": redact.Suffix(p2.TokenID), "expires_in_seconds": float64(15 * 60),
		"created_at": t0.Add(time.Minute).Format(time.RFC3339), "expires_at": t0.Add(16 * time.Minute).Format(time.RFC3339),
	}
	for k, v := range want {
		if pj[k] != v {
			t.Errorf("%s = %v, want %v", k, pj[k], v)
		}
	}
	pending, _ := pj["pending"].([]any)
	if len(pending) != 1 || pending[0].(map[string]any)["token_id"] != redact.Suffix(p.TokenID) {
		t.Errorf("pending = %v", pj["pending"])
	}
	if w, _ := pj["watcher"].(map[string]any); w["running"] != false {
		t.Errorf("watcher = %v", pj["watcher"])
	}
	if _, ok := pj["check"]; ok {
		t.Error("check present without --check")
	}
	e.assertNoSecrets(res.out, res.errOut)
	for _, id := range []string{p.TokenID, p2.TokenID} {
		if strings.Contains(res.out, id) {
			t.Errorf("JSON holds a full token id")
		}
	}
}

func TestStatusExpired(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			e := newTestEnv(t)
			e.login()
			e.clock.Advance(16 * time.Minute)
			res := e.run("-o", format)
			if res.code() != exit.Auth {
				t.Fatalf("err = %v (exit %d), want exit 4", res.err, res.code())
			}
			var silent *exit.SilentError
			if !errors.As(res.err, &silent) {
				t.Errorf("err = %T, want a SilentError (the output already says why)", res.err)
			}
			if format == "text" {
				if !strings.Contains(res.out, "expired (run coda login)") || !strings.Contains(res.out, "Expired:       "+t0.Add(15*time.Minute).Format(time.RFC3339)) {
					t.Errorf("stdout = %s", res.out)
				}
				return
			}
			pj := decodeJSON(t, res.out)["profiles"].([]any)[0].(map[string]any)
			if pj["valid"] != false || pj["logged_in"] != true || pj["expires_in_seconds"] != float64(0) {
				t.Errorf("profile = %v", pj)
			}
		})
	}
}

func TestStatusNotLoggedIn(t *testing.T) {
	e := newTestEnv(t)
	res := e.run("-p", "staging")
	if res.code() != exit.Auth || !strings.Contains(res.out, "Profile:       staging\nToken:         none (run coda login)\n") {
		t.Fatalf("err = %v (exit %d), stdout %q", res.err, res.code(), res.out)
	}
	res = e.run("--all")
	if res.code() != exit.Auth || !strings.Contains(res.errOut, "No profiles: run coda login.") {
		t.Fatalf("--all: err = %v (exit %d), stderr %q", res.err, res.code(), res.errOut)
	}
	res = e.run("--all", "-o", "json")
	if res.code() != exit.Auth {
		t.Fatalf("--all -o json: exit %d", res.code())
	}
	if ps, ok := decodeJSON(t, res.out)["profiles"].([]any); !ok || len(ps) != 0 {
		t.Errorf("profiles = %v, want []", ps)
	}
}

func TestStatusAll(t *testing.T) {
	e := newTestEnv(t)
	e.login("-p", "work")
	e.login("-p", "staging")
	res := e.run("--all", "-o", "json")
	if res.err != nil {
		t.Fatalf("status --all: %v", res.err)
	}
	var names []string
	for _, p := range decodeJSON(t, res.out)["profiles"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "staging,work" {
		t.Errorf("profiles = %q, want staging,work", names)
	}
	// One expired profile makes --all exit 4.
	err := store.NewFileStore(e.dir).Update(context.Background(), func(s *store.State) error {
		s.Profiles["work"].ExpiresAt = t0.Add(-time.Second)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := e.run("--all"); res.code() != exit.Auth {
		t.Errorf("exit %d with one expired profile, want 4", res.code())
	}
	if res := e.run("-p", "staging"); res.err != nil {
		t.Errorf("status -p staging: %v", res.err)
	}
}

func TestStatusWatcher(t *testing.T) {
	e := newTestEnv(t)
	e.login()
	release, err := store.NewFileStore(e.dir).AcquireWatcher("default")
	if err != nil {
		t.Fatal(err)
	}
	res := e.run()
	if res.err != nil {
		t.Fatalf("status: %v", res.err)
	}
	if want := fmt.Sprintf("Watcher:       running (PID %d)\n", os.Getpid()); !strings.Contains(res.out, want) {
		t.Errorf("stdout lacks %q:\n%s", want, res.out)
	}
	res = e.run("-o", "json")
	w := decodeJSON(t, res.out)["profiles"].([]any)[0].(map[string]any)["watcher"].(map[string]any)
	if w["running"] != true || w["pid"] != float64(os.Getpid()) {
		t.Errorf("watcher = %v", w)
	}
	release()
	if res := e.run(); !strings.Contains(res.out, "Watcher:       not running") {
		t.Errorf("after release:\n%s", res.out)
	}
}

func TestStatusCheck(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.login()
		e.srv.ResetRequests()
		res := e.run("--check", "-o", "json")
		if res.err != nil {
			t.Fatalf("status --check: %v", res.err)
		}
		c := decodeJSON(t, res.out)["profiles"].([]any)[0].(map[string]any)["check"].(map[string]any)
		if c["valid"] != true || c["user"] != testUser {
			t.Errorf("check = %v", c)
		}
		reqs := e.srv.Requests()
		if len(reqs) != 1 || reqs[0].Path != fakeworkspace.PathMe || reqs[0].TokenID != p.TokenID {
			t.Errorf("requests = %+v, want one Me with coda's token", reqs)
		}
		if res := e.run("--check"); !strings.Contains(res.out, "valid (checked online)") {
			t.Errorf("text:\n%s", res.out)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.login()
		e.srv.RevokeToken(p.TokenID)
		res := e.run("--check")
		if res.code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.err, res.code())
		}
		if !strings.Contains(res.out, "rejected by the workspace (run coda login)") {
			t.Errorf("stdout:\n%s", res.out)
		}
		if strings.Contains(res.out, "403 403") {
			t.Errorf("stdout repeats the status code:\n%s", res.out)
		}
	})
	t.Run("unreachable is not invalid", func(t *testing.T) {
		e := newTestEnv(t)
		e.login()
		e.srv.AddFault("GET", fakeworkspace.PathMe, fakeworkspace.Fault{Times: 1, Status: 503})
		res := e.run("--check", "-o", "json")
		if res.err != nil {
			t.Fatalf("status --check during an outage: %v", res.err)
		}
		pj := decodeJSON(t, res.out)["profiles"].([]any)[0].(map[string]any)
		c := pj["check"].(map[string]any)
		if pj["valid"] != true || c["valid"] != true || !strings.Contains(c["error"].(string), "503") {
			t.Errorf("profile = %v", pj)
		}
	})
	t.Run("expired is not checked online", func(t *testing.T) {
		e := newTestEnv(t)
		e.login()
		e.clock.Advance(time.Hour)
		e.srv.ResetRequests()
		if res := e.run("--check"); res.code() != exit.Auth {
			t.Fatalf("exit %d, want 4", res.code())
		}
		if n := len(e.srv.Requests()); n != 0 {
			t.Errorf("%d requests with an expired token", n)
		}
	})
}
