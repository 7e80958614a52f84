package token

import (
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
)

// ---- test harness (shared: internal/cmd/cmdtest) ----

func newTestEnv(t *testing.T) *cmdtest.Env {
	t.Helper()
	return cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdToken), cmdtest.Cmd(login.NewCmdLogin))
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
		{name: "min-ttl under the workspace's 30s window", args: []string{"--min-ttl", "0s"}, wantCode: exit.Usage},
		{name: "no --lifetime: a helper never changes the profile's lifetime", args: []string{"--lifetime", "30m"}, wantCode: exit.Error},
		{name: "CODA_LIFETIME is in force", env: map[string]string{"CODA_LIFETIME": "30m"}, wantMinTTL: 5 * time.Minute, wantLifetime: 30 * time.Minute},
		{name: "CODA_MIN_TTL feeds default", env: map[string]string{"CODA_MIN_TTL": "2m"}, wantMinTTL: 2 * time.Minute, wantLifetime: 15 * time.Minute},
		{name: "config.yaml feeds default", config: "min-ttl: 4m\nlifetime: 20m\n", wantMinTTL: 4 * time.Minute, wantLifetime: 20 * time.Minute},
		{name: "flag beats env", args: []string{"--min-ttl", "1m"}, env: map[string]string{"CODA_MIN_TTL": "2m"}, wantMinTTL: time.Minute, wantLifetime: 15 * time.Minute},
		{name: "flag beats config.yaml", args: []string{"--min-ttl", "1m"}, config: "min-ttl: 4m\n", wantMinTTL: time.Minute, wantLifetime: 15 * time.Minute},
		{name: "min-ttl equal to lifetime", args: []string{"--min-ttl", "15m"}, wantCode: exit.Usage},
		{name: "negative min-ttl", args: []string{"--min-ttl", "-1s"}, wantCode: exit.Usage},
		{name: "env lifetime below env min-ttl", env: map[string]string{"CODA_LIFETIME": "4m", "CODA_MIN_TTL": "5m"}, wantCode: exit.Usage},
		{name: "CODA_MIN_TTL not a duration", env: map[string]string{"CODA_MIN_TTL": "5"}, wantCode: exit.Usage},
		{name: "positional argument", args: []string{"x"}, wantCode: exit.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			var gotMinTTL, gotLifetime time.Duration
			for k, v := range tt.env {
				e.Vars[k] = v
			}
			if tt.config != "" {
				e.WriteConfig(tt.config)
			}
			res, got := cmdtest.Parse(e, NewCmdToken, tt.args...)
			if res.Err == nil && got != nil {
				// The policy is checked when the engine resolves it.
				if in, err := cmdtest.InForce(got.Timing); err != nil {
					res.Err = err
				} else {
					gotMinTTL, gotLifetime = in.MinTTLD(), in.LifetimeD()
				}
			}
			if tt.wantCode != 0 {
				if res.Err == nil || res.Code() != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want exit %d", res.Err, res.Code(), tt.wantCode)
				}
				return
			}
			if res.Err != nil {
				t.Fatalf("err = %v", res.Err)
			}
			if got == nil || got.F == nil {
				t.Fatal("runF not called with a Factory")
			}
			if gotMinTTL != tt.wantMinTTL || gotLifetime != tt.wantLifetime {
				t.Errorf("MinTTL, Lifetime = %s, %s; want %s, %s", gotMinTTL, gotLifetime, tt.wantMinTTL, tt.wantLifetime)
			}
		})
	}
}

// ---- run ----

