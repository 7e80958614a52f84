package login

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
)

// ---- test harness (shared: internal/cmd/cmdtest) ----

type fakePrompter struct {
	mu      sync.Mutex
	prompts []cmdutil.LoginPrompt // every Login call
	host    string                // returned host; "" returns the prefilled one
	token   string
	err     error
	choice  string             // what Choose answers
	shown   [][]cmdutil.Option // the options of every Choose
	replace bool               // what Confirm answers to "Replace that login?"
	setup   bool               // what Confirm answers to the coda setup --all offer
	asked   []string           // the title of every Confirm
}

func (p *fakePrompter) Login(lp cmdutil.LoginPrompt) (string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prompts = append(p.prompts, lp)
	host := p.host
	if host == "" || lp.HostFixed {
		host = lp.Host
	}
	return host, p.token, p.err
}

// Choose answers with choice and records the options it was shown.
func (p *fakePrompter) Choose(title string, options []cmdutil.Option) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown = append(p.shown, options)
	return p.choice, p.err
}

// Confirm answers replace or setup, by the question, and records it.
func (p *fakePrompter) Confirm(title string, def bool) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, title)
	switch {
	case p.err != nil:
		return false, p.err
	case strings.Contains(title, "Replace that login?") && !def:
		return p.replace, nil
	case strings.Contains(title, "coda setup --all") && def:
		return p.setup, nil
	}
	return false, fmt.Errorf("unexpected question %q (default %v)", title, def)
}

// calls returns the prefilled host of every Login call.
func (p *fakePrompter) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, lp := range p.prompts {
		out = append(out, lp.Host)
	}
	return out
}

func (p *fakePrompter) questions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...)
}

type testEnv struct {
	*cmdtest.Env
	prompter *fakePrompter
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{Env: cmdtest.New(t, cmdtest.Cmd(NewCmdLogin)), prompter: &fakePrompter{}}
	e.Prompter = e.prompter
	return e
}

// ---- flag parsing ----

func TestNewCmdLoginFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		config   string
		want     Options
		lifetime time.Duration // the lifetime in force
		wantCode int           // 0: runF called with want
	}{
		{name: "defaults", want: Options{}, lifetime: 15 * time.Minute},
		{name: "host", args: []string{"--host", "https://x.example.com"}, want: Options{Host: "https://x.example.com"}, lifetime: 15 * time.Minute},
		{name: "token-stdin", args: []string{"--token-stdin"}, want: Options{TokenStdin: true}, lifetime: 15 * time.Minute},
		{name: "lifetime", args: []string{"--lifetime", "30m"}, want: Options{}, lifetime: 30 * time.Minute},
		{name: "revoke-pasted bare needs a terminal", args: []string{"--revoke-pasted"}, wantCode: exit.Usage},
		{name: "revoke-pasted empty", args: []string{"--revoke-pasted="}, wantCode: exit.Usage},
		{name: "revoke-pasted with id", args: []string{"--revoke-pasted=abc123"}, want: Options{RevokePasted: "abc123"}, lifetime: 15 * time.Minute},
		{name: "all flags", args: []string{"--host", "h", "--token-stdin", "--lifetime", "1m", "--revoke-pasted=9f"},
			want: Options{Host: "h", TokenStdin: true, RevokePasted: "9f"}, lifetime: time.Minute},
		{name: "CODA_LIFETIME feeds default", env: map[string]string{"CODA_LIFETIME": "20m"}, want: Options{}, lifetime: 20 * time.Minute},
		{name: "config.yaml feeds default", config: "lifetime: 25m\n", want: Options{}, lifetime: 25 * time.Minute},
		{name: "CODA_LIFETIME beats config.yaml", env: map[string]string{"CODA_LIFETIME": "20m"}, config: "lifetime: 25m\n", want: Options{}, lifetime: 20 * time.Minute},
		{name: "flag beats CODA_LIFETIME", args: []string{"--lifetime", "5m"}, env: map[string]string{"CODA_LIFETIME": "20m"}, want: Options{}, lifetime: 5 * time.Minute},
		{name: "flag beats config.yaml", args: []string{"--lifetime", "5m"}, config: "lifetime: 25m\n", want: Options{}, lifetime: 5 * time.Minute},
		{name: "lifetime below 1m", args: []string{"--lifetime", "30s"}, wantCode: exit.Usage},
		{name: "lifetime zero", args: []string{"--lifetime", "0s"}, wantCode: exit.Usage},
		{name: "CODA_LIFETIME below 1m", env: map[string]string{"CODA_LIFETIME": "10s"}, wantCode: exit.Usage},
		{name: "CODA_LIFETIME not a duration", env: map[string]string{"CODA_LIFETIME": "soon"}, wantCode: exit.Usage},
		{name: "config.yaml lifetime not a duration", config: "lifetime: forever\n", wantCode: exit.Usage},
		{name: "positional argument: a pasted token is refused, never echoed", args: []string{"dapi0123456789abcdef"}, wantCode: exit.Usage},
		{name: "revoke-pasted id needs =", args: []string{"--revoke-pasted", "abc"}, wantCode: exit.Usage},
		{name: "unknown flag", args: []string{"--token", "x"}, wantCode: exit.Error},
		{name: "force", args: []string{"--force"}, want: Options{Force: true}, lifetime: 15 * time.Minute},
		{name: "databricks-profile", args: []string{"--databricks-profile", "work"}, want: Options{DatabricksProfile: "work"}, lifetime: 15 * time.Minute},
		{name: "DATABRICKS_CONFIG_PROFILE alone names the profile", env: map[string]string{"DATABRICKS_CONFIG_PROFILE": "work"},
			want: Options{DatabricksProfile: "work"}, lifetime: 15 * time.Minute},
		{name: "DATABRICKS_CONFIG_PROFILE is ignored with --host", args: []string{"--host", "h"}, env: map[string]string{"DATABRICKS_CONFIG_PROFILE": "work"},
			want: Options{Host: "h"}, lifetime: 15 * time.Minute},
		{name: "DATABRICKS_CONFIG_PROFILE is ignored with --token-stdin", args: []string{"--token-stdin"}, env: map[string]string{"DATABRICKS_CONFIG_PROFILE": "work"},
			want: Options{TokenStdin: true}, lifetime: 15 * time.Minute},
		{name: "the flag beats DATABRICKS_CONFIG_PROFILE", args: []string{"--databricks-profile", "a"}, env: map[string]string{"DATABRICKS_CONFIG_PROFILE": "b"},
			want: Options{DatabricksProfile: "a"}, lifetime: 15 * time.Minute},
		{name: "databricks-profile empty", args: []string{"--databricks-profile="}, wantCode: exit.Usage},
		{name: "databricks-profile with --host", args: []string{"--databricks-profile", "w", "--host", "h"}, wantCode: exit.Usage},
		{name: "databricks-profile with --token-stdin", args: []string{"--databricks-profile", "w", "--token-stdin"}, wantCode: exit.Usage},
		{name: "databricks-profile with --revoke-pasted", args: []string{"--databricks-profile", "w", "--revoke-pasted=9f"}, wantCode: exit.Usage},
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
			res, got := cmdtest.Parse(e.Env, NewCmdLogin, tt.args...)
			var lifetime time.Duration
			if res.Err == nil && got != nil {
				// The policy is checked when the engine resolves it.
				if in, err := cmdtest.InForce(got.Timing); err != nil {
					res.Err = err
				} else {
					lifetime = in.LifetimeD()
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
			if got == nil {
				t.Fatal("runF not called")
			}
			if got.F == nil {
				t.Error("Options.F is nil")
			}
			g := [5]any{got.Host, got.TokenStdin, got.RevokePasted, got.DatabricksProfile, got.Force}
			if w := [5]any{tt.want.Host, tt.want.TokenStdin, tt.want.RevokePasted, tt.want.DatabricksProfile, tt.want.Force}; g != w || lifetime != tt.lifetime {
				t.Errorf("Options = %v, lifetime %s; want %v, %s", g, lifetime, w, tt.lifetime)
			}
			if len(e.Srv.Requests()) != 0 {
				t.Errorf("flag parsing made requests: %+v", e.Srv.Requests())
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
			pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
			e.TTY = true
			e.prompter.host, e.prompter.token = e.Srv.URL(), pat
			var args []string
			if tt.flagHost {
				args = append(args, "--host", e.Srv.URL())
			}
			if tt.envHost {
				e.Vars["DATABRICKS_HOST"] = envHost
			}
			if tt.profileHost {
				err := store.NewFileStore(e.Dir).Update(context.Background(), func(s *store.State) error {
					s.Profiles["default"] = &store.Profile{Host: profileHost, User: cmdtest.User,
						Token: "stale-token-value", TokenID: "0123456789abcdef", ExpiresAt: cmdtest.T0.Add(-time.Hour)}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			want := tt.want
			switch want {
			case "":
				want = e.Srv.URL()
			case "-":
				want = ""
			}

			res := e.Run(args...)
			if res.Err != nil {
				t.Fatalf("login: %v\nstderr: %s", res.Err, res.ErrOut)
			}
			if got := e.prompter.calls(); len(got) != 1 || got[0] != want {
				t.Errorf("prompter called with %q, want [%q]", got, want)
			} else if fixed := e.prompter.prompts[0].HostFixed; fixed != tt.flagHost {
				// --host is not asked again; a host from elsewhere is only prefilled.
				t.Errorf("HostFixed = %v, want %v", fixed, tt.flagHost)
			}
			e.AssertNoSecrets(res.Out, res.ErrOut)
			if strings.Contains(res.Out+res.ErrOut, pat) {
				t.Error("the pasted token was printed")
			}
			p := e.State().Profile("default")
			if p == nil || p.Host != e.Srv.URL() || p.User != cmdtest.User || !p.HasToken() || p.Token == pat {
				t.Fatalf("stored profile = %v", p)
			}
			if !strings.Contains(res.Out, "Logged in to "+e.Srv.URL()+" as "+cmdtest.User) {
				t.Errorf("stdout = %q", res.Out)
			}
		})
	}
}

func TestLoginPromptError(t *testing.T) {
	e := newTestEnv(t)
	e.TTY = true
	e.prompter.err = &exit.SilentError{Code: exit.Interrupted}
	res := e.Run("--host", e.Srv.URL())
	if res.Code() != exit.Interrupted {
		t.Fatalf("err = %v (exit %d), want exit %d", res.Err, res.Code(), exit.Interrupted)
	}
	if len(e.Srv.Requests()) != 0 {
		t.Errorf("requests after an aborted prompt: %+v", e.Srv.Requests())
	}
}

func TestLoginNoTTYNeedsTokenStdin(t *testing.T) {
	e := newTestEnv(t)
	e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	e.TTY = false
	e.Vars["DATABRICKS_HOST"] = e.Srv.URL()
	res := e.Run("--host", e.Srv.URL())
	if res.Code() != exit.Usage {
		t.Fatalf("err = %v (exit %d), want exit 2", res.Err, res.Code())
	}
	if !strings.Contains(res.Err.Error(), "--token-stdin") {
		t.Errorf("error does not point at --token-stdin: %v", res.Err)
	}
	if calls := e.prompter.calls(); len(calls) != 0 {
		t.Errorf("prompter called %d times without a terminal", len(calls))
	}
	if len(e.Srv.Requests()) != 0 {
		t.Errorf("requests: %+v", e.Srv.Requests())
	}
	if _, err := os.Stat(filepath.Join(e.Dir, store.FileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("credentials file exists after a refused login: %v", err)
	}
}

func TestLoginTokenStdinWinsOverPrompt(t *testing.T) {
	e := newTestEnv(t)
	pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	e.TTY = true
	e.Stdin = pat + "\n"
	res := e.Run("--host", e.Srv.URL(), "--token-stdin")
	if res.Err != nil {
		t.Fatalf("login: %v", res.Err)
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
			pat, patID := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
			e.Stdin = tt.stdin(pat)
			args := []string{"--token-stdin"}
			if tt.host {
				args = append(args, "--host", e.Srv.URL())
			}
			res := e.Run(args...)
			e.AssertNoSecrets(res.Out, res.ErrOut)
			if res.Err != nil {
				e.AssertNoSecrets(res.Err.Error())
			}
			if tt.wantCode != 0 {
				if res.Code() != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want exit %d", res.Err, res.Code(), tt.wantCode)
				}
				if len(e.Srv.Requests()) != 0 {
					t.Errorf("requests after bad input: %+v", e.Srv.Requests())
				}
				return
			}
			if res.Err != nil {
				t.Fatalf("login: %v\nstderr: %s", res.Err, res.ErrOut)
			}
			p := e.State().Profile("default")
			if !p.HasToken() || p.Token == pat || p.TokenID == patID {
				t.Fatalf("stored profile = %v, want coda's own token", p)
			}
			if !p.ExpiresAt.Equal(cmdtest.T0.Add(15 * time.Minute)) {
				t.Errorf("ExpiresAt = %s, want %s", p.ExpiresAt, cmdtest.T0.Add(15*time.Minute))
			}
			if !e.IsLive(patID) {
				t.Error("the pasted PAT was deleted without --revoke-pasted")
			}
			if !strings.Contains(res.ErrOut, "pasted token was left as it is") {
				t.Errorf("stderr = %q", res.ErrOut)
			}
			// The pasted PAT authenticated Me and Create; nothing else.
			for _, r := range e.Srv.Requests() {
				if r.TokenID != patID {
					t.Errorf("request %s %s authenticated by %q, want the pasted PAT", r.Method, r.Path, r.TokenID)
				}
			}
		})
	}
}

func TestLoginLifetimeAndTag(t *testing.T) {
	e := newTestEnv(t)
	pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	e.Stdin = pat
	e.Vars["CODA_LIFETIME"] = "40m"
	res := e.Run("-p", "work", "--host", e.Srv.URL(), "--token-stdin")
	if res.Err != nil {
		t.Fatalf("login: %v", res.Err)
	}
	st := e.State()
	p := st.Profile("work")
	if p == nil || !p.ExpiresAt.Equal(cmdtest.T0.Add(40*time.Minute)) {
		t.Fatalf("profile work = %v, want expiry %s", p, cmdtest.T0.Add(40*time.Minute))
	}
	var comment string
	for _, ti := range e.Srv.LiveTokens(cmdtest.User) {
		if ti.ID == p.TokenID {
			comment = ti.Comment
		}
	}
	tag, ok := lifecycle.ParseTag(comment)
	if !ok || tag.Profile != "work" || tag.InstallationID != st.InstallationID {
		t.Errorf("coda token comment = %q, want a tag for profile work and installation %s", comment, st.InstallationID)
	}
}

func TestLoginInvalidPAT(t *testing.T) {
	e := newTestEnv(t)
	_, revokedID := e.Srv.IssuePAT(cmdtest.User, "old", 0)
	e.Srv.RevokeToken(revokedID)
	tests := []struct{ name, token string }{
		{"unknown", "dapi00000000000000000000000000000000"},
		{"revoked", e.Srv.MintedValues()[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.Stdin = tt.token
			res := e.Run("--host", e.Srv.URL(), "--token-stdin")
			if res.Code() != exit.Auth {
				t.Fatalf("err = %v (exit %d), want exit 4", res.Err, res.Code())
			}
			if strings.Contains(res.Err.Error(), tt.token) {
				t.Error("the error quotes the token")
			}
			if !strings.Contains(res.Err.Error(), "rejected the token") {
				t.Errorf("error = %v", res.Err)
			}
			if _, err := os.Stat(filepath.Join(e.Dir, store.FileName)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("credentials file written after a rejected token: %v", err)
			}
		})
	}
}

func TestLoginKeepsPendingOfSameHost(t *testing.T) {
	e := newTestEnv(t)
	pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	e.Stdin = pat
	if res := e.Run("--host", e.Srv.URL(), "--token-stdin"); res.Err != nil {
		t.Fatal(res.Err)
	}
	first := e.State().Profile("default")
	e.Stdin = pat
	if res := e.Run("--host", e.Srv.URL(), "--token-stdin", "--force"); res.Err != nil {
		t.Fatal(res.Err)
	}
	second := e.State().Profile("default")
	if second.TokenID == first.TokenID {
		t.Fatal("second login kept the old token")
	}
	if len(second.Pending) != 1 || second.Pending[0].TokenID != first.TokenID {
		t.Errorf("pending = %+v, want the first coda token", second.Pending)
	}
	if !e.IsLive(first.TokenID) {
		t.Error("the previous coda token was deleted at once; it must wait for the grace")
	}
}

// The issue's case: the pasted PAT older than an hour and an unrelated
// "CI pipeline" token made a minute ago. coda never picks by heuristic:
// without a terminal the id is required (exit 2, before anything happens),
// and on a terminal it asks, listing the candidates.
func TestLoginRevokePastedNeverGuesses(t *testing.T) {
	e := newTestEnv(t)
	pat, pastedID := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	e.Clock.Advance(2 * time.Hour)
	_, ciID := e.Srv.IssuePAT(cmdtest.User, "CI pipeline", 0)
	e.Clock.Advance(time.Minute)

	e.Stdin = pat
	res := e.Run("--host", e.Srv.URL(), "--token-stdin", "--revoke-pasted")
	if res.Code() != exit.Usage || !strings.Contains(res.Err.Error(), "pass --revoke-pasted=TOKEN_ID") {
		t.Fatalf("no terminal: err = %v (exit %d), want exit 2", res.Err, res.Code())
	}
	if len(e.Srv.Requests()) != 0 || e.State().Profile("default") != nil {
		t.Fatal("the usage error came after requests or a login")
	}
	e.Stdin = pat
	if res := e.Run("--host", e.Srv.URL(), "--token-stdin", "--revoke-pasted="); res.Code() != exit.Usage {
		t.Fatalf("empty id: err = %v (exit %d), want exit 2", res.Err, res.Code())
	}

	// On a terminal coda asks; the person keeps them all.
	e.TTY = true
	e.prompter.replace = true // the logins after the first replace it
	e.Stdin = pat
	res = e.Run("--host", e.Srv.URL(), "--token-stdin", "--revoke-pasted")
	if res.Err != nil {
		t.Fatalf("ask, keep all: %v\n%s", res.Err, res.ErrOut)
	}
	if !e.IsLive(pastedID) || !e.IsLive(ciID) {
		t.Fatal("a token was deleted although the person chose none")
	}
	shown := e.prompter.shown[len(e.prompter.shown)-1]
	if len(shown) != 3 || shown[0].Value != "" || shown[1].Value != ciID || shown[2].Value != pastedID ||
		!strings.Contains(shown[1].Label, redact.Suffix(ciID)) || !strings.Contains(shown[1].Label, `"CI pipeline"`) ||
		!strings.Contains(shown[1].Label, "created ") || !strings.Contains(shown[1].Label, "never expires") ||
		strings.Contains(shown[1].Label, ciID[:len(ciID)-4]) {
		t.Errorf("options = %+v: want none, then the CI token, then the pasted one, each by suffix, created, expiry, comment", shown)
	}
	// The person picks the pasted token: exactly that one goes.
	e.prompter.choice = pastedID
	e.Stdin = pat
	res = e.Run("--host", e.Srv.URL(), "--token-stdin", "--revoke-pasted")
	if res.Err != nil {
		t.Fatalf("ask, choose: %v\n%s", res.Err, res.ErrOut)
	}
	if e.IsLive(pastedID) || !e.IsLive(ciID) {
		t.Errorf("pasted live %v, CI live %v: want only the chosen one deleted", e.IsLive(pastedID), e.IsLive(ciID))
	}
	if !strings.Contains(res.Out, "Revoked the pasted token "+redact.Suffix(pastedID)+".") {
		t.Errorf("stdout = %q", res.Out)
	}
	e.AssertNoSecrets(res.Out, res.ErrOut)
}

func TestLoginRevokePastedByID(t *testing.T) {
	e := newTestEnv(t)
	patA, idA := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	_, idB := e.Srv.IssuePAT(cmdtest.User, "ci", 0)

	// A suffix of a coda token's id matches nothing: coda's own are never candidates.
	e.Stdin = patA
	if res := e.Run("--host", e.Srv.URL(), "--token-stdin"); res.Err != nil {
		t.Fatal(res.Err)
	}
	codaID := e.State().Profile("default").TokenID
	e.Stdin = patA
	res := e.Run("--host", e.Srv.URL(), "--token-stdin", "--force", "--revoke-pasted="+codaID[len(codaID)-6:])
	if res.Err == nil || !strings.Contains(res.Err.Error(), "0 of your tokens match") {
		t.Fatalf("revoke by coda token id: err = %v", res.Err)
	}
	if !e.IsLive(codaID) || !e.IsLive(idA) || !e.IsLive(idB) {
		t.Error("a token was deleted although none matched")
	}
	if !strings.Contains(res.ErrOut, redact.Suffix(idA)) || !strings.Contains(res.ErrOut, redact.Suffix(idB)) {
		t.Errorf("stderr does not list the candidates:\n%s", res.ErrOut)
	}

	// Pick B by the last 6 characters of its id (logged in with A).
	e.Stdin = patA
	res = e.Run("--host", e.Srv.URL(), "--token-stdin", "--force", "--revoke-pasted="+idB[len(idB)-6:], "-o", "json")
	if res.Err != nil {
		t.Fatalf("revoke by suffix: %v\nstderr: %s", res.Err, res.ErrOut)
	}
	if e.IsLive(idB) || !e.IsLive(idA) {
		t.Errorf("B live %v, A live %v: want only B deleted", e.IsLive(idB), e.IsLive(idA))
	}
	m := cmdtest.DecodeJSON(t, res.Out)
	if m["pasted_token"] != "revoked" || m["revoked_token_id"] != redact.Suffix(idB) {
		t.Errorf("JSON = %v", m)
	}
	// The delete was authenticated by coda's token, not the pasted one.
	reqs := e.Srv.Requests()
	if last := reqs[len(reqs)-1]; last.Path != fakeworkspace.PathTokenDelete || last.TokenID != e.State().Profile("default").TokenID {
		t.Errorf("last request = %+v, want a delete with coda's token", last)
	}
	e.AssertNoSecrets(res.Out, res.ErrOut)
}

func TestLoginJSON(t *testing.T) {
	e := newTestEnv(t)
	pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	e.Stdin = pat
	res := e.Run("-o", "json", "--host", e.Srv.URL(), "--token-stdin", "--lifetime", "20m")
	if res.Err != nil {
		t.Fatalf("login: %v", res.Err)
	}
	m := cmdtest.DecodeJSON(t, res.Out)
	p := e.State().Profile("default")
	want := map[string]any{
		"profile": "default", "host": e.Srv.URL(), "user": cmdtest.User,
		"token_id": redact.Suffix(p.TokenID), "expires_at": cmdtest.T0.Add(20 * time.Minute).Format(time.RFC3339),
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
	e.AssertNoSecrets(res.Out, res.ErrOut)
}
