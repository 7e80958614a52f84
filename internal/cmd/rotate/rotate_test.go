package rotate

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
	return e.exec(func(f *cmdutil.Factory) *cobra.Command { return NewCmdRotate(f, nil) }, args...)
}

// ---- flag parsing ----

func TestNewCmdRotateFlags(t *testing.T) {
	type want struct {
		Lifetime, Grace, Interval time.Duration
		Watch, PauseWhenIdle      bool
	}
	def := want{Lifetime: 15 * time.Minute, Grace: 2 * time.Minute, Interval: 10 * time.Minute}
	with := func(edit func(*want)) want { w := def; edit(&w); return w }
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		config   string
		want     want
		wantCode int // 0: runF called with want
		wantMsg  string
	}{
		{name: "defaults", want: def},
		{name: "watch", args: []string{"--watch"}, want: with(func(w *want) { w.Watch = true })},
		{name: "all flags", args: []string{"--watch", "--interval", "5m", "--grace", "1m", "--lifetime", "20m", "--pause-when-idle"},
			want: want{Lifetime: 20 * time.Minute, Grace: time.Minute, Interval: 5 * time.Minute, Watch: true, PauseWhenIdle: true}},
		{name: "grace 0s", args: []string{"--grace", "0s"}, want: with(func(w *want) { w.Grace = 0 })},
		{name: "interval is not checked without --watch", args: []string{"--interval", "1h"}, want: with(func(w *want) { w.Interval = time.Hour })},
		{name: "env feeds defaults", env: map[string]string{"CODA_LIFETIME": "30m", "CODA_GRACE": "1m", "CODA_INTERVAL": "20m"},
			want: want{Lifetime: 30 * time.Minute, Grace: time.Minute, Interval: 20 * time.Minute}},
		{name: "config.yaml feeds defaults", config: "lifetime: 30m\ngrace: 90s\ninterval: 25m\n",
			want: want{Lifetime: 30 * time.Minute, Grace: 90 * time.Second, Interval: 25 * time.Minute}},
		{name: "env beats config.yaml", env: map[string]string{"CODA_GRACE": "1m"}, config: "grace: 90s\n",
			want: with(func(w *want) { w.Grace = time.Minute })},
		{name: "flags beat env and config.yaml", args: []string{"--grace", "30s", "--lifetime", "16m"},
			env: map[string]string{"CODA_GRACE": "1m"}, config: "lifetime: 30m\n",
			want: with(func(w *want) { w.Grace, w.Lifetime = 30*time.Second, 16*time.Minute })},

		{name: "lifetime below 1m", args: []string{"--lifetime", "59s"}, wantCode: exit.Usage, wantMsg: "--lifetime"},
		{name: "negative grace", args: []string{"--grace", "-1s"}, wantCode: exit.Usage, wantMsg: "--grace"},
		{name: "grace not shorter than lifetime", args: []string{"--grace", "15m"}, wantCode: exit.Usage, wantMsg: "--grace"},
		{name: "watch: interval not shorter than lifetime", args: []string{"--watch", "--interval", "15m"}, wantCode: exit.Usage, wantMsg: "--interval"},
		{name: "watch: interval below 1s", args: []string{"--watch", "--interval", "500ms"}, wantCode: exit.Usage, wantMsg: "--interval"},
		{name: "watch: grace not shorter than lifetime minus interval", args: []string{"--watch", "--grace", "5m"}, wantCode: exit.Usage, wantMsg: "--grace"},
		{name: "watch: env lifetime shorter than default interval", args: []string{"--watch"},
			env: map[string]string{"CODA_LIFETIME": "5m"}, wantCode: exit.Usage, wantMsg: "--interval"},
		{name: "watch: config interval too long", args: []string{"--watch"}, config: "interval: 20m\n", wantCode: exit.Usage, wantMsg: "--interval"},
		{name: "env not a duration", env: map[string]string{"CODA_GRACE": "a while"}, wantCode: exit.Usage, wantMsg: "grace"},
		{name: "positional argument", args: []string{"now"}, wantCode: exit.Error},
		{name: "bad duration flag", args: []string{"--grace", "soon"}, wantCode: exit.Error},
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
				return NewCmdRotate(f, func(_ context.Context, o *Options) error {
					c := *o
					got = &c
					return nil
				})
			}, tt.args...)
			if tt.wantCode != 0 {
				if res.err == nil || res.code() != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want exit %d", res.err, res.code(), tt.wantCode)
				}
				if !strings.Contains(res.err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not mention %q", res.err, tt.wantMsg)
				}
				if got != nil {
					t.Error("runF was called")
				}
				return
			}
			if res.err != nil {
				t.Fatalf("err = %v", res.err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if got.F == nil || got.AgentsRunning == nil {
				t.Error("Options.F or Options.AgentsRunning is nil")
			}
			g := want{Lifetime: got.Lifetime, Grace: got.Grace, Interval: got.Interval, Watch: got.Watch, PauseWhenIdle: got.PauseWhenIdle}
			if g != tt.want {
				t.Errorf("Options = %+v, want %+v", g, tt.want)
			}
			if len(e.srv.Requests()) != 0 {
				t.Errorf("flag parsing made requests: %+v", e.srv.Requests())
			}
		})
	}
}

