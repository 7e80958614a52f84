package revoke

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store"
)

// ---- test harness (shared: internal/cmd/cmdtest) ----

type testEnv struct{ *cmdtest.Env }

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return &testEnv{cmdtest.NewWithPAT(t, cmdtest.Cmd(NewCmdRevoke), cmdtest.Cmd(login.NewCmdLogin))}
}

// ---- flag parsing ----

func TestNewCmdRevokeFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		all     bool
		pasted  string
		wantErr bool
	}{
		{name: "none"},
		{name: "all", args: []string{"--all"}, all: true},
		{name: "positional", args: []string{"default"}, wantErr: true},
		{name: "unknown flag", args: []string{"--force"}, wantErr: true},
		{name: "pasted", args: []string{"--pasted", "3f9a"}, pasted: "3f9a"},
		{name: "pasted empty", args: []string{"--pasted="}, wantErr: true},
		{name: "pasted blank", args: []string{"--pasted", " "}, wantErr: true},
		{name: "pasted with all", args: []string{"--pasted", "3f9a", "--all"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			res, got := cmdtest.Parse(e.Env, NewCmdRevoke, tt.args...)
			if tt.wantErr {
				if res.Err == nil || got != nil {
					t.Fatalf("err = %v, runF called = %v; want an error and no call", res.Err, got != nil)
				}
				return
			}
			if res.Err != nil || got == nil || got.F == nil {
				t.Fatalf("err = %v, options = %+v", res.Err, got)
			}
			if got.All != tt.all || got.Pasted != tt.pasted {
				t.Errorf("All = %v, Pasted = %q; want %v, %q", got.All, got.Pasted, tt.all, tt.pasted)
			}
		})
	}
}

// ---- run ----

// rotate replaces the profile's token directly with the rotation engine,
// leaving the old one pending.
func (e *testEnv) rotate(profile string) {
	e.T.Helper()
	f, _, _ := e.Factory()
	r, err := f.Engine()
	if err != nil {
		e.T.Fatal(err)
	}
	if _, err := r.Rotate(context.Background(), lifecycle.RotateRequest{Profile: profile}); err != nil {
		e.T.Fatal(err)
	}
}

func TestRevoke(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			e := newTestEnv(t)
			first := e.Login()
			tool := e.AddSink("default")
			e.rotate("default")
			p := e.State().Profile("default")
			if len(p.Pending) != 1 || p.Pending[0].TokenID != first.TokenID {
				t.Fatalf("setup: pending = %+v", p.Pending)
			}
			if e.SinkToken(tool) != p.Token {
				t.Fatal("setup: the rotation did not reach the tool's sink")
			}

			res := e.Run("-o", format)
			if res.Err != nil {
				t.Fatalf("revoke: %v\nstderr: %s", res.Err, res.ErrOut)
			}
			if e.IsLive(first.TokenID) || e.IsLive(p.TokenID) {
				t.Error("the current or the pending token is still live")
			}
			if !e.IsLive(e.PATID) {
				t.Error("revoke deleted the user's own PAT")
			}
			if e.State().Profile("default") != nil {
				t.Error("the profile was not cleared")
			}
			if e.SinkToken(tool) != "" {
				t.Error("the tool's sink still holds the revoked token")
			}
			// The current token authenticates the deletes and goes last.
			var deletes []fakeworkspace.Request
			for _, r := range e.Srv.Requests() {
				if r.Path == fakeworkspace.PathTokenDelete {
					deletes = append(deletes, r)
				}
			}
			if len(deletes) < 2 || deletes[len(deletes)-1].TokenID != p.TokenID {
				t.Errorf("deletes = %+v, want the current token's own delete last", deletes)
			}
			e.AssertNoSecrets(res.Out, res.ErrOut)
			if format == "text" {
				want := "Revoked profile default.\nDeleted " + redact.Suffix(first.TokenID) + ", " + redact.Suffix(p.TokenID) + ".\n"
				if res.Out != want {
					t.Errorf("stdout = %q, want %q", res.Out, want)
				}
				return
			}
			m := cmdtest.DecodeJSON(t, res.Out)
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
	res := e.Run()
	if res.Err != nil || res.Out != "Profile default is not logged in; nothing to revoke.\n" {
		t.Fatalf("err = %v, stdout = %q", res.Err, res.Out)
	}
	res = e.Run("-o", "json", "-p", "other")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if m := cmdtest.DecodeJSON(t, res.Out); m["profile"] != "other" || m["cleared"] != false {
		t.Errorf("JSON = %v", m)
	}
	if len(e.Srv.Requests()) != 0 {
		t.Errorf("%d requests; want nothing", len(e.Srv.Requests()))
	}
}

