package login

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/store"
)

// spID is the application id of the fake's service principal.
const spID = "6d1f2b7a-0000-4000-8000-00000000c0da"

// profileWorld is a fake workspace with every kind of credential a
// Databricks CLI profile can hold, written into $HOME/.databrickscfg and
// the CLI's token cache as the Databricks CLI would.
type profileWorld struct {
	*testEnv
	home, cfg, cache string
	pat, patID       string // alice's PAT, in [pat] and [DEFAULT]
	spSecret         string // the service principal's, in [m2m]
	u2mAccess        string // the access token cached for [u2m]
}

func newProfileWorld(t *testing.T) *profileWorld {
	t.Helper()
	w := &profileWorld{testEnv: newTestEnv(t), home: t.TempDir()}
	w.Vars["HOME"] = w.home
	w.cfg = filepath.Join(w.home, ".databrickscfg")
	w.cache = filepath.Join(w.home, ".databricks", "token-cache.json")
	url := w.Srv.URL()
	w.pat, w.patID = w.Srv.IssuePAT(cmdtest.User, "databricks cli", 0)
	scoped, _ := w.Srv.IssueScopedPAT(cmdtest.User, "bi tool", 0, []string{"sql", "unity-catalog"})
	readOnly, _ := w.Srv.IssueScopedPAT(cmdtest.User, "reader", 0, []string{"authentication:read"})
	secret := w.Srv.AddServicePrincipal(spID, "coda bot")
	w.spSecret = secret
	access, refresh, _ := w.Srv.IssueU2M(cmdtest.User, fakeworkspace.AccessTokenLifetime)
	w.u2mAccess = access
	// The cache's expiry is the client's wall clock, not the fake's.
	if err := fakeworkspace.WriteU2MCache(w.cache, "u2m", access, refresh, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	oldAccess, oldRefresh, _ := w.Srv.IssueU2M(cmdtest.User, -time.Minute)
	if err := fakeworkspace.WriteU2MCache(w.cache, "u2m-expired", oldAccess, oldRefresh, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	cfg := "[DEFAULT]\nhost = " + url + "\ntoken = " + w.pat + "\n\n" +
		"[pat]\nhost = " + url + "\ntoken = " + w.pat + "\nauth_type = pat\n\n" +
		"[pat-implied]\nhost = " + url + "/?o=123\ntoken = " + w.pat + "\n\n" +
		"[m2m]\nhost = " + url + "\nclient_id = " + spID + "\nclient_secret = " + secret + "\nauth_type = oauth-m2m\n\n" +
		"[m2m-bad]\nhost = " + url + "\nclient_id = " + spID + "\nclient_secret = dose-wrong-secret\n\n" +
		"[u2m]\nhost = " + url + "\nauth_type = databricks-cli\n\n" +
		"[u2m-expired]\nhost = " + url + "\nauth_type = databricks-cli\n\n" +
		"[u2m-none]\nhost = " + url + "\nauth_type = databricks-cli\n\n" +
		"[broken]\nhost = " + url + "\ntoken = dapi00000000000000000000000000000000\nauth_type = pat\n\n" +
		"[scoped]\nhost = " + url + "\ntoken = " + scoped + "\n\n" +
		"[read-only]\nhost = " + url + "\ntoken = " + readOnly + "\n\n" +
		"[azure]\nhost = " + url + "\nazure_workspace_resource_id = /subscriptions/x\n\n" +
		"[account]\nhost = https://accounts.cloud.databricks.com\naccount_id = abc\ntoken = " + w.pat + "\n"
	if err := os.WriteFile(w.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// count is the number of recorded requests to path.
func (w *profileWorld) count(method, path string) int {
	n := 0
	for _, r := range w.Srv.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// codaTokens is the number of live coda tokens of user.
func (w *profileWorld) codaTokens(user string) int {
	n := 0
	for _, ti := range w.Srv.LiveTokens(user) {
		if strings.HasPrefix(ti.Comment, "coda:") {
			n++
		}
	}
	return n
}

// A profile's credentials, whatever their kind, mint coda's first token and
// are never stored; the token coda keeps is its own, of the profile's user.
func TestLoginDatabricksProfile(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		authType string
		user     string
		oidc     int  // requests to the OAuth token endpoint
		refresh  bool // the cached U2M token was refreshed (and stored back)
	}{
		{name: "pat", args: []string{"--databricks-profile", "pat"}, authType: "pat", user: cmdtest.User},
		{name: "pat implied by token", args: []string{"--databricks-profile", "pat-implied"}, authType: "pat", user: cmdtest.User},
		{name: "oauth-m2m", args: []string{"--databricks-profile", "m2m"}, authType: "oauth-m2m", user: spID, oidc: 1},
		{name: "databricks-cli token cache", args: []string{"--databricks-profile", "u2m"}, authType: "databricks-cli", user: cmdtest.User},
		{name: "databricks-cli expired, refreshed", args: []string{"--databricks-profile", "u2m-expired"}, authType: "databricks-cli", user: cmdtest.User, oidc: 1, refresh: true},
		{name: "DATABRICKS_CONFIG_PROFILE names it", env: map[string]string{"DATABRICKS_CONFIG_PROFILE": "m2m"}, authType: "oauth-m2m", user: spID, oidc: 1},
		{name: "the flag beats DATABRICKS_CONFIG_PROFILE", args: []string{"--databricks-profile", "pat"}, env: map[string]string{"DATABRICKS_CONFIG_PROFILE": "broken"}, authType: "pat", user: cmdtest.User},
		{name: "JSON", args: []string{"--databricks-profile", "u2m", "-o", "json"}, authType: "databricks-cli", user: cmdtest.User},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newProfileWorld(t)
			for k, v := range tt.env {
				w.Vars[k] = v
			}
			before, _ := os.ReadFile(w.cache)
			res := w.Run(tt.args...)
			if res.Err != nil {
				t.Fatalf("login: %v\nstderr: %s", res.Err, res.ErrOut)
			}
			w.AssertNoSecrets(res.Out, res.ErrOut)
			p := w.State().Profile("default")
			if p == nil || p.Host != w.Srv.URL() || p.User != tt.user || !p.HasToken() {
				t.Fatalf("stored profile = %v", p)
			}
			for _, v := range w.Srv.MintedValues() {
				if v == p.Token {
					continue
				}
				if raw, _ := os.ReadFile(filepath.Join(w.Dir, store.FileName)); strings.Contains(string(raw), v) {
					t.Fatal("coda stored a credential of the Databricks CLI profile")
				}
			}
			if n := w.codaTokens(tt.user); n != 1 {
				t.Errorf("%d coda tokens of %s, want 1", n, tt.user)
			}
			if n := w.count("POST", fakeworkspace.PathOIDCToken); n != tt.oidc {
				t.Errorf("%d requests to the token endpoint, want %d", n, tt.oidc)
			}
			after, _ := os.ReadFile(w.cache)
			if changed := string(after) != string(before); changed != tt.refresh {
				t.Errorf("token cache changed: %v, want %v", changed, tt.refresh)
			}
			if tt.refresh {
				checkRefreshedCache(t, w, "u2m-expired")
			}
			if strings.Contains(strings.Join(tt.args, " "), "json") {
				m := cmdtest.DecodeJSON(t, res.Out)
				if m["databricks_profile"] == "" || m["auth_type"] != tt.authType || m["pasted_token"] != "none" || m["user"] != tt.user {
					t.Errorf("JSON = %v", m)
				}
				return
			}
			if !strings.Contains(res.ErrOut, "Used the credentials of Databricks CLI profile") || !strings.Contains(res.ErrOut, "("+tt.authType+")") ||
				strings.Contains(res.ErrOut, "pasted token") {
				t.Errorf("stderr = %q", res.ErrOut)
			}
		})
	}
}

// checkRefreshedCache checks that a refresh stored its result under the
// profile's key and kept the other entries and the file's mode.
func checkRefreshedCache(t *testing.T, w *profileWorld, key string) {
	t.Helper()
	fi, err := os.Stat(w.cache)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token cache: %v, mode %v", err, fi.Mode().Perm())
	}
	var f struct {
		Version int
		Tokens  map[string]struct {
			AccessToken  string    `json:"access_token"`
			RefreshToken string    `json:"refresh_token"`
			Expiry       time.Time `json:"expiry"`
		}
	}
	raw, _ := os.ReadFile(w.cache)
	if err := json.Unmarshal(raw, &f); err != nil || f.Version != 1 {
		t.Fatalf("token cache after the refresh: %v, version %d", err, f.Version)
	}
	got := f.Tokens[key]
	if got.RefreshToken == "" || !got.Expiry.After(time.Now()) {
		t.Errorf("entry %s after the refresh = %+v", key, got)
	}
	if f.Tokens["u2m"].AccessToken != w.u2mAccess {
		t.Error("the refresh changed another profile's entry")
	}
}

// Only the named profile counts: a broken one is not rescued by valid
// credentials in the environment, in [DEFAULT] or in other profiles, and
// every refusal says what to do and quotes no secret.
func TestLoginDatabricksProfileRefused(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		want     []string // in the error
		requests bool     // the workspace was asked at all
	}{
		{name: "broken PAT, valid everything else", args: []string{"--databricks-profile", "broken"},
			env: map[string]string{"DATABRICKS_CONFIG_PROFILE": "pat", "DATABRICKS_AUTH_TYPE": "oauth-m2m", "DATABRICKS_CLIENT_ID": spID},
			// The PAT of [DEFAULT] and [pat] is exported below as DATABRICKS_TOKEN.
			wantCode: exit.Auth, want: []string{"rejected the credentials of Databricks CLI profile broken", "databricks auth login --profile broken"}, requests: true},
		{name: "scopes without authentication", args: []string{"--databricks-profile", "scoped"}, wantCode: exit.Error,
			want: []string{"lack the authentication scope", "403 PERMISSION_DENIED Provided access token does not have required scopes: authentication"}, requests: true},
		{name: "authentication:read only", args: []string{"--databricks-profile", "read-only"}, wantCode: exit.Error,
			want: []string{"lack the authentication scope"}, requests: true},
		{name: "wrong client secret", args: []string{"--databricks-profile", "m2m-bad"}, wantCode: exit.Error,
			want: []string{"refused the service principal's credentials (invalid_client: Client authentication failed)", "check the profile's client_id and client_secret"}, requests: true},
		{name: "no cached token", args: []string{"--databricks-profile", "u2m-none"}, wantCode: exit.Error,
			want: []string{"no OAuth token for it in", "run databricks auth login --profile u2m-none"}},
		{name: "unknown profile", args: []string{"--databricks-profile", "nope"}, wantCode: exit.Error,
			want: []string{"has no profile nope (it has: DEFAULT, pat,", "databricks auth login --profile nope"}},
		{name: "unsupported credentials", args: []string{"--databricks-profile", "azure"}, wantCode: exit.Error,
			want: []string{"azure_workspace_resource_id", "coda does not log in with"}},
		{name: "account profile", args: []string{"--databricks-profile", "account"}, wantCode: exit.Error,
			want: []string{"is an account profile", "coda needs a workspace profile"}},
		{name: "settings section", args: []string{"--databricks-profile", "__settings__"}, wantCode: exit.Error,
			want: []string{"reserved section"}},
		{name: "no config file", args: []string{"--databricks-profile", "pat"}, env: map[string]string{"DATABRICKS_CONFIG_FILE": "~/elsewhere.cfg"},
			wantCode: exit.Error, want: []string{"no Databricks CLI config file at", "elsewhere.cfg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newProfileWorld(t)
			// The process environment, where the SDK would look if coda let it.
			t.Setenv("DATABRICKS_TOKEN", w.pat)
			t.Setenv("DATABRICKS_HOST", w.Srv.URL())
			t.Setenv("DATABRICKS_CONFIG_FILE", w.cfg)
			t.Setenv("HOME", w.home)
			t.Setenv("DATABRICKS_CLIENT_SECRET", w.spSecret)
			for k, v := range tt.env {
				w.Vars[k] = v
				if k != "DATABRICKS_CONFIG_FILE" {
					t.Setenv(k, v)
				}
			}
			w.Vars["DATABRICKS_TOKEN"], w.Vars["DATABRICKS_HOST"] = w.pat, w.Srv.URL()
			res := w.Run(tt.args...)
			if res.Err == nil || res.Code() != tt.wantCode {
				t.Fatalf("err = %v (exit %d), want exit %d", res.Err, res.Code(), tt.wantCode)
			}
			for _, s := range tt.want {
				if !strings.Contains(res.Err.Error(), s) {
					t.Errorf("error %q does not say %q", res.Err, s)
				}
			}
			if strings.Contains(res.Err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", res.Err)
			}
			w.AssertNoSecrets(res.Out, res.ErrOut, res.Err.Error())
			if strings.Contains(res.Err.Error(), "dose-wrong-secret") {
				t.Error("the error quotes the client secret")
			}
			if got := len(w.Srv.Requests()) > 0; got != tt.requests {
				t.Errorf("requests made: %v, want %v (%+v)", got, tt.requests, w.Srv.Requests())
			}
			if n := w.codaTokens(cmdtest.User) + w.codaTokens(spID); n != 0 {
				t.Errorf("%d coda tokens minted by a refused login", n)
			}
			if _, err := os.Stat(filepath.Join(w.Dir, store.FileName)); !errors.Is(err, fs.ErrNotExist) && w.State().Profile("default") != nil {
				t.Errorf("a refused login stored the profile: %v", w.State().Profile("default"))
			}
			// Only the profile's credentials were ever presented: the broken
			// PAT, once, and nothing of the environment's.
			if tt.name == "broken PAT, valid everything else" {
				if reqs := w.Srv.Requests(); len(reqs) != 1 || reqs[0].Path != fakeworkspace.PathMe || reqs[0].TokenID != "" {
					t.Errorf("requests = %+v, want one Me with the profile's unknown token", reqs)
				}
			}
		})
	}
}