// ---- one-shot rotation ----

func TestRotateOnce(t *testing.T) {
	e := newTestEnv(t)
	old := e.login()
	e.clock.Advance(time.Minute)

	res := e.run()
	if res.err != nil {
		t.Fatalf("rotate: %v\nstderr: %s", res.err, res.errOut)
	}
	p := e.state().Profile("default")
	if p.TokenID == old.TokenID || p.Token == old.Token {
		t.Fatal("the stored token did not change")
	}
	if !p.ExpiresAt.Equal(t0.Add(16*time.Minute)) || !p.LastRotation.Equal(t0.Add(time.Minute)) {
		t.Errorf("ExpiresAt = %s, LastRotation = %s", p.ExpiresAt, p.LastRotation)
	}
	if len(p.Pending) != 1 || p.Pending[0].TokenID != old.TokenID || !p.Pending[0].DeleteAfter.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("pending = %+v, want the old token after the 2m grace", p.Pending)
	}
	if !e.isLive(old.TokenID) {
		t.Error("the old token was deleted before its grace ended")
	}
	wantOut := "Rotated profile default: token " + redact.Suffix(p.TokenID) + " expires at " + t0.Add(16*time.Minute).Format(time.RFC3339) + ".\n" +
		"Pending deletion: " + redact.Suffix(old.TokenID) + " after " + t0.Add(3*time.Minute).Format(time.RFC3339) + ".\n"
	if res.out != wantOut {
		t.Errorf("stdout = %q\nwant     %q", res.out, wantOut)
	}
	e.assertNoSecrets(res.out, res.errOut)
	// Consumers were told about the login's token, then the rotation's.
	if got := e.consumer.rotated; len(got) != 2 || got[1] != "default "+p.TokenID {
		t.Errorf("consumer saw %q", got)
	}

	// After the grace the next rotation deletes it.
	e.clock.Advance(3 * time.Minute)
	res = e.run()
	if res.err != nil {
		t.Fatalf("second rotate: %v", res.err)
	}
	if e.isLive(old.TokenID) {
		t.Error("the old token survived its grace")
	}
	if !strings.Contains(res.out, "Deleted old token "+redact.Suffix(old.TokenID)+".") {
		t.Errorf("stdout = %q", res.out)
	}
}

func TestRotateJSON(t *testing.T) {
	e := newTestEnv(t)
	old := e.login()
	res := e.run("-o", "json", "--grace", "0s", "--lifetime", "30m")
	if res.err != nil {
		t.Fatalf("rotate: %v\nstderr: %s", res.err, res.errOut)
	}
	m := decodeJSON(t, res.out)
	p := e.state().Profile("default")
	if m["profile"] != "default" || m["token_id"] != redact.Suffix(p.TokenID) || m["expires_at"] != t0.Add(30*time.Minute).Format(time.RFC3339) {
		t.Errorf("JSON = %v", m)
	}
	if d, _ := m["deleted"].([]any); len(d) != 1 || d[0] != redact.Suffix(old.TokenID) {
		t.Errorf("deleted = %v, want [%s]", m["deleted"], redact.Suffix(old.TokenID))
	}
	for _, k := range []string{"orphans_deleted", "pending", "warnings"} {
		if v, ok := m[k].([]any); !ok || len(v) != 0 {
			t.Errorf("%s = %#v, want []", k, m[k])
		}
	}
	if e.isLive(old.TokenID) {
		t.Error("--grace 0s left the old token live")
	}
	e.assertNoSecrets(res.out, res.errOut)
}

func TestRotateErrors(t *testing.T) {
	t.Run("not logged in", func(t *testing.T) {
		e := newTestEnv(t)
		res := e.run()
		if res.code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.err, res.code())
		}
		if len(e.srv.Requests()) != 0 {
			t.Errorf("requests: %+v", e.srv.Requests())
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := newTestEnv(t)
		e.login()
		e.clock.Advance(16 * time.Minute)
		e.srv.ResetRequests()
		res := e.run()
		if res.code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.err, res.code())
		}
		if len(e.srv.Requests()) != 0 {
			t.Errorf("requests with an expired token: %+v", e.srv.Requests())
		}
	})
	t.Run("revoked in the workspace", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.login()
		e.srv.RevokeToken(p.TokenID)
		res := e.run("-o", "json")
		if res.code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.err, res.code())
		}
		if res.out != "" {
			t.Errorf("stdout = %q, want nothing on failure", res.out)
		}
		if got := e.state().Profile("default"); got.TokenID != p.TokenID {
			t.Error("a failed rotation replaced the stored token")
		}
	})
	t.Run("workspace unavailable", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.login()
		e.srv.AddFault("POST", fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 1, Status: 503})
		e.srv.ResetRequests()
		res := e.run()
		if res.err == nil || res.code() != exit.Error {
			t.Fatalf("err = %v (exit %d), want exit 1", res.err, res.code())
		}
		if n := len(e.srv.Requests()); n != 1 {
			t.Errorf("%d requests, want 1 (no SDK retry): %+v", n, e.srv.Requests())
		}
		if got := e.state().Profile("default"); got.TokenID != p.TokenID {
			t.Error("a failed rotation replaced the stored token")
		}
	})
}

