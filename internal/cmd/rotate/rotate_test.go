package rotate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/logging"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
)

// ---- test harness (shared: internal/cmd/cmdtest) ----

type testEnv struct{ *cmdtest.Env }

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return &testEnv{cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdRotate), cmdtest.Cmd(login.NewCmdLogin))}
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
		{name: "interval goes with --watch", args: []string{"--interval", "5m"}, wantCode: exit.Usage, wantMsg: "--interval goes with --watch"},
		{name: "env feeds defaults", env: map[string]string{"CODA_LIFETIME": "30m", "CODA_GRACE": "1m", "CODA_INTERVAL": "20m"},
			want: want{Lifetime: 30 * time.Minute, Grace: time.Minute, Interval: 20 * time.Minute}},
		{name: "config.yaml feeds defaults", config: "lifetime: 30m\ngrace: 90s\ninterval: 25m\n",
			want: want{Lifetime: 30 * time.Minute, Grace: 90 * time.Second, Interval: 25 * time.Minute}},
		{name: "env beats config.yaml", env: map[string]string{"CODA_GRACE": "1m"}, config: "grace: 90s\n",
			want: with(func(w *want) { w.Grace = time.Minute })},
		{name: "flags beat env and config.yaml", args: []string{"--grace", "30s", "--lifetime", "16m"},
			env: map[string]string{"CODA_GRACE": "1m"}, config: "lifetime: 30m\n",
			want: with(func(w *want) { w.Grace, w.Lifetime = 30*time.Second, 16*time.Minute })},

		{name: "lifetime below 1m", args: []string{"--lifetime", "59s"}, wantCode: exit.Usage, wantMsg: "lifetime must be between 1m and 24h, got 59s"},
		{name: "lifetime above a day", args: []string{"--lifetime", "25h"}, wantCode: exit.Usage, wantMsg: "lifetime must be between 1m and 24h, got 25h"},
		{name: "negative grace", args: []string{"--grace", "-1s"}, wantCode: exit.Usage, wantMsg: "grace -1s"},
		{name: "grace not shorter than lifetime minus interval", args: []string{"--grace", "5m"}, wantCode: exit.Usage,
			wantMsg: "grace 5m must be at least 0s and shorter than lifetime 15m minus interval 10m (5m)"},
		{name: "watch: interval not shorter than lifetime", args: []string{"--watch", "--interval", "15m"}, wantCode: exit.Usage, wantMsg: "interval 15m must be at least 1s and shorter than lifetime 15m"},
		{name: "watch: interval below 1s", args: []string{"--watch", "--interval", "500ms"}, wantCode: exit.Usage, wantMsg: "interval 500ms"},
		{name: "watch: a short lifetime derives the values not given", args: []string{"--watch"}, env: map[string]string{"CODA_LIFETIME": "5m"},
			want: want{Lifetime: 5 * time.Minute, Grace: 40 * time.Second, Interval: 200 * time.Second, Watch: true}},
		{name: "watch: env lifetime shorter than the interval given", args: []string{"--watch", "--interval", "10m"},
			env: map[string]string{"CODA_LIFETIME": "5m"}, wantCode: exit.Usage, wantMsg: "interval 10m must be at least 1s and shorter than lifetime 5m"},
		{name: "watch: config interval too long", args: []string{"--watch"}, config: "interval: 20m\n", wantCode: exit.Usage, wantMsg: "interval 20m"},
		{name: "env not a duration", env: map[string]string{"CODA_GRACE": "a while"}, wantCode: exit.Usage, wantMsg: "CODA_GRACE"},
		{name: "config.yaml: unknown key", config: "graze: 1m\n", wantCode: exit.Usage, wantMsg: `unknown setting "graze"`},
		{name: "config.yaml: wrong type", config: "grace: [1m]\n", wantCode: exit.Usage, wantMsg: "grace must be a duration"},
		{name: "positional argument", args: []string{"now"}, wantCode: exit.Error},
		{name: "bad duration flag", args: []string{"--grace", "soon"}, wantCode: exit.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			for k, v := range tt.env {
				e.Vars[k] = v
			}
			if tt.config != "" {
				e.WriteConfig(tt.config)
			}
			res, got := cmdtest.Parse(e.Env, NewCmdRotate, tt.args...)
			var g want
			if res.Err == nil && got != nil {
				// The policy is checked when the engine resolves it.
				if in, err := cmdtest.InForce(got.Timing); err != nil {
					res.Err = err
				} else {
					g = want{Lifetime: in.LifetimeD(), Grace: in.GraceD(), Interval: in.IntervalD(), Watch: got.Watch, PauseWhenIdle: got.PauseWhenIdle}
				}
			}
			if tt.wantCode != 0 {
				if res.Err == nil || res.Code() != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want exit %d", res.Err, res.Code(), tt.wantCode)
				}
				if !strings.Contains(res.Err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not mention %q", res.Err, tt.wantMsg)
				}
				return
			}
			if res.Err != nil {
				t.Fatalf("err = %v", res.Err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if got.F == nil || got.AgentsRunning == nil {
				t.Error("Options.F or Options.AgentsRunning is nil")
			}
			if g != tt.want {
				t.Errorf("Options = %+v, want %+v", g, tt.want)
			}
			if len(e.Srv.Requests()) != 0 {
				t.Errorf("flag parsing made requests: %+v", e.Srv.Requests())
			}
		})
	}
}

