package fakeworkspace

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOIDCDiscovery(t *testing.T) {
	f := newFixture(t, Options{})
	r := do(t, f.url, http.MethodGet, PathOIDCDiscovery, "", "")
	m := r.json(t)
	if r.status != 200 || m["token_endpoint"] != f.url+PathOIDCToken || m["authorization_endpoint"] != f.url+PathOIDCAuthorize {
		t.Fatalf("discovery = %d %v", r.status, m)
	}
}

// tokenRequest sends a form to the token endpoint and returns its answer.
func tokenRequest(t *testing.T, f *fixture, form url.Values, basicID, basicSecret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+PathOIDCToken, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

// client_credentials gives a service principal an access token that
// authenticates the workspace API as the principal, and refuses any other
// client; the token is no PAT: the token API neither lists nor counts it.
func TestOIDCClientCredentials(t *testing.T) {
	const sp = "0c0da000-1111-2222-3333-444444444444"
	f := newFixture(t, Options{})
	secret := f.fw.AddServicePrincipal(sp, "bot")
	tests := []struct {
		name       string
		form       url.Values
		id, secret string
		status     int
		errCode    string
	}{
		{name: "basic", form: url.Values{"grant_type": {"client_credentials"}, "scope": {"all-apis"}}, id: sp, secret: secret, status: 200},
		{name: "in the body", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {sp}, "client_secret": {secret}}, status: 200},
		{name: "wrong secret", form: url.Values{"grant_type": {"client_credentials"}}, id: sp, secret: "nope", status: 401, errCode: "invalid_client"},
		{name: "unknown client", form: url.Values{"grant_type": {"client_credentials"}}, id: "who", secret: secret, status: 401, errCode: "invalid_client"},
		{name: "no credentials", form: url.Values{"grant_type": {"client_credentials"}}, status: 401, errCode: "invalid_client"},
		{name: "unknown grant", form: url.Values{"grant_type": {"password"}}, id: sp, secret: secret, status: 400, errCode: "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := tokenRequest(t, f, tt.form, tt.id, tt.secret)
			if status != tt.status || (tt.errCode != "" && m["error"] != tt.errCode) {
				t.Fatalf("answer %d %v, want %d %s", status, m, tt.status, tt.errCode)
			}
			if tt.status != 200 {
				return
			}
			access, _ := m["access_token"].(string)
			if m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) || access == "" || m["refresh_token"] != nil {
				t.Fatalf("answer = %v", m)
			}
			me := do(t, f.url, http.MethodGet, PathMe, access, "")
			if me.status != 200 || me.json(t)["userName"] != sp {
				t.Fatalf("Me with the access token = %d %s", me.status, me.body)
			}
			created := do(t, f.url, http.MethodPost, PathTokenCreate, access, `{"lifetime_seconds": 900, "comment": "coda"}`)
			if created.status != 200 {
				t.Fatalf("create with the access token = %d %s", created.status, created.body)
			}
			if live := f.fw.LiveTokens(sp); len(live) != 1 {
				t.Errorf("live tokens of the principal = %+v, want only the PAT it created", live)
			}
			// An hour later the access token is dead, as a PAT would be.
			f.clk.Advance(AccessTokenLifetime)
			if r := do(t, f.url, http.MethodGet, PathMe, access, ""); r.status != 403 || string(r.body) != invalidTokenBody {
				t.Errorf("expired access token: %d %s", r.status, r.body)
			}
		})
	}
}

// A refresh token of `databricks auth login` is single use: each refresh
// rotates it; an unknown, used or revoked one gets the answer the SDK
// recognises.
func TestOIDCRefresh(t *testing.T) {
	f := newFixture(t, Options{})
	_, refresh, _ := f.fw.IssueU2M(alice, -time.Minute)
	form := func(rt, client string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}}
	}
	status, m := tokenRequest(t, f, form(refresh, U2MClientID), "", "")
	next, _ := m["refresh_token"].(string)
	if status != 200 || next == "" || next == refresh || m["access_token"] == "" {
		t.Fatalf("refresh = %d %v", status, m)
	}
	if r := do(t, f.url, http.MethodGet, PathMe, m["access_token"].(string), ""); r.status != 200 || r.json(t)["userName"] != alice {
		t.Fatalf("Me with the refreshed token = %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code string
	}{
		{"used", form(refresh, U2MClientID), "invalid_grant"},
		{"unknown", form("doau-nope", U2MClientID), "invalid_grant"},
		{"another client", form(next, "someone-else"), "invalid_client"},
	} {
		if status, m := tokenRequest(t, f, tc.form, "", ""); status < 400 || m["error"] != tc.code ||
			(tc.code == "invalid_grant" && m["error_description"] != "Refresh token is invalid") {
			t.Errorf("%s: %d %v", tc.name, status, m)
		}
	}
	f.fw.RevokeRefreshTokens(alice)
	if status, m := tokenRequest(t, f, form(next, U2MClientID), "", ""); status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("revoked: %d %v", status, m)
	}
	for _, v := range []string{refresh, next} {
		found := false
		for _, s := range f.fw.MintedValues() {
			found = found || s == v
		}
		if !found {
			t.Error("MintedValues lacks a refresh token: the leak scans would miss it")
		}
	}
}

