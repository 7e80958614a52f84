package token

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
	return e.exec(func(f *cmdutil.Factory) *cobra.Command { return NewCmdToken(f, nil) }, args...)
}

// ---- flag parsing ----

func TestNewCmdTokenFlags(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		env          map[string]string
		config       string
		wantMinTTL   time.Duration
		wantLifetime time.Duration
		wantCode     int // 0: runF called
	}{
		{name: "defaults", wantMinTTL: 5 * time.Minute, wantLifetime: 15 * time.Minute},
		{name: "min-ttl", args: []string{"--min-ttl", "3m"}, wantMinTTL: 3 * time.Minute, wantLifetime: 15 * time.Minute},
		{name: "min-ttl 0s never rotates early", args: []string{"--min-ttl", "0s"}, wantMinTTL: 0, wantLifetime: 15 * time.Minute},
		{name: "lifetime", args: []string{"--lifetime", "30m", "--min-ttl", "20m"}, wantMinTTL: 20 * time.Minute, wantLifetime: 30 * time.Minute},
		{name: "CODA_MIN_TTL feeds default", env: map[string]string{"CODA_MIN_TTL": "2m"}, wantMinTTL: 2 * time.Minute, wantLifetime: 15 * time.Minute},
		{name: "config.yaml feeds default", config: "min-ttl: 4m\nlifetime: 20m\n", wantMinTTL: 4 * time.Minute, wantLifetime: 20 * time.Minute},
		{name: "flag beats env", args: []string{"--min-ttl", "1m"}, env: map[string]string{"CODA_MIN_TTL": "2m"}, wantMinTTL: time.Minute, wantLifetime: 15 * time.Minute},
		{name: "flag beats config.yaml", args: []string{"--min-ttl", "1m"}, config: "min-ttl: 4m\n", wantMinTTL: time.Minute, wantLifetime: 15 * time.Minute},
		{name: "min-ttl equal to lifetime", args: []string{"--min-ttl", "15m"}, wantCode: exit.Usage},
		{name: "negative min-ttl", args: []string{"--min-ttl", "-1s"}, wantCode: exit.Usage},
		{name: "env lifetime below default min-ttl", env: map[string]string{"CODA_LIFETIME": "4m"}, wantCode: exit.Usage},
		{name: "lifetime below 1m", args: []string{"--lifetime", "30s", "--min-ttl", "0s"}, wantCode: exit.Usage},
		{name: "CODA_MIN_TTL not a duration", env: map[string]string{"CODA_MIN_TTL": "5"}, wantCode: exit.Usage},
		{name: "positional argument", args: []string{"x"}, wantCode: exit.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			for k, v := range tt.env {
				e.env[k] = v
			}
			if tt.config != "" {
				e.writeConfig(tt.config)
			}
			var got *Options
			res := e.exec(func(f *cmdutil.Factory) *cobra.Command {
				return NewCmdToken(f, func(_ context.Context, o *Options) error {
					c := *o
					got = &c
					return nil
				})
			}, tt.args...)
			if tt.wantCode != 0 {
				if res.err == nil || res.code() != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want exit %d", res.err, res.code(), tt.wantCode)
				}
				if got != nil {
					t.Error("runF was called")
				}
				return
			}
			if res.err != nil {
				t.Fatalf("err = %v", res.err)
			}
			if got == nil || got.F == nil {
				t.Fatal("runF not called with a Factory")
			}
			if got.MinTTL != tt.wantMinTTL || got.Lifetime != tt.wantLifetime {
				t.Errorf("MinTTL, Lifetime = %s, %s; want %s, %s", got.MinTTL, got.Lifetime, tt.wantMinTTL, tt.wantLifetime)
			}
		})
	}
}

// ---- run ----

func TestTokenFresh(t *testing.T) {
	e := newTestEnv(t)
	e.login("-p", "work")
	e.clock.Advance(9 * time.Minute) // 6m left, more than the 5m default
	e.srv.ResetRequests()
	res := e.run("-p", "work")
	if res.err != nil {
		t.Fatalf("token: %v\nstderr: %s", res.err, res.errOut)
	}
	p := e.state().Profile("work")
	if res.out != p.Token+"\n" {
		t.Errorf("stdout = %q, want the stored token and a newline", res.out)
	}
	if res.errOut != "" {
		t.Errorf("stderr = %q", res.errOut)
	}
	if reqs := e.srv.Requests(); len(reqs) != 0 {
		t.Errorf("a fresh token cost %d requests: %+v", len(reqs), reqs)
	}
}