// ---- one-shot rotation ----

func TestRotateOnce(t *testing.T) {
	e := newTestEnv(t)
	old := e.Login()
	tool := e.AddSink("default")
	e.Clock.Advance(time.Minute)

	res := e.Run()
	if res.Err != nil {
		t.Fatalf("rotate: %v\nstderr: %s", res.Err, res.ErrOut)
	}
	p := e.State().Profile("default")
	if p.TokenID == old.TokenID || p.Token == old.Token {
		t.Fatal("the stored token did not change")
	}
	if !p.ExpiresAt.Equal(cmdtest.T0.Add(16*time.Minute)) || !p.LastRotation.Equal(cmdtest.T0.Add(time.Minute)) {
		t.Errorf("ExpiresAt = %s, LastRotation = %s", p.ExpiresAt, p.LastRotation)
	}
	if len(p.Pending) != 1 || p.Pending[0].TokenID != old.TokenID || !p.Pending[0].DeleteAfter.Equal(cmdtest.T0.Add(3*time.Minute)) {
		t.Errorf("pending = %+v, want the old token after the 2m grace", p.Pending)
	}
	if !e.IsLive(old.TokenID) {
		t.Error("the old token was deleted before its grace ended")
	}
	wantOut := "Rotated profile default: token " + redact.Suffix(p.TokenID) + " expires at " + cmdtest.T0.Add(16*time.Minute).Format(time.RFC3339) + ".\n" +
		"Pending deletion: " + redact.Suffix(old.TokenID) + " after " + cmdtest.T0.Add(3*time.Minute).Format(time.RFC3339) + ".\n"
	if res.Out != wantOut {
		t.Errorf("stdout = %q\nwant     %q", res.Out, wantOut)
	}
	e.AssertNoSecrets(res.Out, res.ErrOut)
	// The tool's sink holds the new token.
	if e.SinkToken(tool) != p.Token {
		t.Error("the rotation did not reach the tool's sink")
	}

	// After the grace the next rotation deletes it.
	e.Clock.Advance(3 * time.Minute)
	res = e.Run()
	if res.Err != nil {
		t.Fatalf("second rotate: %v", res.Err)
	}
	if e.IsLive(old.TokenID) {
		t.Error("the old token survived its grace")
	}
	if !strings.Contains(res.Out, "Deleted old token "+redact.Suffix(old.TokenID)+".") {
		t.Errorf("stdout = %q", res.Out)
	}
}