func TestRevokeExpiredClearsLocally(t *testing.T) {
	e := newTestEnv(t)
	p := e.Login()
	tool := e.AddSink("default")
	if err := (sink.Writer{}).Put(tool, p.Token); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(16 * time.Minute)
	e.Srv.ResetRequests()
	res := e.Run("-o", "json")
	if res.Err == nil || res.Code() != exit.Error {
		t.Fatalf("err = %v (exit %d), want exit 1", res.Err, res.Code())
	}
	if e.State().Profile("default") != nil {
		t.Error("the profile was not cleared")
	}
	if e.SinkToken(tool) != "" {
		t.Error("the tool's sink still holds the token after an offline revoke")
	}
	if n := len(e.Srv.Requests()); n != 0 {
		t.Errorf("%d requests with an expired token", n)
	}
	m := cmdtest.DecodeJSON(t, res.Out)
	nd, _ := m["not_deleted"].([]any)
	if m["cleared"] != true || len(nd) != 1 || nd[0].(map[string]any)["token_id"] != redact.Suffix(p.TokenID) {
		t.Errorf("JSON = %v", m)
	}
}

func TestRevokeWorkspaceDown(t *testing.T) {
	e := newTestEnv(t)
	p := e.Login()
	e.Srv.AddFault("POST", fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Status: 503})
	res := e.Run()
	if res.Err == nil || res.Code() != exit.Error {
		t.Fatalf("err = %v (exit %d), want exit 1", res.Err, res.Code())
	}
	if e.State().Profile("default") != nil {
		t.Error("the profile was not cleared although the local part must always happen")
	}
	if !strings.Contains(res.ErrOut, "Could not delete "+redact.Suffix(p.TokenID)) {
		t.Errorf("stderr = %q", res.ErrOut)
	}
	if !e.IsLive(p.TokenID) {
		t.Error("setup: the fault did not stop the delete")
	}
}

func TestRevokeAll(t *testing.T) {
	e := newTestEnv(t)
	e.Login("-p", "work")
	e.Login("-p", "staging")
	st := e.State()
	work, staging := st.Profile("work"), st.Profile("staging")
	// An orphan of profile work (a create whose answer was lost), one of
	// another installation, and a user token.
	storeID := lifecycle.StoreID(st.InstallationID, store.NewFileStore(e.Dir).Path())
	_, orphan := e.Srv.IssuePAT(cmdtest.User, lifecycle.Tag{InstallationID: st.InstallationID, Profile: "work", Store: storeID}.Comment(), time.Hour)
	_, legacy := e.Srv.IssuePAT(cmdtest.User, lifecycle.Tag{InstallationID: st.InstallationID, Profile: "work"}.Comment(), time.Hour)
	_, foreign := e.Srv.IssuePAT(cmdtest.User, lifecycle.Tag{InstallationID: "ffffffffffffffff", Profile: "work"}.Comment(), time.Hour)
	// A copy of this config dir elsewhere keeps the installation id: its
	// tokens are the copy's.
	_, copied := e.Srv.IssuePAT(cmdtest.User, lifecycle.Tag{InstallationID: st.InstallationID, Profile: "work", Store: "0badc0de"}.Comment(), time.Hour)
	_, userTok := e.Srv.IssuePAT(cmdtest.User, "ci", 0)

	res := e.Run("-p", "work", "--all", "-o", "json")
	if res.Err != nil {
		t.Fatalf("revoke --all: %v\nstderr: %s", res.Err, res.ErrOut)
	}
	for id, wantLive := range map[string]bool{
		work.TokenID: false, orphan: false, legacy: false,
		staging.TokenID: true, foreign: true, copied: true, userTok: true, e.PATID: true,
	} {
		if e.IsLive(id) != wantLive {
			t.Errorf("token %s live = %v, want %v", redact.Suffix(id), !wantLive, wantLive)
		}
	}
	if got := e.State().ProfileNames(); len(got) != 1 || got[0] != "staging" {
		t.Errorf("profiles = %q, want [staging]", got)
	}
	m := cmdtest.DecodeJSON(t, res.Out)
	if d, _ := m["deleted"].([]any); len(d) != 3 {
		t.Errorf("deleted = %v", m["deleted"])
	}
	e.AssertNoSecrets(res.Out, res.ErrOut)
}