// A pasted PAT whose scopes lack authentication is refused by name before
// anything is minted.
func TestLoginScopedPAT(t *testing.T) {
	for _, scopes := range [][]string{{"sql"}, {"authentication:read", "unity-catalog"}} {
		t.Run(strings.Join(scopes, ","), func(t *testing.T) {
			e := newTestEnv(t)
			pat, _ := e.Srv.IssueScopedPAT(cmdtest.User, "scoped", 0, scopes)
			e.Stdin = pat
			res := e.Run("--host", e.Srv.URL(), "--token-stdin")
			if res.Err == nil || res.Code() != exit.Error ||
				!strings.Contains(res.Err.Error(), "the token lacks the authentication scope") ||
				!strings.Contains(res.Err.Error(), "create a personal access token with that scope") {
				t.Fatalf("err = %v (exit %d)", res.Err, res.Code())
			}
			if len(e.Srv.LiveTokens(cmdtest.User)) != 1 || e.State().Profile("default") != nil {
				t.Error("a refused login minted or stored a token")
			}
		})
	}
	// With the scope the login works, and coda's token carries no narrower
	// scopes of its own.
	e := newTestEnv(t)
	pat, _ := e.Srv.IssueScopedPAT(cmdtest.User, "scoped", 0, []string{"authentication", "sql"})
	e.Stdin = pat
	if res := e.Run("--host", e.Srv.URL(), "--token-stdin"); res.Err != nil {
		t.Fatalf("login with the authentication scope: %v", res.Err)
	}
}

