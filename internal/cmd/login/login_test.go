package login

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/clock"
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

type fakePrompter struct {
	mu       sync.Mutex
	defaults []string // the default host of every call
	host     string   // returned host; "" returns the default
	token    string
	err      error
}

func (p *fakePrompter) Login(defaultHost string) (string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.defaults = append(p.defaults, defaultHost)
	host := p.host
	if host == "" {
		host = defaultHost
	}
	return host, p.token, p.err
}

func (p *fakePrompter) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.defaults...)
}

type testEnv struct {
	t        *testing.T
	srv      *fakeworkspace.Server
	clock    *clock.Fake
	dir      string
	env      map[string]string
	tty      bool
	stdin    string
	prompter *fakePrompter
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
	dir := t.TempDir()
	return &testEnv{
		t: t, srv: srv, clock: clk, dir: dir,
		env:      map[string]string{"CODA_CONFIG_DIR": dir},
		prompter: &fakePrompter{},
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
	err := cmd.ExecuteContext(context.Background())
	return runResult{out: out.String(), errOut: errOut.String(), err: err}
}

func (e *testEnv) run(args ...string) runResult {
	e.t.Helper()
	return e.exec(func(f *cmdutil.Factory) *cobra.Command { return NewCmdLogin(f, nil) }, args...)
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

// ---- flag parsing ----

func TestNewCmdLoginFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		config   string
		want     Options
		wantCode int // 0: runF called with want
	}{
		{name: "defaults", want: Options{Lifetime: 15 * time.Minute}},
		{name: "host", args: []string{"--host", "https://x.example.com"}, want: Options{Host: "https://x.example.com", Lifetime: 15 * time.Minute}},
		{name: "token-stdin", args: []string{"--token-stdin"}, want: Options{TokenStdin: true, Lifetime: 15 * time.Minute}},
		{name: "lifetime", args: []string{"--lifetime", "30m"}, want: Options{Lifetime: 30 * time.Minute}},
		{name: "revoke-pasted bare", args: []string{"--revoke-pasted"}, want: Options{RevokePasted: "auto", Lifetime: 15 * time.Minute}},
		{name: "revoke-pasted with id", args: []string{"--revoke-pasted=abc123"}, want: Options{RevokePasted: "abc123", Lifetime: 15 * time.Minute}},
		{name: "all flags", args: []string{"--host", "h", "--token-stdin", "--lifetime", "1m", "--revoke-pasted=9f"},
			want: Options{Host: "h", TokenStdin: true, Lifetime: time.Minute, RevokePasted: "9f"}},
		{name: "CODA_LIFETIME feeds default", env: map[string]string{"CODA_LIFETIME": "20m"}, want: Options{Lifetime: 20 * time.Minute}},
		{name: "config.yaml feeds default", config: "lifetime: 25m\n", want: Options{Lifetime: 25 * time.Minute}},
		{name: "CODA_LIFETIME beats config.yaml", env: map[string]string{"CODA_LIFETIME": "20m"}, config: "lifetime: 25m\n", want: Options{Lifetime: 20 * time.Minute}},
		{name: "flag beats CODA_LIFETIME", args: []string{"--lifetime", "5m"}, env: map[string]string{"CODA_LIFETIME": "20m"}, want: Options{Lifetime: 5 * time.Minute}},
		{name: "flag beats config.yaml", args: []string{"--lifetime", "5m"}, config: "lifetime: 25m\n", want: Options{Lifetime: 5 * time.Minute}},
		{name: "lifetime below 1m", args: []string{"--lifetime", "30s"}, wantCode: exit.Usage},
		{name: "lifetime zero", args: []string{"--lifetime", "0s"}, wantCode: exit.Usage},
		{name: "CODA_LIFETIME below 1m", env: map[string]string{"CODA_LIFETIME": "10s"}, wantCode: exit.Usage},
		{name: "CODA_LIFETIME not a duration", env: map[string]string{"CODA_LIFETIME": "soon"}, wantCode: exit.Usage},
		{name: "config.yaml lifetime not a duration", config: "lifetime: forever\n", wantCode: exit.Usage},
		{name: "positional argument", args: []string{"dapi123"}, wantCode: exit.Error},
		{name: "revoke-pasted id needs =", args: []string{"--revoke-pasted", "abc"}, wantCode: exit.Error},
		{name: "unknown flag", args: []string{"--token", "x"}, wantCode: exit.Error},
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
				return NewCmdLogin(f, func(_ context.Context, o *Options) error {
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
					t.Errorf("runF was called with %+v", *got)
				}
				return
			}
			if res.err != nil {
				t.Fatalf("err = %v", res.err)
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if got.F == nil {
				t.Error("Options.F is nil")
			}
			got.F = nil
			if *got != tt.want {
				t.Errorf("Options = %+v, want %+v", *got, tt.want)
			}
			if len(e.srv.Requests()) != 0 {
				t.Errorf("flag parsing made requests: %+v", e.srv.Requests())
			}
		})
	}
}

