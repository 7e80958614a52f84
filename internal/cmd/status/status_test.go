package status

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
)

// ---- test harness (shared: internal/cmd/cmdtest) ----

func newTestEnv(t *testing.T) *cmdtest.Env {
	t.Helper()
	return cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdStatus), cmdtest.Cmd(login.NewCmdLogin))
}

// ---- flag parsing ----

func TestNewCmdStatusFlags(t *testing.T) {
	tests := []struct {
		args                []string
		check, all, verbose bool
		names               []string
		wantErr             string
	}{
		{args: nil},
		{args: []string{"--check"}, check: true},
		{args: []string{"--all"}, all: true},
		{args: []string{"--check", "--all"}, check: true, all: true},
		{args: []string{"-v"}, verbose: true},
		{args: []string{"--verbose", "--all"}, verbose: true, all: true},
		{args: []string{"gemini", "claude"}, names: []string{"gemini", "claude"}},
		{args: []string{"default"}, wantErr: `unknown plugin "default": choose from databricks, claude`},
		{args: []string{"gemni"}, wantErr: `unknown plugin "gemni" (did you mean gemini?)`},
		{args: []string{"--bogus"}, wantErr: "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			e := newTestEnv(t)
			res, got := cmdtest.Parse(e, NewCmdStatus, tt.args...)
			if tt.wantErr != "" {
				if res.Err == nil || got != nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, runF called = %v; want %q and no call", res.Err, got != nil, tt.wantErr)
				}
				return
			}
			if res.Err != nil || got == nil || got.F == nil {
				t.Fatalf("err = %v, options = %+v", res.Err, got)
			}
			if got.Check != tt.check || got.All != tt.all || got.Verbose != tt.verbose || !slices.Equal(got.Names, tt.names) {
				t.Errorf("Check, All, Verbose, Names = %v, %v, %v, %q; want %v, %v, %v, %q", got.Check, got.All, got.Verbose, got.Names, tt.check, tt.all, tt.verbose, tt.names)
			}
		})
	}
}

// ---- run ----

// utcStatus is the status command showing times in UTC.
func utcStatus(f *cmdutil.Factory) *cobra.Command {
	return NewCmdStatus(f, func(ctx context.Context, o *Options) error {
		o.Location = time.UTC
		return run(ctx, o)
	})
}

func TestStatusText(t *testing.T) {
	e := newTestEnv(t)
	p := e.Login()
	e.Clock.Advance(5 * time.Minute)
	e.Srv.ResetRequests()
	res := e.Exec(utcStatus)
	if res.Err != nil {
		t.Fatalf("status: %v\nstdout: %s", res.Err, res.Out)
	}
	for _, want := range []string{
		"Profile:       default\n",
		"Host:          " + e.Srv.URL() + "\n",
		"User:          " + cmdtest.User + "\n",
		"Token:         " + redact.Suffix(p.TokenID) + " valid\n",
		"Expires in:    10m (03:19:05)\n", // local time: the test's zone is UTC
		"Last rotation: never\n",
		"Pending:       none\n",
		"Watcher:       not running",
	} {
		if !strings.Contains(res.Out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.Out)
		}
	}
	e.AssertNoSecrets(res.Out, res.ErrOut)
	if n := len(e.Srv.Requests()); n != 0 {
		t.Errorf("offline status made %d requests", n)
	}
}