func TestRotateJSON(t *testing.T) {
	e := newTestEnv(t)
	old := e.Login()
	res := e.Run("-o", "json", "--grace", "0s", "--lifetime", "30m")
	if res.Err != nil {
		t.Fatalf("rotate: %v\nstderr: %s", res.Err, res.ErrOut)
	}
	m := cmdtest.DecodeJSON(t, res.Out)
	p := e.State().Profile("default")
	if m["profile"] != "default" || m["token_id"] != redact.Suffix(p.TokenID) || m["expires_at"] != cmdtest.T0.Add(30*time.Minute).Format(time.RFC3339) {
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
	if e.IsLive(old.TokenID) {
		t.Error("--grace 0s left the old token live")
	}
	e.AssertNoSecrets(res.Out, res.ErrOut)
}

func TestRotateErrors(t *testing.T) {
	t.Run("not logged in", func(t *testing.T) {
		e := newTestEnv(t)
		res := e.Run()
		if res.Code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.Err, res.Code())
		}
		if len(e.Srv.Requests()) != 0 {
			t.Errorf("requests: %+v", e.Srv.Requests())
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := newTestEnv(t)
		e.Login()
		e.Clock.Advance(16 * time.Minute)
		e.Srv.ResetRequests()
		res := e.Run()
		if res.Code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.Err, res.Code())
		}
		if len(e.Srv.Requests()) != 0 {
			t.Errorf("requests with an expired token: %+v", e.Srv.Requests())
		}
	})
	t.Run("revoked in the workspace", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.Login()
		e.Srv.RevokeToken(p.TokenID)
		res := e.Run("-o", "json")
		if res.Code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.Err, res.Code())
		}
		if res.Out != "" {
			t.Errorf("stdout = %q, want nothing on failure", res.Out)
		}
		if got := e.State().Profile("default"); got.TokenID != p.TokenID {
			t.Error("a failed rotation replaced the stored token")
		}
	})
	t.Run("workspace unavailable", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.Login()
		e.Srv.AddFault("POST", fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 1, Status: 503})
		e.Srv.ResetRequests()
		res := e.Run()
		if res.Err == nil || res.Code() != exit.Error {
			t.Fatalf("err = %v (exit %d), want exit 1", res.Err, res.Code())
		}
		if n := len(e.Srv.Requests()); n != 1 {
			t.Errorf("%d requests, want 1 (no SDK retry): %+v", n, e.Srv.Requests())
		}
		if got := e.State().Profile("default"); got.TokenID != p.TokenID {
			t.Error("a failed rotation replaced the stored token")
		}
	})
}

// ---- watch ----

// stopAt cancels the command's context once the fake clock reaches at.
func (e *testEnv) stopAt(at time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	e.T.Cleanup(cancel)
	e.Ctx = ctx
	e.Clock.OnSleep = func(time.Duration) {
		if !e.Clock.Now().Before(at) {
			cancel()
		}
	}
}

