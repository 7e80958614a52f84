package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/coda-cli/coda/internal/fakeworkspace"
)

const (
	profUser = "alice@example.com"
	profSP   = "0c0da000-1111-2222-3333-444444444444"
)

type profileFixture struct {
	fw                *fakeworkspace.Server
	dir, cfg, cache   string
	pat, spSecret     string
	access, refresh   string // a live U2M login of alice
	expired, expRefr  string // an expired one
	unexpectedRequest atomic.Int32
}

func newProfileFixture(t *testing.T) *profileFixture {
	t.Helper()
	f := &profileFixture{dir: t.TempDir()}
	f.fw = fakeworkspace.New(fakeworkspace.Options{OnUnexpected: func(m string) { f.unexpectedRequest.Add(1); t.Error(m) }})
	if err := f.fw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.fw.Close)
	f.fw.AddUser(profUser, "Alice")
	f.pat, _ = f.fw.IssuePAT(profUser, "cli", 0)
	f.spSecret = f.fw.AddServicePrincipal(profSP, "bot")
	f.cfg = filepath.Join(f.dir, ".databrickscfg")
	f.cache = filepath.Join(f.dir, ".databricks", "token-cache.json")
	f.access, f.refresh, _ = f.fw.IssueU2M(profUser, time.Hour)
	f.expired, f.expRefr, _ = f.fw.IssueU2M(profUser, -time.Minute)
	return f
}

func (f *profileFixture) writeConfig(t *testing.T, text string) {
	t.Helper()
	text = strings.ReplaceAll(text, "HOST", f.fw.URL())
	text = strings.ReplaceAll(text, "PAT", f.pat)
	text = strings.ReplaceAll(text, "SECRET", f.spSecret)
	if err := os.WriteFile(f.cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *profileFixture) get(t *testing.T, name string) (ProfileToken, error) {
	t.Helper()
	return TokenFromProfile(context.Background(), DatabricksProfile{Name: name, File: f.cfg, TokenCache: f.cache})
}

// The environment never takes part: the SDK's variables, set to valid
// credentials of another identity, change nothing about a profile, and
// cannot rescue one that has none.
func TestTokenFromProfileIgnoresTheEnvironment(t *testing.T) {
	f := newProfileFixture(t)
	f.writeConfig(t, "[DEFAULT]\nhost = HOST\ntoken = PAT\n\n[m2m]\nhost = HOST\nclient_id = "+profSP+"\nclient_secret = wrong\n\n[bare]\nhost = HOST\n")
	t.Setenv("DATABRICKS_HOST", f.fw.URL())
	t.Setenv("DATABRICKS_TOKEN", f.pat)
	t.Setenv("DATABRICKS_CLIENT_ID", profSP)
	t.Setenv("DATABRICKS_CLIENT_SECRET", f.spSecret)
	t.Setenv("DATABRICKS_AUTH_TYPE", "pat")
	t.Setenv("DATABRICKS_CONFIG_PROFILE", "DEFAULT")
	t.Setenv("DATABRICKS_CONFIG_FILE", f.cfg)
	t.Setenv("HOME", f.dir)
	if _, err := f.get(t, "m2m"); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("m2m with a wrong secret and a right one in the environment: %v", err)
	}
	// [bare] is a databricks auth login without a cached token: the PAT of
	// the environment and of [DEFAULT] stay out of it.
	if pt, err := f.get(t, "bare"); err == nil || pt.Token != "" || !strings.Contains(err.Error(), "no OAuth token for it") {
		t.Errorf("bare profile: %+v, %v", pt, err)
	}
	for _, r := range f.fw.Requests() {
		if r.Path != fakeworkspace.PathOIDCDiscovery && r.Path != fakeworkspace.PathOIDCToken {
			t.Errorf("request %s %s: only the profile's token endpoint may be asked", r.Method, r.Path)
		}
	}
}