// A live login is replaced only after a yes on a terminal or with
// --force; without a terminal, login refuses (exit 2) before asking for
// or reading any credential. An expired login is replaced without a word.
func TestLoginReplacesALiveLogin(t *testing.T) {
	tests := []struct {
		name     string
		tty      bool
		force    bool
		answer   bool
		expired  bool
		wantCode int
		replaced bool
		asked    bool
	}{
		{name: "no terminal", wantCode: exit.Usage},
		{name: "no terminal, --force", force: true, replaced: true},
		{name: "terminal, no", tty: true, asked: true},
		{name: "terminal, yes", tty: true, answer: true, asked: true, replaced: true},
		{name: "terminal, --force", tty: true, force: true, replaced: true},
		{name: "expired login", expired: true, replaced: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
			e.Stdin = pat
			if res := e.Run("--host", e.Srv.URL(), "--token-stdin"); res.Err != nil {
				t.Fatal(res.Err)
			}
			first := e.State().Profile("default")
			if tt.expired {
				e.Clock.Advance(16 * time.Minute)
			}
			e.Srv.ResetRequests()
			e.TTY, e.prompter.replace = tt.tty, tt.answer
			e.Stdin = pat
			args := []string{"--host", e.Srv.URL(), "--token-stdin"}
			if tt.force {
				args = append(args, "--force")
			}
			res := e.Run(args...)
			if res.Code() != tt.wantCode {
				t.Fatalf("err = %v (exit %d), want exit %d", res.Err, res.Code(), tt.wantCode)
			}
			if tt.wantCode == exit.Usage && (!strings.Contains(res.Err.Error(), "pass --force to replace that login") ||
				!strings.Contains(res.Err.Error(), "logged in to "+e.Srv.URL()+" as "+cmdtest.User)) {
				t.Errorf("error = %v", res.Err)
			}
			asked := false
			for _, q := range e.prompter.questions() {
				asked = asked || strings.Contains(q, "Replace that login?")
			}
			if asked != tt.asked {
				t.Errorf("asked to replace: %v, want %v (%q)", asked, tt.asked, e.prompter.questions())
			}
			if replaced := e.State().Profile("default").TokenID != first.TokenID; replaced != tt.replaced {
				t.Errorf("replaced: %v, want %v", replaced, tt.replaced)
			}
			if !tt.replaced {
				if len(e.Srv.Requests()) != 0 {
					t.Errorf("requests although the login was kept: %+v", e.Srv.Requests())
				}
				if tt.tty && !strings.Contains(res.ErrOut, "Kept the login of profile default.") {
					t.Errorf("stderr = %q", res.ErrOut)
				}
			}
		})
	}
}