// ---- watch ----

// stopAt cancels the command's context once the fake clock reaches at.
func (e *testEnv) stopAt(at time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	e.ctx = ctx
	e.clock.OnSleep = func(time.Duration) {
		if !e.clock.Now().Before(at) {
			cancel()
		}
	}
}

func (e *testEnv) watch(agents bool, args ...string) runResult {
	e.t.Helper()
	return e.exec(func(f *cmdutil.Factory) *cobra.Command {
		cmd := NewCmdRotate(f, func(ctx context.Context, o *Options) error {
			o.AgentsRunning = func() bool { return agents }
			return runWatch(ctx, o)
		})
		return cmd
	}, append([]string{"--watch"}, args...)...)
}

func TestRotateWatch(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		name := "text"
		if asJSON {
			name = "json"
		}
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t)
			first := e.login()
			e.stopAt(t0.Add(25 * time.Minute))
			args := []string{}
			if asJSON {
				args = append(args, "-o", "json")
			}
			res := e.watch(true, args...)
			if res.err != nil {
				t.Fatalf("watch: %v\nstderr: %s", res.err, res.errOut)
			}
			e.assertNoSecrets(res.out, res.errOut)

			var kinds []string
			if asJSON {
				if res.errOut != "" {
					t.Errorf("stderr = %q, want events only on stdout", res.errOut)
				}
				dec := json.NewDecoder(strings.NewReader(res.out))
				for dec.More() {
					var ev map[string]any
					if err := dec.Decode(&ev); err != nil {
						t.Fatalf("event is not JSON: %v\n%s", err, res.out)
					}
					if ev["version"] != float64(1) || ev["profile"] != "default" {
						t.Errorf("event = %v", ev)
					}
					kinds = append(kinds, ev["event"].(string))
				}
			} else {
				if res.out != "" {
					t.Errorf("stdout = %q, want events on stderr", res.out)
				}
				for _, line := range strings.Split(strings.TrimSpace(res.errOut), "\n") {
					fields := strings.Fields(line)
					if len(fields) < 3 || fields[1] != "default" {
						t.Fatalf("event line = %q", line)
					}
					kinds = append(kinds, strings.TrimSuffix(fields[2], ":"))
				}
			}
			count := map[string]int{}
			for _, k := range kinds {
				count[k]++
			}
			if kinds[0] != rotation.EventStarted || kinds[len(kinds)-1] != rotation.EventStopped ||
				count[rotation.EventRotated] != 2 || count[rotation.EventDeleted] != 2 {
				t.Errorf("events = %q, want started, 2 rotations at 10m and 20m, 2 deletions, stopped", kinds)
			}

			p := e.state().Profile("default")
			if !p.CreatedAt.Equal(t0.Add(20*time.Minute)) || len(p.Pending) != 0 {
				t.Errorf("profile = %v, want the token of the 20m rotation and nothing pending", p)
			}
			live := e.srv.LiveTokens(testUser)
			if len(live) != 2 || !e.isLive(e.patID) || !e.isLive(p.TokenID) || e.isLive(first.TokenID) {
				t.Errorf("live tokens = %+v, want the PAT and the current token", live)
			}
			if _, running := store.NewFileStore(e.dir).WatcherPID("default"); running {
				t.Error("the watcher lock is still held after the watch ended")
			}
		})
	}
}

func TestRotateWatchPauseWhenIdle(t *testing.T) {
	e := newTestEnv(t)
	e.login()
	e.stopAt(t0.Add(time.Hour)) // a safety net; the token expires first
	e.srv.ResetRequests()
	res := e.watch(false, "--pause-when-idle")
	if res.code() != exit.Auth {
		t.Fatalf("err = %v (exit %d), want exit 4 once the idle token expired", res.err, res.code())
	}
	if !strings.Contains(res.err.Error(), "no coding agent was running") {
		t.Errorf("error = %v", res.err)
	}
	if !strings.Contains(res.errOut, " idle") || !strings.Contains(res.errOut, " expiry_warning") {
		t.Errorf("stderr lacks the idle and expiry warning events:\n%s", res.errOut)
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("%d requests while idle, want none: %+v", n, e.srv.Requests())
	}
}

func TestRotateWatchOnePerProfile(t *testing.T) {
	e := newTestEnv(t)
	e.login()
	release, err := store.NewFileStore(e.dir).AcquireWatcher("default")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	e.stopAt(t0.Add(time.Minute))
	res := e.watch(true)
	var running *store.WatcherRunningError
	if !errors.As(res.err, &running) || running.PID != os.Getpid() {
		t.Fatalf("err = %v, want WatcherRunningError with this PID", res.err)
	}
}