func TestStatusJSON(t *testing.T) {
	e := newTestEnv(t)
	p := e.Login()
	// A second login leaves the first token pending.
	e.Clock.Advance(time.Minute)
	p2 := e.Login()
	res := e.Run("-o", "json")
	if res.Err != nil {
		t.Fatalf("status: %v", res.Err)
	}
	m := cmdtest.DecodeJSON(t, res.Out)
	profiles, _ := m["profiles"].([]any)
	if len(profiles) != 1 {
		t.Fatalf("profiles = %v", m["profiles"])
	}
	pj := profiles[0].(map[string]any)
	want := map[string]any{
		"name": "default", "logged_in": true, "valid": true, "host": e.Srv.URL(), "user": cmdtest.User,
		"token_id": redact.Suffix(p2.TokenID), "expires_in_seconds": float64(15 * 60),
		"created_at": cmdtest.T0.Add(time.Minute).Format(time.RFC3339), "expires_at": cmdtest.T0.Add(16 * time.Minute).Format(time.RFC3339),
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
	e.AssertNoSecrets(res.Out, res.ErrOut)
	for _, id := range []string{p.TokenID, p2.TokenID} {
		if strings.Contains(res.Out, id) {
			t.Errorf("JSON holds a full token id")
		}
	}
}

func TestStatusExpired(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			e := newTestEnv(t)
			e.Login()
			e.Clock.Advance(16 * time.Minute)
			res := e.Exec(utcStatus, "-o", format)
			if res.Code() != exit.Auth {
				t.Fatalf("err = %v (exit %d), want exit 4", res.Err, res.Code())
			}
			var silent *exit.SilentError
			if !errors.As(res.Err, &silent) {
				t.Errorf("err = %T, want a SilentError (the output already says why)", res.Err)
			}
			if format == "text" {
				if !strings.Contains(res.Out, "expired (run coda login)") || !strings.Contains(res.Out, "Expired:       03:19:05\n") {
					t.Errorf("stdout = %s", res.Out)
				}
				return
			}
			pj := cmdtest.DecodeJSON(t, res.Out)["profiles"].([]any)[0].(map[string]any)
			if pj["valid"] != false || pj["logged_in"] != true || pj["expires_in_seconds"] != float64(0) {
				t.Errorf("profile = %v", pj)
			}
		})
	}
}

func TestStatusNotLoggedIn(t *testing.T) {
	e := newTestEnv(t)
	res := e.Run("-p", "staging")
	if res.Code() != exit.Auth || !strings.Contains(res.Out, "Profile:       staging\nToken:         none (run coda login)\n") {
		t.Fatalf("err = %v (exit %d), stdout %q", res.Err, res.Code(), res.Out)
	}
	res = e.Run("--all")
	if res.Code() != exit.Auth || !strings.Contains(res.ErrOut, "No profiles: run coda login.") {
		t.Fatalf("--all: err = %v (exit %d), stderr %q", res.Err, res.Code(), res.ErrOut)
	}
	res = e.Run("--all", "-o", "json")
	if res.Code() != exit.Auth {
		t.Fatalf("--all -o json: exit %d", res.Code())
	}
	if ps, ok := cmdtest.DecodeJSON(t, res.Out)["profiles"].([]any); !ok || len(ps) != 0 {
		t.Errorf("profiles = %v, want []", ps)
	}
}