// Each auth type gives its token; the profile's own settings that would
// log, trust or send credentials elsewhere are ignored.
func TestTokenFromProfile(t *testing.T) {
	tests := []struct {
		name, section string
		cache         map[string][2]string // key: access, refresh
		expired       bool                 // the cached entries have expired
		authType      string
		want          func(f *profileFixture) string // "" for an access token of the token endpoint
		oidc          int
	}{
		{name: "pat", section: "host = HOST\ntoken = PAT\nauth_type = pat\ndebug_headers = true\nskip_verify = true",
			authType: AuthPAT, want: func(f *profileFixture) string { return f.pat }},
		{name: "oauth-m2m", section: "host = HOST/\nclient_id = " + profSP + "\nclient_secret = SECRET\ndiscovery_url = https://attacker.example/.well-known",
			authType: AuthM2M, oidc: 1},
		{name: "databricks-cli", section: "host = HOST\nauth_type = databricks-cli",
			cache: map[string][2]string{"p": {"access", "refresh"}}, authType: AuthU2M, want: func(f *profileFixture) string { return f.access }},
		{name: "databricks-cli, host only", section: "host = HOST",
			cache: map[string][2]string{"p": {"access", "refresh"}}, authType: AuthU2M, want: func(f *profileFixture) string { return f.access }},
		{name: "databricks-cli, expired", section: "host = HOST\nauth_type = databricks-cli",
			cache: map[string][2]string{"p": {"expired", "expRefr"}}, expired: true, authType: AuthU2M, oidc: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProfileFixture(t)
			f.writeConfig(t, "[p]\n"+tt.section+"\n")
			values := map[string]string{"access": f.access, "refresh": f.refresh, "expired": f.expired, "expRefr": f.expRefr}
			expiry := time.Now().Add(time.Hour)
			if tt.expired {
				expiry = time.Now().Add(-time.Minute)
			}
			for key, v := range tt.cache {
				if err := fakeworkspace.WriteU2MCache(f.cache, key, values[v[0]], values[v[1]], expiry); err != nil {
					t.Fatal(err)
				}
			}
			pt, err := f.get(t, "p")
			if err != nil {
				t.Fatal(err)
			}
			if pt.Host != f.fw.URL() || pt.AuthType != tt.authType || pt.Token == "" {
				t.Fatalf("got host %s, type %s, token set %v", pt.Host, pt.AuthType, pt.Token != "")
			}
			if tt.want != nil && pt.Token != tt.want(f) {
				t.Error("not the profile's token")
			}
			oidc := 0
			for _, r := range f.fw.Requests() {
				if r.Path == fakeworkspace.PathOIDCToken {
					oidc++
				}
			}
			if oidc != tt.oidc {
				t.Errorf("%d token requests, want %d", oidc, tt.oidc)
			}
			// The token authenticates the workspace.
			c, err := NewSDKClient(pt.Host, pt.Token)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Me(context.Background()); err != nil {
				t.Errorf("Me with the profile's token: %v", err)
			}
		})
	}
}