func TestTokenFresh(t *testing.T) {
	e := newTestEnv(t)
	e.Login("-p", "work")
	e.Clock.Advance(9 * time.Minute) // 6m left, more than the 5m default
	e.Srv.ResetRequests()
	res := e.Run("-p", "work")
	if res.Err != nil {
		t.Fatalf("token: %v\nstderr: %s", res.Err, res.ErrOut)
	}
	p := e.State().Profile("work")
	if res.Out != p.Token+"\n" {
		t.Errorf("stdout = %q, want the stored token and a newline", res.Out)
	}
	if res.ErrOut != "" {
		t.Errorf("stderr = %q", res.ErrOut)
	}
	if reqs := e.Srv.Requests(); len(reqs) != 0 {
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
			old := e.Login()
			e.Clock.Advance(tt.advance)
			e.Srv.ResetRequests()
			args := tt.args
			if len(args) == 1 && args[0] == "env" {
				e.Vars["CODA_MIN_TTL"] = "10m"
				args = nil
			}
			res := e.Run(args...)
			if res.Err != nil {
				t.Fatalf("token: %v\nstderr: %s", res.Err, res.ErrOut)
			}
			p := e.State().Profile("default")
			if res.Out != p.Token+"\n" {
				t.Errorf("stdout is not the stored token")
			}
			if rotated := p.TokenID != old.TokenID; rotated != tt.rotate {
				t.Fatalf("rotated = %v, want %v", rotated, tt.rotate)
			}
			if !tt.rotate {
				if n := len(e.Srv.Requests()); n != 0 {
					t.Errorf("%d requests without a rotation", n)
				}
				return
			}
			if !p.ExpiresAt.Equal(cmdtest.T0.Add(tt.advance + 15*time.Minute)) {
				t.Errorf("new token expires at %s", p.ExpiresAt)
			}
			if len(p.Pending) != 1 || p.Pending[0].TokenID != old.TokenID {
				t.Errorf("pending = %+v, want the old token", p.Pending)
			}
			if !e.IsLive(old.TokenID) {
				t.Error("the old token was deleted at once; helpers that fetched it still use it")
			}
			if res.ErrOut != "" {
				t.Errorf("stderr = %q", res.ErrOut)
			}
		})
	}
}

func TestTokenRotationFailsButTokenLives(t *testing.T) {
	e := newTestEnv(t)
	old := e.Login()
	e.Clock.Advance(12 * time.Minute)
	e.Srv.AddFault("POST", fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 1, Status: 503})
	res := e.Run()
	if res.Err != nil {
		t.Fatalf("token: %v", res.Err)
	}
	if res.Out != old.Token+"\n" {
		t.Error("stdout is not the still-live old token")
	}
	if !strings.Contains(res.ErrOut, "warning: could not rotate") || !strings.Contains(res.ErrOut, "3m0s") {
		t.Errorf("stderr = %q", res.ErrOut)
	}
	e.AssertNoSecrets(res.ErrOut)
}

func TestTokenLoginRequired(t *testing.T) {
	t.Run("not logged in", func(t *testing.T) {
		e := newTestEnv(t)
		res := e.Run()
		if res.Code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.Err, res.Code())
		}
		if res.Out != "" {
			t.Errorf("stdout = %q", res.Out)
		}
		if !strings.Contains(res.Err.Error(), "coda login") {
			t.Errorf("error = %v", res.Err)
		}
		if n := len(e.Srv.Requests()); n != 0 {
			t.Errorf("%d requests", n)
		}
	})
	t.Run("other profile", func(t *testing.T) {
		e := newTestEnv(t)
		e.Login()
		res := e.Run("-p", "staging")
		if res.Code() != exit.Auth || !strings.Contains(res.Err.Error(), "coda login -p staging") {
			t.Fatalf("err = %v (exit %d), want exit 4 naming -p staging", res.Err, res.Code())
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := newTestEnv(t)
		e.Login()
		e.Clock.Advance(15 * time.Minute)
		res := e.Run()
		if res.Code() != exit.Auth || res.Out != "" {
			t.Fatalf("err = %v (exit %d), stdout %q; want exit 4 and nothing printed", res.Err, res.Code(), res.Out)
		}
	})
	t.Run("rejected while rotating", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.Login()
		e.Srv.RevokeToken(p.TokenID)
		e.Clock.Advance(12 * time.Minute)
		res := e.Run()
		if res.Code() != exit.Auth || res.Out != "" {
			t.Fatalf("err = %v (exit %d), stdout %q; want exit 4 and nothing printed", res.Err, res.Code(), res.Out)
		}
	})
}