// A scoped PAT may call only its scopes' routes; the token API is the
// authentication scope (GET also with authentication:read), and the
// answer is the real one.
func TestScopedPAT(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		scopes               []string
		me, list, create, rm int
	}{
		{scopes: nil, me: 200, list: 200, create: 200, rm: 200},
		{scopes: []string{"all-apis"}, me: 200, list: 200, create: 200, rm: 200},
		{scopes: []string{"authentication"}, me: 200, list: 200, create: 200, rm: 200},
		{scopes: []string{"authentication:read"}, me: 200, list: 200, create: 403, rm: 403},
		{scopes: []string{"sql", "unity-catalog"}, me: 200, list: 403, create: 403, rm: 403},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.scopes, ","), func(t *testing.T) {
			pat, id := f.fw.IssueScopedPAT(alice, "scoped", 0, tt.scopes)
			_, victim := f.fw.IssuePAT(alice, "victim", 0)
			for _, c := range []struct {
				method, path, body string
				want               int
			}{
				{http.MethodGet, PathMe, "", tt.me},
				{http.MethodGet, PathTokenList, "", tt.list},
				{http.MethodPost, PathTokenCreate, `{"lifetime_seconds": 60}`, tt.create},
				{http.MethodPost, PathTokenDelete, `{"token_id": "` + victim + `"}`, tt.rm},
			} {
				r := do(t, f.url, c.method, c.path, pat, c.body)
				if r.status != c.want {
					t.Errorf("%s %s = %d %s, want %d", c.method, c.path, r.status, r.body, c.want)
				}
				if r.status == 403 {
					m := r.json(t)
					if m["error_code"] != "PERMISSION_DENIED" || m["message"] != "Provided access token does not have required scopes: authentication" {
						t.Errorf("%s %s answer = %s", c.method, c.path, r.body)
					}
				}
			}
			for _, ti := range f.fw.LiveTokens(alice) {
				if ti.ID == id && strings.Join(ti.Scopes, ",") != strings.Join(tt.scopes, ",") {
					t.Errorf("LiveTokens scopes = %v", ti.Scopes)
				}
			}
		})
	}
	// token/list reports scopes, and token/create takes them.
	pat, _ := f.fw.IssueScopedPAT(alice, "reporting", 0, []string{"authentication", "sql"})
	r := do(t, f.url, http.MethodPost, PathTokenCreate, pat, `{"lifetime_seconds": 60, "comment": "narrow", "scopes": ["sql"]}`)
	if r.status != 200 {
		t.Fatalf("create with scopes = %d %s", r.status, r.body)
	}
	list := do(t, f.url, http.MethodGet, PathTokenList, f.pat, "")
	var body struct {
		TokenInfos []struct {
			Comment string   `json:"comment"`
			Scopes  []string `json:"scopes"`
		} `json:"token_infos"`
	}
	if err := json.Unmarshal(list.body, &body); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, ti := range body.TokenInfos {
		seen[ti.Comment] = strings.Join(ti.Scopes, ",")
	}
	if seen["reporting"] != "authentication,sql" || seen["narrow"] != "sql" || seen["laptop"] != "" {
		t.Errorf("listed scopes = %v", seen)
	}
	// An OAuth token without the scope is told so as an OAuth token.
	access := f.fw.IssueAccessToken(alice, []string{"sql"}, time.Hour)
	if r := do(t, f.url, http.MethodGet, PathTokenList, access, ""); r.status != 403 || r.json(t)["message"] != "Provided OAuth token does not have required scopes: authentication" {
		t.Errorf("OAuth token without the scope: %d %s", r.status, r.body)
	}
}

// WriteU2MCache writes the Databricks CLI's format and keeps other entries.
func TestWriteU2MCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".databricks", "token-cache.json")
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := WriteU2MCache(path, "work", "a1", "r1", exp); err != nil {
		t.Fatal(err)
	}
	if err := WriteU2MCache(path, "https://x.cloud.databricks.com", "a2", "r2", exp); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Version int                          `json:"version"`
		Tokens  map[string]map[string]string `json:"tokens"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Version != 1 || f.Tokens["work"]["access_token"] != "a1" ||
		f.Tokens["work"]["refresh_token"] != "r1" || f.Tokens["work"]["expiry"] != "2030-01-02T03:04:05Z" ||
		f.Tokens["https://x.cloud.databricks.com"]["token_type"] != "Bearer" {
		t.Fatalf("cache = %s (%v)", raw, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", fi.Mode().Perm())
	}
}