// The refresh of an expired databricks-cli login is stored back as the
// CLI would: the profile's entry replaced, its host mirror too when it
// was one, every other entry and field kept, mode 0600.
func TestTokenCacheStore(t *testing.T) {
	f := newProfileFixture(t)
	f.writeConfig(t, "[p]\nhost = HOST\nauth_type = databricks-cli\n")
	hostKey := f.fw.URL()
	past := time.Now().Add(-time.Minute)
	other, otherRefresh, _ := f.fw.IssueU2M(profUser, time.Hour)
	for _, e := range []struct{ key, access, refresh string }{
		{"p", f.expired, f.expRefr}, {hostKey, f.expired, f.expRefr}, {"other", other, otherRefresh},
	} {
		if err := fakeworkspace.WriteU2MCache(f.cache, e.key, e.access, e.refresh, past); err != nil {
			t.Fatal(err)
		}
	}
	// A field coda does not know, at the top and in an entry.
	raw, _ := os.ReadFile(f.cache)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	m["future"] = "kept"
	m["tokens"].(map[string]any)["other"].(map[string]any)["extra"] = "kept too"
	raw, _ = json.Marshal(m)
	if err := os.WriteFile(f.cache, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	pt, err := f.get(t, "p")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(f.cache)
	var after struct {
		Version int                       `json:"version"`
		Future  string                    `json:"future"`
		Tokens  map[string]map[string]any `json:"tokens"`
	}
	if err := json.Unmarshal(raw, &after); err != nil {
		t.Fatal(err)
	}
	if after.Version != 1 || after.Future != "kept" || after.Tokens["other"]["extra"] != "kept too" || after.Tokens["other"]["access_token"] != other {
		t.Errorf("other entries changed: %s", raw)
	}
	for _, key := range []string{"p", hostKey} {
		if after.Tokens[key]["access_token"] != pt.Token || after.Tokens[key]["refresh_token"] == f.expRefr {
			t.Errorf("entry %s was not replaced by the refresh", key)
		}
	}
	if fi, _ := os.Stat(f.cache); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// A host entry of another login is not a mirror: it stays.
	c := &tokenCacheFile{path: f.cache, hostKey: hostKey}
	if err := c.Store(hostKey, &oauth2.Token{AccessToken: "x", RefreshToken: "y"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Store("p", &oauth2.Token{AccessToken: "z", RefreshToken: "w"}); err != nil {
		t.Fatal(err)
	}
	if tok, _ := c.Lookup(hostKey); tok == nil || tok.AccessToken != "x" {
		t.Errorf("the host entry of another login was overwritten: %+v", tok)
	}
}

// Every refusal is one line that says what to do and quotes no secret.
func TestTokenFromProfileRefusals(t *testing.T) {
	tests := []struct {
		name, config string
		cache        string // raw cache file; "" for none
		profile      string
		want         string
	}{
		{name: "no file", profile: "p", want: "no Databricks CLI config file at"},
		{name: "not INI", config: "[p\nhost = HOST\ntoken = PAT\n", profile: "p", want: "not a Databricks CLI config file coda can read"},
		{name: "no such profile, DEFAULT not used", config: "[DEFAULT]\nhost = HOST\ntoken = PAT\n", profile: "p", want: "has no profile p (it has: DEFAULT)"},
		{name: "no host", config: "[p]\ntoken = PAT\n", profile: "p", want: "profile p in"},
		{name: "cleartext host", config: "[p]\nhost = http://x.cloud.databricks.com\ntoken = PAT\n", profile: "p", want: "cleartext"},
		{name: "auth type coda does not take", config: "[p]\nhost = HOST\nauth_type = azure-cli\n", profile: "p", want: "auth_type azure-cli is not one coda logs in with"},
		{name: "basic credentials", config: "[p]\nhost = HOST\nusername = a\npassword = b\n", profile: "p", want: "coda does not log in with"},
		{name: "m2m without secret", config: "[p]\nhost = HOST\nclient_id = x\nauth_type = oauth-m2m\n", profile: "p", want: "it needs client_id and client_secret"},
		{name: "keyring storage", config: "[__settings__]\nauth_storage = secure\n\n[p]\nhost = HOST\nauth_type = databricks-cli\n", profile: "p", want: "OS keyring"},
		{name: "cache of another version", config: "[p]\nhost = HOST\nauth_type = databricks-cli\n", cache: `{"version": 2, "tokens": {}}`, profile: "p", want: "version 2 of the Databricks CLI's token cache"},
		{name: "cache not JSON", config: "[p]\nhost = HOST\nauth_type = databricks-cli\n", cache: `{"version": 1, "tokens": {"p": "PAT"`, profile: "p", want: "is not the Databricks CLI's token cache"},
		{name: "cached token without refresh", config: "[p]\nhost = HOST\nauth_type = databricks-cli\n",
			cache: `{"version": 1, "tokens": {"p": {"access_token": "PAT", "expiry": "2001-01-01T00:00:00Z"}}}`, profile: "p", want: "cannot be refreshed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newProfileFixture(t)
			if tt.config != "" {
				f.writeConfig(t, tt.config)
			}
			if tt.cache != "" {
				if err := os.MkdirAll(filepath.Dir(f.cache), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f.cache, []byte(strings.ReplaceAll(tt.cache, "PAT", f.pat)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			pt, err := f.get(t, tt.profile)
			if err == nil || pt.Token != "" {
				t.Fatalf("got %+v, %v; want an error", pt, err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line with %q", err, tt.want)
			}
			for _, v := range f.fw.MintedValues() {
				if strings.Contains(err.Error(), v) {
					t.Errorf("the error quotes a secret: %v", err)
				}
			}
		})
	}
}

// The profile's credentials go to its host only: a discovery document
// that names another token endpoint, or a redirect, sends nothing there.
func TestTokenFromProfileSendsCredentialsToItsHostOnly(t *testing.T) {
	var stolen atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token": "stolen", "token_type": "Bearer", "expires_in": 3600}`))
	}))
	defer elsewhere.Close()
	for _, tc := range []struct {
		name, want string
		serve      http.HandlerFunc
	}{
		{"discovery names another host", "credentials to its host", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"authorization_endpoint": "` + elsewhere.URL + `/a", "token_endpoint": "` + elsewhere.URL + `/t"}`))
		}},
		{"token endpoint redirects", "does not follow redirects", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == fakeworkspace.PathOIDCDiscovery {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"token_endpoint": "http://` + r.Host + `/oidc/v1/token"}`))
				return
			}
			http.Redirect(w, r, elsewhere.URL+"/t", http.StatusTemporaryRedirect)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := httptest.NewServer(tc.serve)
			defer ws.Close()
			dir := t.TempDir()
			cfg := filepath.Join(dir, "cfg")
			if err := os.WriteFile(cfg, []byte("[p]\nhost = "+ws.URL+"\nclient_id = id\nclient_secret = dose-secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			pt, err := TokenFromProfile(context.Background(), DatabricksProfile{Name: "p", File: cfg, TokenCache: filepath.Join(dir, "cache")})
			if err == nil || pt.Token != "" || stolen.Load() != 0 {
				t.Fatalf("got %+v, %v; %d requests elsewhere", pt, err, stolen.Load())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "dose-secret") {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
}

func TestMissingScope(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&Error{StatusCode: 403, Code: "PERMISSION_DENIED", Message: "Provided access token does not have required scopes: authentication"}, "authentication"},
		{&Error{StatusCode: 403, Message: "Provided OAuth token does not have required scopes: sql, jobs"}, "sql, jobs"},
		{&Error{StatusCode: 403, Message: "Invalid access token."}, ""},
		{&Error{StatusCode: 400, Message: "does not have required scopes: x"}, ""},
		{errors.New("does not have required scopes: x"), ""},
	} {
		if got := MissingScope(tc.err); got != tc.want {
			t.Errorf("MissingScope(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