// ---- run ----

func TestLoginPromptDefaultHost(t *testing.T) {
	const envHost = "https://env.example.com"
	const profileHost = "https://profile.example.com"
	tests := []struct {
		name        string
		flagHost    bool // pass --host with the fake's URL
		envHost     bool
		profileHost bool
		want        string // "" means the fake's URL
	}{
		{name: "from --host", flagHost: true, envHost: true, profileHost: true},
		{name: "from DATABRICKS_HOST", envHost: true, profileHost: true, want: envHost},
		{name: "from the stored profile", profileHost: true, want: profileHost},
		{name: "none", want: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			pat, _ := e.srv.IssuePAT(testUser, "laptop", 0)
			e.tty = true
			e.prompter.host, e.prompter.token = e.srv.URL(), pat
			var args []string
			if tt.flagHost {
				args = append(args, "--host", e.srv.URL())
			}
			if tt.envHost {
				e.env["DATABRICKS_HOST"] = envHost
			}
			if tt.profileHost {
				err := store.NewFileStore(e.dir).Update(context.Background(), func(s *store.State) error {
					s.Profiles["default"] = &store.Profile{Host: profileHost, User: testUser,
						Token: "stale-token-value", TokenID: "0123456789abcdef", ExpiresAt: t0.Add(-time.Hour)}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			want := tt.want
			switch want {
			case "":
				want = e.srv.URL()
			case "-":
				want = ""
			}

			res := e.run(args...)
			if res.err != nil {
				t.Fatalf("login: %v\nstderr: %s", res.err, res.errOut)
			}
			if got := e.prompter.calls(); len(got) != 1 || got[0] != want {
				t.Errorf("prompter called with %q, want [%q]", got, want)
			}
			e.assertNoSecrets(res.out, res.errOut)
			if strings.Contains(res.out+res.errOut, pat) {
				t.Error("the pasted token was printed")
			}
			p := e.state().Profile("default")
			if p == nil || p.Host != e.srv.URL() || p.User != testUser || !p.HasToken() || p.Token == pat {
				t.Fatalf("stored profile = %v", p)
			}
			if !strings.Contains(res.out, "Logged in to "+e.srv.URL()+" as "+testUser) {
				t.Errorf("stdout = %q", res.out)
			}
		})
	}
}

func TestLoginPromptError(t *testing.T) {
	e := newTestEnv(t)
	e.tty = true
	e.prompter.err = &exit.SilentError{Code: exit.Interrupted}
	res := e.run("--host", e.srv.URL())
	if res.code() != exit.Interrupted {
		t.Fatalf("err = %v (exit %d), want exit %d", res.err, res.code(), exit.Interrupted)
	}
	if len(e.srv.Requests()) != 0 {
		t.Errorf("requests after an aborted prompt: %+v", e.srv.Requests())
	}
}

func TestLoginNoTTYNeedsTokenStdin(t *testing.T) {
	e := newTestEnv(t)
	e.srv.IssuePAT(testUser, "laptop", 0)
	e.tty = false
	e.env["DATABRICKS_HOST"] = e.srv.URL()
	res := e.run("--host", e.srv.URL())
	if res.code() != exit.Usage {
		t.Fatalf("err = %v (exit %d), want exit 2", res.err, res.code())
	}
	if !strings.Contains(res.err.Error(), "--token-stdin") {
		t.Errorf("error does not point at --token-stdin: %v", res.err)
	}
	if calls := e.prompter.calls(); len(calls) != 0 {
		t.Errorf("prompter called %d times without a terminal", len(calls))
	}
	if len(e.srv.Requests()) != 0 {
		t.Errorf("requests: %+v", e.srv.Requests())
	}
	if _, err := os.Stat(filepath.Join(e.dir, store.FileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("credentials file exists after a refused login: %v", err)
	}
}

func TestLoginTokenStdinWinsOverPrompt(t *testing.T) {
	e := newTestEnv(t)
	pat, _ := e.srv.IssuePAT(testUser, "laptop", 0)
	e.tty = true
	e.stdin = pat + "\n"
	res := e.run("--host", e.srv.URL(), "--token-stdin")
	if res.err != nil {
		t.Fatalf("login: %v", res.err)
	}
	if calls := e.prompter.calls(); len(calls) != 0 {
		t.Errorf("prompter called although --token-stdin was given: %q", calls)
	}
}

func TestLoginTokenStdin(t *testing.T) {
	tests := []struct {
		name     string
		stdin    func(pat string) string
		host     bool // pass --host
		wantCode int
	}{
		{name: "trims spaces and newline", stdin: func(p string) string { return "  " + p + " \n" }, host: true},
		{name: "CRLF", stdin: func(p string) string { return p + "\r\n" }, host: true},
		{name: "two words", stdin: func(p string) string { return p + " " + p }, host: true, wantCode: exit.Usage},
		{name: "two lines", stdin: func(p string) string { return p + "\nsecond\n" }, host: true, wantCode: exit.Usage},
		{name: "empty", stdin: func(string) string { return " \n" }, host: true, wantCode: exit.Usage},
		{name: "no host anywhere", stdin: func(p string) string { return p }, wantCode: exit.Usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			pat, patID := e.srv.IssuePAT(testUser, "laptop", 0)
			e.stdin = tt.stdin(pat)
			args := []string{"--token-stdin"}
			if tt.host {
				args = append(args, "--host", e.srv.URL())
			}
			res := e.run(args...)
			e.assertNoSecrets(res.out, res.errOut)
			if res.err != nil {
				e.assertNoSecrets(res.err.Error())
			}
			if tt.wantCode != 0 {
				if res.code() != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want exit %d", res.err, res.code(), tt.wantCode)
				}
				if len(e.srv.Requests()) != 0 {
					t.Errorf("requests after bad input: %+v", e.srv.Requests())
				}
				return
			}
			if res.err != nil {
				t.Fatalf("login: %v\nstderr: %s", res.err, res.errOut)
			}
			p := e.state().Profile("default")
			if !p.HasToken() || p.Token == pat || p.TokenID == patID {
				t.Fatalf("stored profile = %v, want coda's own token", p)
			}
			if !p.ExpiresAt.Equal(t0.Add(15 * time.Minute)) {
				t.Errorf("ExpiresAt = %s, want %s", p.ExpiresAt, t0.Add(15*time.Minute))
			}
			if !e.isLive(patID) {
				t.Error("the pasted PAT was deleted without --revoke-pasted")
			}
			if !strings.Contains(res.errOut, "pasted token was left as it is") {
				t.Errorf("stderr = %q", res.errOut)
			}
			// The pasted PAT authenticated Me and Create; nothing else.
			for _, r := range e.srv.Requests() {
				if r.TokenID != patID {
					t.Errorf("request %s %s authenticated by %q, want the pasted PAT", r.Method, r.Path, r.TokenID)
				}
			}
		})
	}
}

func TestLoginLifetimeAndTag(t *testing.T) {
	e := newTestEnv(t)
	pat, _ := e.srv.IssuePAT(testUser, "laptop", 0)
	e.stdin = pat
	e.env["CODA_LIFETIME"] = "40m"
	res := e.run("-p", "work", "--host", e.srv.URL(), "--token-stdin")
	if res.err != nil {
		t.Fatalf("login: %v", res.err)
	}
	st := e.state()
	p := st.Profile("work")
	if p == nil || !p.ExpiresAt.Equal(t0.Add(40*time.Minute)) {
		t.Fatalf("profile work = %v, want expiry %s", p, t0.Add(40*time.Minute))
	}
	var comment string
	for _, ti := range e.srv.LiveTokens(testUser) {
		if ti.ID == p.TokenID {
			comment = ti.Comment
		}
	}
	tag, ok := rotation.ParseTag(comment)
	if !ok || tag.Profile != "work" || tag.InstallationID != st.InstallationID {
		t.Errorf("coda token comment = %q, want a tag for profile work and installation %s", comment, st.InstallationID)
	}
}

func TestLoginInvalidPAT(t *testing.T) {
	e := newTestEnv(t)
	_, revokedID := e.srv.IssuePAT(testUser, "old", 0)
	e.srv.RevokeToken(revokedID)
	tests := []struct{ name, token string }{
		{"unknown", "dapi00000000000000000000000000000000"},
		{"revoked", e.srv.MintedValues()[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.stdin = tt.token
			res := e.run("--host", e.srv.URL(), "--token-stdin")
			if res.code() != exit.Auth {
				t.Fatalf("err = %v (exit %d), want exit 4", res.err, res.code())
			}
			if strings.Contains(res.err.Error(), tt.token) {
				t.Error("the error quotes the token")
			}
			if !strings.Contains(res.err.Error(), "rejected the token") {
				t.Errorf("error = %v", res.err)
			}
			if _, err := os.Stat(filepath.Join(e.dir, store.FileName)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("credentials file written after a rejected token: %v", err)
			}
		})
	}
}

func TestLoginKeepsPendingOfSameHost(t *testing.T) {
	e := newTestEnv(t)
	pat, _ := e.srv.IssuePAT(testUser, "laptop", 0)
	e.stdin = pat
	if res := e.run("--host", e.srv.URL(), "--token-stdin"); res.err != nil {
		t.Fatal(res.err)
	}
	first := e.state().Profile("default")
	e.stdin = pat
	if res := e.run("--host", e.srv.URL(), "--token-stdin"); res.err != nil {
		t.Fatal(res.err)
	}
	second := e.state().Profile("default")
	if second.TokenID == first.TokenID {
		t.Fatal("second login kept the old token")
	}
	if len(second.Pending) != 1 || second.Pending[0].TokenID != first.TokenID {
		t.Errorf("pending = %+v, want the first coda token", second.Pending)
	}
	if !e.isLive(first.TokenID) {
		t.Error("the previous coda token was deleted at once; it must wait for the grace")
	}
}

func TestLoginRevokePasted(t *testing.T) {
	e := newTestEnv(t)
	patA, idA := e.srv.IssuePAT(testUser, "laptop", 0)
	_, idB := e.srv.IssuePAT(testUser, "ci", 0)

	// Two recent user tokens: auto mode refuses to guess.
	e.stdin = patA
	res := e.run("--host", e.srv.URL(), "--token-stdin", "--revoke-pasted")
	if res.err == nil || res.code() != exit.Error {
		t.Fatalf("ambiguous auto revoke: err = %v (exit %d), want exit 1", res.err, res.code())
	}
	if !strings.Contains(res.err.Error(), "2 tokens") {
		t.Errorf("error = %v", res.err)
	}
	if !e.isLive(idA) || !e.isLive(idB) {
		t.Fatal("a token was deleted although the choice was ambiguous")
	}
	if !strings.Contains(res.errOut, redact.Suffix(idA)) || !strings.Contains(res.errOut, redact.Suffix(idB)) {
		t.Errorf("stderr does not list both candidates:\n%s", res.errOut)
	}
	for _, id := range []string{idA, idB} {
		if strings.Contains(res.out+res.errOut, id[:len(id)-4]) {
			t.Errorf("output shows more than the last 4 characters of %s", id)
		}
	}
	if !e.state().Profile("default").HasToken() {
		t.Error("login did not store its token although only the revoke failed")
	}

	// A suffix of a coda token's id matches nothing: coda's own are never candidates.
	codaID := e.state().Profile("default").TokenID
	e.stdin = patA
	res = e.run("--host", e.srv.URL(), "--token-stdin", "--revoke-pasted="+codaID[len(codaID)-6:])
	if res.err == nil || !strings.Contains(res.err.Error(), "0 of your tokens match") {
		t.Fatalf("revoke by coda token id: err = %v", res.err)
	}
	if !e.isLive(codaID) {
		t.Error("a coda token was deleted as the pasted one")
	}

	// Pick B by the last 6 characters of its id (logged in with A).
	e.stdin = patA
	res = e.run("--host", e.srv.URL(), "--token-stdin", "--revoke-pasted="+idB[len(idB)-6:])
	if res.err != nil {
		t.Fatalf("revoke by suffix: %v\nstderr: %s", res.err, res.errOut)
	}
	if e.isLive(idB) {
		t.Error("token B is still live")
	}
	if !e.isLive(idA) {
		t.Error("token A was deleted; only B was named")
	}
	if !strings.Contains(res.out, "Revoked the pasted token "+redact.Suffix(idB)+".") {
		t.Errorf("stdout = %q", res.out)
	}

	// Now A is the only recent user token, among several recent coda
	// tokens: auto mode deletes exactly A.
	codaBefore := 0
	for _, ti := range e.srv.LiveTokens(testUser) {
		if rotation.IsCodaComment(ti.Comment) {
			codaBefore++
		}
	}
	if codaBefore < 2 {
		t.Fatalf("want several live coda tokens before the auto revoke, have %d", codaBefore)
	}
	e.stdin = patA
	res = e.run("--host", e.srv.URL(), "--token-stdin", "--revoke-pasted", "-o", "json")
	if res.err != nil {
		t.Fatalf("auto revoke: %v\nstderr: %s", res.err, res.errOut)
	}
	if e.isLive(idA) {
		t.Error("the pasted token A is still live")
	}
	for _, ti := range e.srv.LiveTokens(testUser) {
		if !rotation.IsCodaComment(ti.Comment) {
			t.Errorf("user token %s survived", ti.ID)
		}
	}
	if n := len(e.srv.LiveTokens(testUser)); n != codaBefore+1 {
		t.Errorf("%d live tokens, want the %d coda tokens plus the new one", n, codaBefore)
	}
	m := decodeJSON(t, res.out)
	if m["pasted_token"] != "revoked" || m["revoked_token_id"] != redact.Suffix(idA) {
		t.Errorf("JSON = %v", m)
	}
	e.assertNoSecrets(res.out, res.errOut)
}

func TestLoginRevokePastedSingleCandidate(t *testing.T) {
	e := newTestEnv(t)
	pat, id := e.srv.IssuePAT(testUser, "laptop", 0)
	e.stdin = pat
	res := e.run("--host", e.srv.URL(), "--token-stdin", "--revoke-pasted")
	if res.err != nil {
		t.Fatalf("login: %v\nstderr: %s", res.err, res.errOut)
	}
	if e.isLive(id) {
		t.Error("the pasted token is still live")
	}
	live := e.srv.LiveTokens(testUser)
	if len(live) != 1 || live[0].ID != e.state().Profile("default").TokenID {
		t.Errorf("live tokens = %+v, want only coda's", live)
	}
	// Delete was authenticated by coda's token, not the pasted one.
	reqs := e.srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != fakeworkspace.PathTokenDelete || last.TokenID != e.state().Profile("default").TokenID {
		t.Errorf("last request = %+v, want a delete with coda's token", last)
	}
}

func TestLoginRevokePastedIgnoresOldTokens(t *testing.T) {
	e := newTestEnv(t)
	pat, id := e.srv.IssuePAT(testUser, "laptop", 0)
	e.clock.Advance(2 * time.Hour)
	e.stdin = pat
	res := e.run("--host", e.srv.URL(), "--token-stdin", "--revoke-pasted")
	if res.err == nil || res.code() != exit.Error {
		t.Fatalf("err = %v (exit %d), want exit 1", res.err, res.code())
	}
	if !strings.Contains(res.err.Error(), "0 tokens coda did not create were made in the last hour") {
		t.Errorf("error = %v", res.err)
	}
	if !e.isLive(id) {
		t.Error("a PAT older than an hour was deleted in auto mode")
	}
	if !e.state().Profile("default").Live(e.clock.Now()) {
		t.Error("login did not store a live token")
	}

	// Named explicitly, an old token is fair game.
	e.stdin = pat
	res = e.run("--host", e.srv.URL(), "--token-stdin", "--revoke-pasted="+id[len(id)-6:])
	if res.err != nil {
		t.Fatalf("explicit revoke: %v", res.err)
	}
	if e.isLive(id) {
		t.Error("the named PAT is still live")
	}
}

func TestLoginJSON(t *testing.T) {
	e := newTestEnv(t)
	pat, _ := e.srv.IssuePAT(testUser, "laptop", 0)
	e.stdin = pat
	res := e.run("-o", "json", "--host", e.srv.URL(), "--token-stdin", "--lifetime", "20m")
	if res.err != nil {
		t.Fatalf("login: %v", res.err)
	}
	m := decodeJSON(t, res.out)
	p := e.state().Profile("default")
	want := map[string]any{
		"profile": "default", "host": e.srv.URL(), "user": testUser,
		"token_id": redact.Suffix(p.TokenID), "expires_at": t0.Add(20 * time.Minute).Format(time.RFC3339),
		"pasted_token": "kept",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["revoked_token_id"]; ok {
		t.Error("revoked_token_id present although nothing was revoked")
	}
	e.assertNoSecrets(res.out, res.errOut)
}