// After the first login of a profile, on a terminal, coda offers to run
// coda setup --all (yes by default); never without a terminal, in JSON, or
// when the profile already has tools.
func TestLoginOffersSetup(t *testing.T) {
	tests := []struct {
		name      string
		tty, json bool
		tools     bool // the profile was set up before (a re-login)
		answer    bool
		setupErr  error
		asked     bool
		ran       bool
		wantNext  string
		wantError string
	}{
		{name: "terminal, yes", tty: true, answer: true, asked: true, ran: true, wantNext: "Next: keep coda rotate --watch running"},
		{name: "terminal, no", tty: true, asked: true, wantNext: "Next: coda setup --all, then"},
		{name: "no terminal", wantNext: "Next: coda setup --all, then"},
		{name: "JSON on a terminal", tty: true, json: true, wantNext: "Next: coda setup --all, then"},
		{name: "re-login of a set-up profile", tty: true, tools: true, wantNext: "Next: coda setup --all, then"},
		{name: "setup fails", tty: true, answer: true, asked: true, ran: true, setupErr: errors.New("boom"), wantError: "logged in, but coda setup --all failed: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
			if tt.tools {
				e.Stdin = pat
				if res := e.Run("--host", e.Srv.URL(), "--token-stdin"); res.Err != nil {
					t.Fatal(res.Err)
				}
				if err := store.NewFileStore(e.Dir).Update(context.Background(), func(s *store.State) error {
					s.Profile("default").Tools = []store.Tool{{Plugin: "claude"}}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			e.TTY, e.prompter.setup = tt.tty, tt.answer
			runs := 0
			args := []string{"--host", e.Srv.URL(), "--token-stdin", "--force"}
			if tt.json {
				args = append(args, "-o", "json")
			}
			e.Stdin = pat
			res := e.Exec(func(f *cmdutil.Factory) *cobra.Command {
				return NewCmdLogin(f, func(ctx context.Context, o *Options) error {
					o.RunSetup = func(context.Context) error { runs++; return tt.setupErr }
					return run(ctx, o)
				})
			}, args...)
			if tt.wantError != "" {
				if res.Err == nil || res.Err.Error() != tt.wantError {
					t.Fatalf("err = %v, want %q", res.Err, tt.wantError)
				}
			} else if res.Err != nil {
				t.Fatalf("login: %v\n%s", res.Err, res.ErrOut)
			}
			asked := false
			for _, q := range e.prompter.questions() {
				asked = asked || strings.Contains(q, "coda setup --all")
			}
			if asked != tt.asked || (runs == 1) != tt.ran || runs > 1 {
				t.Errorf("asked %v, setup ran %d times; want asked %v, ran %v", asked, runs, tt.asked, tt.ran)
			}
			if !strings.Contains(res.ErrOut, tt.wantNext) {
				t.Errorf("stderr = %q, want %q", res.ErrOut, tt.wantNext)
			}
			if tt.json {
				cmdtest.DecodeJSON(t, res.Out) // stdout is the one JSON document
			}
		})
	}
}

// runSetupAll finds the setup command in the tree and runs it with --all.
func TestRunSetupAll(t *testing.T) {
	var got []string
	root := &cobra.Command{Use: "coda"}
	setup := &cobra.Command{Use: "setup", RunE: func(cmd *cobra.Command, args []string) error {
		all, _ := cmd.Flags().GetBool("all")
		got = append(got, strings.Join(args, " "), map[bool]string{true: "--all", false: ""}[all])
		return nil
	}}
	setup.Flags().Bool("all", false, "")
	login := &cobra.Command{Use: "login"}
	root.AddCommand(setup, login)
	if err := runSetupAll(context.Background(), login); err != nil || len(got) != 2 || got[1] != "--all" || got[0] != "" {
		t.Fatalf("runSetupAll: %v, setup saw %q", err, got)
	}
	alone := &cobra.Command{Use: "login"}
	if err := runSetupAll(context.Background(), alone); err == nil {
		t.Error("runSetupAll without a setup command succeeded")
	}
}