func TestRevokeAllListFails(t *testing.T) {
	e := newTestEnv(t)
	p := e.Login()
	e.Srv.AddFault("GET", fakeworkspace.PathTokenList, fakeworkspace.Fault{Status: 503})
	res := e.Run("--all")
	if res.Err == nil || res.Code() != exit.Error {
		t.Fatalf("err = %v (exit %d), want exit 1", res.Err, res.Code())
	}
	if e.IsLive(p.TokenID) {
		t.Error("the current token was not deleted although only the listing failed")
	}
	if e.State().Profile("default") != nil {
		t.Error("the profile was not cleared")
	}
	if !strings.Contains(res.ErrOut, "could not list tokens for --all") {
		t.Errorf("stderr = %q", res.ErrOut)
	}
}

// revoke --pasted deletes the pasted PAT with coda's own token and keeps
// the login; a suffix that matches none (or several) of the user's own
// tokens lists them and deletes nothing, and coda's tokens never match.
func TestRevokePasted(t *testing.T) {
	tests := []struct {
		name     string
		id       func(e *testEnv, other string) string
		json     bool
		loggedIn bool
		wantCode int
		deleted  bool
	}{
		{name: "by id", id: func(e *testEnv, _ string) string { return e.PATID }, loggedIn: true, deleted: true},
		{name: "by suffix, JSON", id: func(e *testEnv, _ string) string { return e.PATID[len(e.PATID)-6:] }, json: true, loggedIn: true, deleted: true},
		{name: "no match", id: func(*testEnv, string) string { return "nosuchid" }, loggedIn: true, wantCode: exit.Error},
		{name: "a coda token never matches", id: func(e *testEnv, _ string) string { return e.State().Profile("default").TokenID }, loggedIn: true, wantCode: exit.Error},
		{name: "not logged in", id: func(e *testEnv, _ string) string { return e.PATID }, wantCode: exit.Auth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			_, other := e.Srv.IssuePAT(cmdtest.User, "ci", 0)
			if tt.loggedIn {
				e.Login()
			}
			before := e.State().Profile("default")
			args := []string{"--pasted", tt.id(e, other)}
			if tt.json {
				args = append(args, "-o", "json")
			}
			e.Srv.ResetRequests()
			res := e.Run(args...)
			if res.Code() != tt.wantCode {
				t.Fatalf("err = %v (exit %d), want exit %d\n%s", res.Err, res.Code(), tt.wantCode, res.ErrOut)
			}
			e.AssertNoSecrets(res.Out, res.ErrOut)
			if e.IsLive(e.PATID) == tt.deleted || !e.IsLive(other) {
				t.Errorf("pasted live %v, other live %v; want the pasted one deleted: %v", e.IsLive(e.PATID), e.IsLive(other), tt.deleted)
			}
			if tt.loggedIn {
				// The login stays as it was.
				if p := e.State().Profile("default"); p == nil || p.TokenID != before.TokenID || !e.IsLive(p.TokenID) {
					t.Errorf("the login changed: %v", p)
				}
				for _, r := range e.Srv.Requests() {
					if r.TokenID != before.TokenID {
						t.Errorf("%s %s authenticated with %q, want coda's token", r.Method, r.Path, r.TokenID)
					}
				}
			}
			switch {
			case tt.wantCode == exit.Error:
				if !strings.Contains(res.Err.Error(), "0 of your tokens match the id") ||
					!strings.Contains(res.ErrOut, redact.Suffix(e.PATID)) || !strings.Contains(res.ErrOut, redact.Suffix(other)) {
					t.Errorf("err = %v, stderr:\n%s", res.Err, res.ErrOut)
				}
			case tt.json:
				m := cmdtest.DecodeJSON(t, res.Out)
				if m["revoked_pasted_token_id"] != redact.Suffix(e.PATID) || m["profile"] != "default" {
					t.Errorf("JSON = %v", m)
				}
			case tt.deleted:
				if res.Out != "Revoked the pasted token "+redact.Suffix(e.PATID)+".\n" {
					t.Errorf("stdout = %q", res.Out)
				}
			}
		})
	}
}