func TestStatusAll(t *testing.T) {
	e := newTestEnv(t)
	e.Login("-p", "work")
	e.Login("-p", "staging")
	res := e.Run("--all", "-o", "json")
	if res.Err != nil {
		t.Fatalf("status --all: %v", res.Err)
	}
	var names []string
	for _, p := range cmdtest.DecodeJSON(t, res.Out)["profiles"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "staging,work" {
		t.Errorf("profiles = %q, want staging,work", names)
	}
	// One expired profile makes --all exit 4.
	err := store.NewFileStore(e.Dir).Update(context.Background(), func(s *store.State) error {
		s.Profiles["work"].ExpiresAt = cmdtest.T0.Add(-time.Second)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := e.Run("--all"); res.Code() != exit.Auth {
		t.Errorf("exit %d with one expired profile, want 4", res.Code())
	}
	if res := e.Run("-p", "staging"); res.Err != nil {
		t.Errorf("status -p staging: %v", res.Err)
	}
}

func TestStatusWatcher(t *testing.T) {
	e := newTestEnv(t)
	e.Login()
	release, err := store.NewFileStore(e.Dir).AcquireWatcher("default")
	if err != nil {
		t.Fatal(err)
	}
	res := e.Run()
	if res.Err != nil {
		t.Fatalf("status: %v", res.Err)
	}
	if want := fmt.Sprintf("Watcher:       running (PID %d)\n", os.Getpid()); !strings.Contains(res.Out, want) {
		t.Errorf("stdout lacks %q:\n%s", want, res.Out)
	}
	res = e.Run("-o", "json")
	w := cmdtest.DecodeJSON(t, res.Out)["profiles"].([]any)[0].(map[string]any)["watcher"].(map[string]any)
	if w["running"] != true || w["pid"] != float64(os.Getpid()) {
		t.Errorf("watcher = %v", w)
	}
	release()
	if res := e.Run(); !strings.Contains(res.Out, "Watcher:       not running") {
		t.Errorf("after release:\n%s", res.Out)
	}
}

func TestStatusCheck(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.Login()
		e.Srv.ResetRequests()
		res := e.Run("--check", "-o", "json")
		if res.Err != nil {
			t.Fatalf("status --check: %v", res.Err)
		}
		c := cmdtest.DecodeJSON(t, res.Out)["profiles"].([]any)[0].(map[string]any)["check"].(map[string]any)
		if c["valid"] != true || c["user"] != cmdtest.User {
			t.Errorf("check = %v", c)
		}
		reqs := e.Srv.Requests()
		if len(reqs) != 1 || reqs[0].Path != fakeworkspace.PathMe || reqs[0].TokenID != p.TokenID {
			t.Errorf("requests = %+v, want one Me with coda's token", reqs)
		}
		if res := e.Run("--check"); !strings.Contains(res.Out, "valid (checked online)") {
			t.Errorf("text:\n%s", res.Out)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		e := newTestEnv(t)
		p := e.Login()
		e.Srv.RevokeToken(p.TokenID)
		res := e.Run("--check")
		if res.Code() != exit.Auth {
			t.Fatalf("err = %v (exit %d), want exit 4", res.Err, res.Code())
		}
		if !strings.Contains(res.Out, "rejected by the workspace (run coda login)") {
			t.Errorf("stdout:\n%s", res.Out)
		}
		if strings.Contains(res.Out, "403 403") {
			t.Errorf("stdout repeats the status code:\n%s", res.Out)
		}
	})
	t.Run("unreachable is not invalid", func(t *testing.T) {
		e := newTestEnv(t)
		e.Login()
		e.Srv.AddFault("GET", fakeworkspace.PathMe, fakeworkspace.Fault{Times: 1, Status: 503})
		res := e.Run("--check", "-o", "json")
		if res.Err != nil {
			t.Fatalf("status --check during an outage: %v", res.Err)
		}
		pj := cmdtest.DecodeJSON(t, res.Out)["profiles"].([]any)[0].(map[string]any)
		c := pj["check"].(map[string]any)
		if pj["valid"] != true || c["valid"] != true || !strings.Contains(c["error"].(string), "503") {
			t.Errorf("profile = %v", pj)
		}
	})
	t.Run("expired is not checked online", func(t *testing.T) {
		e := newTestEnv(t)
		e.Login()
		e.Clock.Advance(time.Hour)
		e.Srv.ResetRequests()
		if res := e.Run("--check"); res.Code() != exit.Auth {
			t.Fatalf("exit %d, want 4", res.Code())
		}
		if n := len(e.Srv.Requests()); n != 0 {
			t.Errorf("%d requests with an expired token", n)
		}
	})
}

func TestLoopbackProxied(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		warn bool
	}{
		{map[string]string{}, false},
		{map[string]string{"HTTPS_PROXY": "http://corp:3128"}, true},
		{map[string]string{"https_proxy": "http://corp:3128", "NO_PROXY": "example.com"}, true},
		{map[string]string{"HTTPS_PROXY": "http://corp:3128", "NO_PROXY": "example.com, 127.0.0.1"}, false},
		{map[string]string{"HTTP_PROXY": "http://corp:3128", "no_proxy": "*"}, false},
	} {
		got := LoopbackProxied(func(k string) string { return tc.env[k] })
		if (got != "") != tc.warn {
			t.Errorf("%v: warning %q", tc.env, got)
		}
	}
}