func (e *testEnv) watch(agents bool, args ...string) cmdtest.Result {
	e.T.Helper()
	return e.Exec(func(f *cmdutil.Factory) *cobra.Command {
		cmd := NewCmdRotate(f, func(ctx context.Context, o *Options) error {
			o.AgentsRunning = func() (bool, error) { return agents, nil }
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
			first := e.Login()
			e.stopAt(cmdtest.T0.Add(25 * time.Minute))
			args := []string{}
			if asJSON {
				args = append(args, "-o", "json")
			}
			res := e.watch(true, args...)
			if res.Err != nil {
				t.Fatalf("watch: %v\nstderr: %s", res.Err, res.ErrOut)
			}
			e.AssertNoSecrets(res.Out, res.ErrOut)

			var kinds []string
			if asJSON {
				if res.ErrOut != "" {
					t.Errorf("stderr = %q, want events only on stdout", res.ErrOut)
				}
				dec := json.NewDecoder(strings.NewReader(res.Out))
				for dec.More() {
					var ev map[string]any
					if err := dec.Decode(&ev); err != nil {
						t.Fatalf("event is not JSON: %v\n%s", err, res.Out)
					}
					if ev["version"] != float64(1) || ev["profile"] != "default" {
						t.Errorf("event = %v", ev)
					}
					kinds = append(kinds, ev["event"].(string))
				}
			} else {
				if res.Out != "" {
					t.Errorf("stdout = %q, want events on stderr", res.Out)
				}
				for _, line := range strings.Split(strings.TrimSpace(res.ErrOut), "\n") {
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
			if kinds[0] != lifecycle.EventStarted || kinds[len(kinds)-1] != lifecycle.EventStopped ||
				count[lifecycle.EventRotated] != 2 || count[lifecycle.EventDeleted] != 2 {
				t.Errorf("events = %q, want started, 2 rotations at 10m and 20m, 2 deletions, stopped", kinds)
			}

			p := e.State().Profile("default")
			if !p.CreatedAt.Equal(cmdtest.T0.Add(20*time.Minute)) || len(p.Pending) != 0 {
				t.Errorf("profile = %v, want the token of the 20m rotation and nothing pending", p)
			}
			live := e.Srv.LiveTokens(cmdtest.User)
			if len(live) != 2 || !e.IsLive(e.PATID) || !e.IsLive(p.TokenID) || e.IsLive(first.TokenID) {
				t.Errorf("live tokens = %+v, want the PAT and the current token", live)
			}
			if _, running := store.NewFileStore(e.Dir).WatcherPID("default"); running {
				t.Error("the watcher lock is still held after the watch ended")
			}
		})
	}
}

func TestRotateWatchPauseWhenIdle(t *testing.T) {
	e := newTestEnv(t)
	e.Login()
	e.stopAt(cmdtest.T0.Add(time.Hour)) // a safety net; the token expires first
	e.Srv.ResetRequests()
	res := e.watch(false, "--pause-when-idle")
	if res.Code() != exit.Auth {
		t.Fatalf("err = %v (exit %d), want exit 4 once the idle token expired", res.Err, res.Code())
	}
	if !strings.Contains(res.Err.Error(), "no coding agent was running") {
		t.Errorf("error = %v", res.Err)
	}
	if !strings.Contains(res.ErrOut, " idle") || !strings.Contains(res.ErrOut, " expiry_warning") {
		t.Errorf("stderr lacks the idle and expiry warning events:\n%s", res.ErrOut)
	}
	if n := len(e.Srv.Requests()); n != 0 {
		t.Errorf("%d requests while idle, want none: %+v", n, e.Srv.Requests())
	}
}

func TestRotateWatchOnePerProfile(t *testing.T) {
	e := newTestEnv(t)
	e.Login()
	release, err := store.NewFileStore(e.Dir).AcquireWatcher("default")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	e.stopAt(cmdtest.T0.Add(time.Minute))
	res := e.watch(true)
	var running *store.WatcherRunningError
	if !errors.As(res.Err, &running) || running.PID != os.Getpid() {
		t.Fatalf("err = %v, want WatcherRunningError with this PID", res.Err)
	}
}

// TestTextEvents: each event is one line stamped with the event's own
// time; what needs a look is a warning, which -q (a logger at Warn) keeps
// while it drops the rest.
func TestTextEvents(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		ev    lifecycle.Event
		line  string
		quiet bool // still shown with -q
	}{
		{lifecycle.Event{Kind: lifecycle.EventStarted, Message: "rotating every 10m"},
			"2026-05-01T10:00:00Z default started: rotating every 10m", false},
		{lifecycle.Event{Kind: lifecycle.EventRotated, TokenID: "0123456789abcdef", ExpiresAt: at.Add(15 * time.Minute), Message: "replaces …aaaa"},
			"2026-05-01T10:00:00Z default rotated …cdef expires 2026-05-01T10:15:00Z: replaces …aaaa", false},
		{lifecycle.Event{Kind: lifecycle.EventWaiting, TokenID: "0123456789abcdef", ExpiresAt: at.Add(15 * time.Minute), NextAttempt: at.Add(10 * time.Minute)},
			"2026-05-01T10:00:00Z default waiting …cdef expires 2026-05-01T10:15:00Z, next rotation 2026-05-01T10:10:00Z", false},
		{lifecycle.Event{Kind: lifecycle.EventRetry, RetryIn: 1500 * time.Millisecond, Message: "create token: 503"},
			"2026-05-01T10:00:00Z WARN default retry in 1.5s: create token: 503", true},
		{lifecycle.Event{Kind: lifecycle.EventDeleteFailed, Message: "delete token: 500"},
			"2026-05-01T10:00:00Z WARN default delete_failed: delete token: 500", true},
		{lifecycle.Event{Kind: lifecycle.EventExpiryWarning, Message: "token expires in 5m"},
			"2026-05-01T10:00:00Z WARN default expiry_warning: token expires in 5m", true},
		{lifecycle.Event{Kind: lifecycle.EventStopped, Message: "interrupted"},
			"2026-05-01T10:00:00Z default stopped: interrupted", false},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Kind, func(t *testing.T) {
			tt.ev.Time, tt.ev.Profile = at.In(time.FixedZone("X", 3600)), "default"
			for _, quiet := range []bool{false, true} {
				var buf strings.Builder
				textEvents(logging.New(&buf, logging.Level(false, quiet)))(tt.ev)
				want := tt.line + "\n"
				if quiet && !tt.quiet {
					want = ""
				}
				if buf.String() != want {
					t.Errorf("quiet=%v: got %q, want %q", quiet, buf.String(), want)
				}
			}
		})
	}
}