func TestTokenRotatesBelowMinTTL(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		advance time.Duration
		rotate  bool
	}{
		{name: "default min-ttl, 4m left", advance: 11 * time.Minute, rotate: true},
		{name: "min-ttl 8m, 7m left", args: []string{"--min-ttl", "8m"}, advance: 8 * time.Minute, rotate: true},
		{name: "min-ttl 1m, 4m left", args: []string{"--min-ttl", "1m"}, advance: 11 * time.Minute},
		{name: "CODA_MIN_TTL 10m, 7m left", args: []string{"env"}, advance: 8 * time.Minute, rotate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			old := e.login()
			e.clock.Advance(tt.advance)
			e.srv.ResetRequests()
			args := tt.args
			if len(args) == 1 && args[0] == "env" {
				e.env["CODA_MIN_TTL"] = "10m"
				args = nil
			}
			res := e.run(args...)
			if res.err != nil {
				t.Fatalf("token: %v\nstderr: %s", res.err, res.errOut)
			}
			p := e.state().Profile("default")
			if res.out != p.Token+"\n" {
				t.Errorf("stdout is not the stored token")
			}
			if rotated := p.TokenID != old.TokenID; rotated != tt.rotate {
				t.Fatalf("rotated = %v, want %v", rotated, tt.rotate)
			}
			if !tt.rotate {
				if n := len(e.srv.Requests()); n != 0 {
					t.Errorf("%d requests without a rotation", n)
				}
				return
			}
			if !p.ExpiresAt.Equal(t0.Add(tt.advance + 15*time.Minute)) {
				t.Errorf("new token expires at %s", p.ExpiresAt)
			}
			if len(p.Pending) != 1 || p.Pending[0].TokenID != old.TokenID {
				t.Errorf("pending = %+v, want the old token", p.Pending)
			}
			if !e.isLive(old.TokenID) {
				t.Error("the old token was deleted at once; helpers that fetched it still use it")
			}
			if res.errOut != "" {
				t.Errorf("stderr = %q", res.errOut)
			}
		})
	}
}

func TestTokenRotationFailsButTokenLives(t *testing.T) {
	e := newTestEnv(t)
	old := e.login()
	e.clock.Advance(12 * time.Minute)
	e.srv.AddFault("POST", fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 1, Status: 503})
	res := e.run()
	if res.err != nil {
		t.Fatalf("token: %v", res.err)
	}
	if res.out != old.Token+"\n" {
		t.Error("stdout is not the still-live old token")
	}
	if !strings.Contains(res.errOut, "warning: could not rotate") || !strings.Contains(res.errOut, "3m0s") {
		t.Errorf("stderr = %q", res.errOut)
	}
	e.assertNoSecrets(res.errOut)
}

func TestTokenLoginRequired(t *testing.T) {
	t.Run("not logged in", func(t *testing.T) {
		e := newTestEnv(t)
		res := e.run()
		if res.code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.err, res.code())
		}
		if res.out != "" {
			t.Errorf("stdout = %q", res.out)
		}
		if !strings.Contains(res.err.Error(), "coda login") {
			t.Errorf("error = %v", res.err)
		}
		if n := len(e.srv.Requests()); n != 0 {
			t.Errorf("%d requests", n)
		}
	})
	t.Run("other profile", func(t *testing.T) {
		e := newTestEnv(t)
		e.login()
		res := e.run("-p", "staging")
		if res.code() != exit.Auth || !strings.Contains(res.err.Error(), "coda login -p staging") {
			t.Fatalf("err = %v (exit %d), want exit 4 naming -p staging", res.err, res.code())
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := newTestEnv(t)
		e.login()
		e.clock.Advance(15 * time.Minute)
		res := e.run()
		if res.code() != exit.Auth || res.out != "" {
			t.Fatalf("err = %v (exit %d), stdout %q; want exit 4 and nothing printed", res.err, res.code(), res.out)
		}
	})
	t.Run("rejected while rotating", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.login()
		e.srv.RevokeToken(p.TokenID)
		e.clock.Advance(12 * time.Minute)
		res := e.run()
		if res.code() != exit.Auth || res.out != "" {
			t.Fatalf("err = %v (exit %d), stdout %q; want exit 4 and nothing printed", res.err, res.code(), res.out)
		}
	})
}
