package fakeworkspace

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/clock"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const alice = "alice@example.com"

type fixture struct {
	fw    *Server
	clk   *clock.Fake
	url   string
	pat   string // a never-expiring PAT of alice
	patID string
}

// newFixture serves a fake with user alice through httptest; unexpected
// routes fail the test unless the test overrides OnUnexpected.
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	clk := clock.NewFake(t0)
	opts.Clock = clk
	if opts.OnUnexpected == nil {
		opts.OnUnexpected = func(msg string) { t.Errorf("%s", msg) }
	}
	fw := New(opts)
	fw.AddUser(alice, "Alice Example")
	pat, id := fw.IssuePAT(alice, "laptop", 0)
	ts := httptest.NewServer(fw.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(fw.Close)
	return &fixture{fw: fw, clk: clk, url: ts.URL, pat: pat, patID: id}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (r response) errorCode(t *testing.T) any { return r.json(t)["error_code"] }

func do(t *testing.T, url, method, path, token, body string) response {
	t.Helper()
	resp, err := doErr(context.Background(), http.DefaultClient, url, method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func doErr(ctx context.Context, c *http.Client, url, method, path, token, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url+path, rd)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

type created struct {
	TokenValue string `json:"token_value"`
	TokenInfo  struct {
		TokenID      string `json:"token_id"`
		CreationTime int64  `json:"creation_time"`
		ExpiryTime   int64  `json:"expiry_time"`
		Comment      string `json:"comment"`
	} `json:"token_info"`
}

func createToken(t *testing.T, url, pat string, lifetimeSeconds int, comment string) created {
	t.Helper()
	r := do(t, url, http.MethodPost, PathTokenCreate, pat,
		fmt.Sprintf(`{"lifetime_seconds":%d,"comment":%q}`, lifetimeSeconds, comment))
	if r.status != http.StatusOK {
		t.Fatalf("create: status %d body %s", r.status, r.body)
	}
	var c created
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, Options{})
	expiring, _ := f.fw.IssuePAT(alice, "short", time.Hour)
	expired, _ := f.fw.IssuePAT(alice, "old", -time.Minute)
	revoked, revokedID := f.fw.IssuePAT(alice, "revoked", 0)
	if !f.fw.RevokeToken(revokedID) {
		t.Fatal("RevokeToken reported the live token as not live")
	}
	f.clk.Advance(100 * 365 * 24 * time.Hour) // only never-expiring tokens survive

	tests := []struct {
		name      string
		authz     string // full Authorization header; "" sends none
		status    int
		exactBody string
		code      any
	}{
		{name: "live never-expiring token", authz: "Bearer " + f.pat, status: 200},
		{name: "lowercase scheme", authz: "bearer " + f.pat, status: 200},
		{name: "missing header", authz: "", status: 401, code: "UNAUTHENTICATED"},
		{name: "basic scheme", authz: "Basic dXNlcjpwYXNz", status: 401, code: "UNAUTHENTICATED"},
		{name: "empty bearer", authz: "Bearer ", status: 401, code: "UNAUTHENTICATED"},
		{name: "unknown token", authz: "Bearer dapi00000000000000000000000000000000", status: 403, exactBody: invalidTokenBody},
		{name: "expired token", authz: "Bearer " + expiring, status: 403, exactBody: invalidTokenBody},
		{name: "issued already expired", authz: "Bearer " + expired, status: 403, exactBody: invalidTokenBody},
		{name: "revoked token", authz: "Bearer " + revoked, status: 403, exactBody: invalidTokenBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.url+PathTokenList, nil)
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			r := response{status: resp.StatusCode, header: resp.Header, body: body}
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d (body %s)", r.status, tc.status, body)
			}
			if got := r.header.Get("X-Databricks-Org-Id"); got != DefaultOrgID {
				t.Errorf("org id header = %q, want %q", got, DefaultOrgID)
			}
			if tc.exactBody != "" && string(body) != tc.exactBody {
				t.Errorf("body = %s, want exactly %s", body, tc.exactBody)
			}
			if tc.code != nil {
				if got := r.errorCode(t); got != tc.code {
					t.Errorf("error_code = %v, want %v", got, tc.code)
				}
			}
		})
	}
}

func TestInvalidTokenErrorCodeIsNumeric(t *testing.T) {
	f := newFixture(t, Options{})
	r := do(t, f.url, http.MethodGet, PathMe, "dapinope", "")
	if code, ok := r.errorCode(t).(float64); !ok || code != 403 {
		t.Fatalf("error_code = %#v, want the JSON number 403", r.errorCode(t))
	}
}

func TestMe(t *testing.T) {
	f := newFixture(t, Options{OrgID: "42"})
	// The SDK sends a trailing "?"; routing must use the path.
	r := do(t, f.url, http.MethodGet, PathMe+"?", f.pat, "")
	if r.status != 200 {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	if got := r.header.Get("X-Databricks-Org-Id"); got != "42" {
		t.Errorf("org id header = %q, want 42", got)
	}
	// Every answer has its own request id, as the real API's do.
	again := do(t, f.url, http.MethodGet, PathMe, f.pat, "")
	id, id2 := r.header.Get("X-Request-Id"), again.header.Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) || id == id2 {
		t.Errorf("request ids = %q, %q; want two different UUIDs", id, id2)
	}
	var me struct {
		ID          string   `json:"id"`
		UserName    string   `json:"userName"`
		DisplayName string   `json:"displayName"`
		Active      bool     `json:"active"`
		Schemas     []string `json:"schemas"`
		Emails      []struct {
			Value   string `json:"value"`
			Primary bool   `json:"primary"`
			Type    string `json:"type"`
		} `json:"emails"`
	}
	if err := json.Unmarshal(r.body, &me); err != nil {
		t.Fatal(err)
	}
	if me.ID == "" || me.UserName != alice || me.DisplayName != "Alice Example" || !me.Active {
		t.Errorf("me = %+v", me)
	}
	if len(me.Emails) != 1 || me.Emails[0].Value != alice || !me.Emails[0].Primary || me.Emails[0].Type != "work" {
		t.Errorf("emails = %+v", me.Emails)
	}
	if len(me.Schemas) != 1 || me.Schemas[0] != "urn:ietf:params:scim:schemas:core:2.0:User" {
		t.Errorf("schemas = %v", me.Schemas)
	}

	// A second user sees themselves, with a different id.
	bobPAT, _ := f.fw.IssuePAT("bob@example.com", "", 0)
	bob := do(t, f.url, http.MethodGet, PathMe, bobPAT, "").json(t)
	if bob["userName"] != "bob@example.com" || bob["id"] == me.ID {
		t.Errorf("bob = %v (alice id %s)", bob, me.ID)
	}
}

func TestTokenCreate(t *testing.T) {
	f := newFixture(t, Options{})
	c := createToken(t, f.url, f.pat, 900, "coda-managed")

	if !regexp.MustCompile(`^dapi[0-9a-f]{32}$`).MatchString(c.TokenValue) {
		t.Errorf("token_value %q does not look like dapi<32 hex>", c.TokenValue)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(c.TokenInfo.TokenID) {
		t.Errorf("token_id %q is not 64 hex", c.TokenInfo.TokenID)
	}
	if c.TokenInfo.CreationTime != t0.UnixMilli() {
		t.Errorf("creation_time = %d, want %d", c.TokenInfo.CreationTime, t0.UnixMilli())
	}
	if want := t0.Add(900 * time.Second).UnixMilli(); c.TokenInfo.ExpiryTime != want {
		t.Errorf("expiry_time = %d, want %d", c.TokenInfo.ExpiryTime, want)
	}
	if c.TokenInfo.Comment != "coda-managed" {
		t.Errorf("comment = %q", c.TokenInfo.Comment)
	}
	if id, ok := f.fw.TokenIDForValue(c.TokenValue); !ok || id != c.TokenInfo.TokenID {
		t.Errorf("TokenIDForValue = %q, %v", id, ok)
	}
	minted := f.fw.MintedValues()
	if len(minted) != 2 || minted[0] != f.pat || minted[1] != c.TokenValue {
		t.Errorf("MintedValues has %d values, want the PAT then the new token", len(minted))
	}

	// The new token belongs to the caller and authenticates as them.
	live := f.fw.LiveTokens(alice)
	if len(live) != 2 || live[1].ID != c.TokenInfo.TokenID || live[1].UserName != alice ||
		live[1].NeverExpires || !live[1].Expiry.Equal(t0.Add(900*time.Second)) {
		t.Errorf("LiveTokens = %+v", live)
	}
	if me := do(t, f.url, http.MethodGet, PathMe, c.TokenValue, "").json(t); me["userName"] != alice {
		t.Errorf("new token authenticates as %v", me["userName"])
	}

	// It dies at its expiry per the clock, not before.
	f.clk.Advance(899 * time.Second)
	if r := do(t, f.url, http.MethodGet, PathMe, c.TokenValue, ""); r.status != 200 {
		t.Fatalf("1s before expiry: status %d", r.status)
	}
	f.clk.Advance(time.Second)
	if r := do(t, f.url, http.MethodGet, PathMe, c.TokenValue, ""); r.status != 403 || string(r.body) != invalidTokenBody {
		t.Fatalf("at expiry: status %d body %s", r.status, r.body)
	}
	if n := len(f.fw.LiveTokens(alice)); n != 1 {
		t.Errorf("LiveTokens after expiry has %d tokens, want 1", n)
	}
}

func TestTokenCreateRejects(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"lifetime missing", `{"comment":"x"}`, 400, "INVALID_PARAMETER_VALUE"},
		{"lifetime zero", `{"lifetime_seconds":0}`, 400, "INVALID_PARAMETER_VALUE"},
		{"lifetime negative", `{"lifetime_seconds":-5}`, 400, "INVALID_PARAMETER_VALUE"},
		{"lifetime huge", `{"lifetime_seconds":9223372036854775807}`, 400, "INVALID_PARAMETER_VALUE"},
		{"lifetime string", `{"lifetime_seconds":"900"}`, 400, "INVALID_PARAMETER_VALUE"},
		{"not JSON", `lifetime_seconds=900`, 400, "MALFORMED_REQUEST"},
		{"truncated JSON", `{"lifetime_seconds":9`, 400, "MALFORMED_REQUEST"},
		{"JSON array", `[1]`, 400, "MALFORMED_REQUEST"},
		{"empty body", ``, 400, "MALFORMED_REQUEST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			r := do(t, f.url, http.MethodPost, PathTokenCreate, f.pat, tc.body)
			if r.status != tc.status || r.errorCode(t) != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if n := len(f.fw.LiveTokens(alice)); n != 1 {
				t.Errorf("a rejected create left %d live tokens, want 1", n)
			}
		})
	}
}

func TestQuota(t *testing.T) {
	f := newFixture(t, Options{MaxLiveTokens: 3}) // alice holds 1 PAT already
	short := createToken(t, f.url, f.pat, 60, "a")
	createToken(t, f.url, f.pat, 3600, "b")

	quotaExceeded := func() {
		t.Helper()
		r := do(t, f.url, http.MethodPost, PathTokenCreate, f.pat, `{"lifetime_seconds":60}`)
		if r.status != 400 || r.errorCode(t) != "QUOTA_EXCEEDED" || r.json(t)["message"] == "" {
			t.Fatalf("create over quota: %d %s", r.status, r.body)
		}
	}
	quotaExceeded()

	// The quota is per user.
	bob, _ := f.fw.IssuePAT("bob@example.com", "", 0)
	createToken(t, f.url, bob, 60, "bob's")

	// Expired tokens stop counting.
	f.clk.Advance(60 * time.Second)
	c := createToken(t, f.url, f.pat, 60, "c")
	quotaExceeded()

	// So do deleted ones.
	if r := do(t, f.url, http.MethodPost, PathTokenDelete, f.pat, `{"token_id":"`+c.TokenInfo.TokenID+`"}`); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	createToken(t, f.url, f.pat, 60, "d")
	if live := f.fw.LiveTokens(alice); len(live) != 3 || live[1].ID == short.TokenInfo.TokenID {
		t.Errorf("LiveTokens = %+v, want the PAT, b and d", live)
	}

	// IssuePAT seeds state and is not held to the quota.
	f.fw.IssuePAT(alice, "seeded", 0)
	if n := len(f.fw.LiveTokens(alice)); n != 4 {
		t.Errorf("live tokens = %d, want 4", n)
	}
}

func TestTokenDelete(t *testing.T) {
	tests := []struct {
		name   string
		target func(f *fixture) string // returns the body
		status int
		code   string
	}{
		{
			name: "own live token",
			target: func(f *fixture) string {
				_, id := f.fw.IssuePAT(alice, "other", 0)
				return `{"token_id":"` + id + `"}`
			},
			status: 200,
		},
		{
			name:   "unknown id",
			target: func(*fixture) string { return `{"token_id":"deadbeef"}` },
			status: 404, code: "RESOURCE_DOES_NOT_EXIST",
		},
		{
			name: "another user's token",
			target: func(f *fixture) string {
				_, id := f.fw.IssuePAT("bob@example.com", "", 0)
				return `{"token_id":"` + id + `"}`
			},
			status: 404, code: "RESOURCE_DOES_NOT_EXIST",
		},
		{
			name: "already deleted",
			target: func(f *fixture) string {
				_, id := f.fw.IssuePAT(alice, "", 0)
				f.fw.RevokeToken(id)
				return `{"token_id":"` + id + `"}`
			},
			status: 404, code: "RESOURCE_DOES_NOT_EXIST",
		},
		{
			name: "expired",
			target: func(f *fixture) string {
				_, id := f.fw.IssuePAT(alice, "", -time.Second)
				return `{"token_id":"` + id + `"}`
			},
			status: 404, code: "RESOURCE_DOES_NOT_EXIST",
		},
		{
			name:   "token_id missing",
			target: func(*fixture) string { return `{}` },
			status: 400, code: "INVALID_PARAMETER_VALUE",
		},
		{
			name:   "not JSON",
			target: func(*fixture) string { return `token_id=1` },
			status: 400, code: "MALFORMED_REQUEST",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			body := tc.target(f)
			r := do(t, f.url, http.MethodPost, PathTokenDelete, f.pat, body)
			if r.status != tc.status {
				t.Fatalf("status %d body %s, want %d", r.status, r.body, tc.status)
			}
			if tc.code == "" {
				if string(r.body) != "{}" {
					t.Errorf("body = %s, want {}", r.body)
				}
				if n := len(f.fw.LiveTokens(alice)); n != 1 {
					t.Errorf("live tokens after delete = %d, want 1", n)
				}
				return
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("error_code = %v, want %s", got, tc.code)
			}
			if tc.code == "RESOURCE_DOES_NOT_EXIST" {
				var req struct {
					TokenID string `json:"token_id"`
				}
				_ = json.Unmarshal([]byte(body), &req)
				if want := "Token with id " + req.TokenID + " does not exist"; r.json(t)["message"] != want {
					t.Errorf("message = %v, want %q", r.json(t)["message"], want)
				}
			}
		})
	}
}

func TestTokenDeletesItself(t *testing.T) {
	f := newFixture(t, Options{})
	r := do(t, f.url, http.MethodPost, PathTokenDelete, f.pat, `{"token_id":"`+f.patID+`"}`)
	if r.status != 200 {
		t.Fatalf("self delete: %d %s", r.status, r.body)
	}
	r = do(t, f.url, http.MethodGet, PathMe, f.pat, "")
	if r.status != 403 || string(r.body) != invalidTokenBody {
		t.Fatalf("after self delete: %d %s", r.status, r.body)
	}
	if _, ok := f.fw.TokenIDForValue(f.pat); !ok {
		t.Error("TokenIDForValue forgot a deleted token")
	}
}

func TestTokenList(t *testing.T) {
	f := newFixture(t, Options{})
	f.clk.Advance(time.Minute)
	a := createToken(t, f.url, f.pat, 3600, "a")
	b := createToken(t, f.url, f.pat, 3600, "b") // same millisecond as a
	gone := createToken(t, f.url, f.pat, 3600, "gone")
	do(t, f.url, http.MethodPost, PathTokenDelete, f.pat, `{"token_id":"`+gone.TokenInfo.TokenID+`"}`)
	f.fw.IssuePAT(alice, "expired", -time.Second)
	f.fw.IssuePAT("bob@example.com", "bob's", 0)

	r := do(t, f.url, http.MethodGet, PathTokenList, f.pat, "")
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var list struct {
		TokenInfos []struct {
			TokenID           string `json:"token_id"`
			CreationTime      int64  `json:"creation_time"`
			ExpiryTime        int64  `json:"expiry_time"`
			Comment           string `json:"comment"`
			CreatedByUsername string `json:"created_by_username"`
		} `json:"token_infos"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id       string
		comment  string
		created  int64
		expiry   int64
		username string
	}{
		{f.patID, "laptop", t0.UnixMilli(), -1, alice},
		{a.TokenInfo.TokenID, "a", a.TokenInfo.CreationTime, a.TokenInfo.ExpiryTime, alice},
		{b.TokenInfo.TokenID, "b", b.TokenInfo.CreationTime, b.TokenInfo.ExpiryTime, alice},
	}
	if len(list.TokenInfos) != len(want) {
		t.Fatalf("list has %d tokens, want %d: %s", len(list.TokenInfos), len(want), r.body)
	}
	for i, w := range want {
		g := list.TokenInfos[i]
		if g.TokenID != w.id || g.Comment != w.comment || g.CreationTime != w.created ||
			g.ExpiryTime != w.expiry || g.CreatedByUsername != w.username {
			t.Errorf("token %d = %+v, want %+v", i, g, w)
		}
	}

	// A revoked token can no longer list.
	f.fw.RevokeToken(a.TokenInfo.TokenID)
	if r := do(t, f.url, http.MethodGet, PathTokenList, a.TokenValue, ""); r.status != 403 {
		t.Fatalf("list with revoked token: %d", r.status)
	}
}

func TestFaults(t *testing.T) {
	type call struct {
		method, path string
		status       int
		code         string // "" for a normal answer
		message      string // checked when not ""
	}
	tests := []struct {
		name   string
		faults []struct {
			method, path string
			f            Fault
		}
		calls []call
	}{
		{
			name: "Times limits the fault",
			faults: []struct {
				method, path string
				f            Fault
			}{{"GET", PathMe, Fault{Times: 2, Status: 503}}},
			calls: []call{
				{"GET", PathMe, 503, "TEMPORARILY_UNAVAILABLE", "Service Unavailable"},
				{"GET", PathMe, 503, "TEMPORARILY_UNAVAILABLE", ""},
				{"GET", PathMe, 200, "", ""},
			},
		},
		{
			name: "Times 0 applies forever",
			faults: []struct {
				method, path string
				f            Fault
			}{{"GET", PathMe, Fault{Status: 500}}},
			calls: []call{
				{"GET", PathMe, 500, "INTERNAL_ERROR", ""},
				{"GET", PathMe, 500, "INTERNAL_ERROR", ""},
				{"GET", PathMe, 500, "INTERNAL_ERROR", ""},
			},
		},
		{
			name: "429 default code and custom message",
			faults: []struct {
				method, path string
				f            Fault
			}{{"GET", PathTokenList, Fault{Times: 1, Status: 429, Message: "slow down"}}},
			calls: []call{
				{"GET", PathTokenList, 429, "REQUEST_LIMIT_EXCEEDED", "slow down"},
				{"GET", PathTokenList, 200, "", ""},
			},
		},
		{
			name: "custom error code",
			faults: []struct {
				method, path string
				f            Fault
			}{{"POST", PathTokenCreate, Fault{Times: 1, Status: 403, ErrorCode: "PERMISSION_DENIED", Message: "no tokens for you"}}},
			calls: []call{
				{"POST", PathTokenCreate, 403, "PERMISSION_DENIED", "no tokens for you"},
				{"POST", PathTokenCreate, 200, "", ""},
			},
		},
		{
			name: "method and path must match",
			faults: []struct {
				method, path string
				f            Fault
			}{{"POST", PathMe, Fault{Status: 500}}, {"GET", PathTokenList, Fault{Status: 500}}},
			calls: []call{
				{"GET", PathMe, 200, "", ""},
				{"POST", PathTokenCreate, 200, "", ""},
			},
		},
		{
			name: "empty method matches any",
			faults: []struct {
				method, path string
				f            Fault
			}{{"", PathMe, Fault{Times: 1, Status: 502}}},
			calls: []call{
				{"GET", PathMe, 502, "INTERNAL_ERROR", "Bad Gateway"},
				{"GET", PathMe, 200, "", ""},
			},
		},
		{
			name: "order added, exhausted faults fall through",
			faults: []struct {
				method, path string
				f            Fault
			}{
				{"GET", PathMe, Fault{Times: 1, Status: 429}},
				{"GET", PathMe, Fault{Times: 1, Status: 503}},
			},
			calls: []call{
				{"GET", PathMe, 429, "REQUEST_LIMIT_EXCEEDED", ""},
				{"GET", PathMe, 503, "TEMPORARILY_UNAVAILABLE", ""},
				{"GET", PathMe, 200, "", ""},
			},
		},
		{
			name: "status 0 without delay is transparent",
			faults: []struct {
				method, path string
				f            Fault
			}{{"GET", PathMe, Fault{}}},
			calls: []call{{"GET", PathMe, 200, "", ""}},
		},
		{
			name: "faults answer before authentication and routing",
			faults: []struct {
				method, path string
				f            Fault
			}{{"GET", "/api/2.0/clusters/list", Fault{Times: 1, Status: 504}}},
			calls: []call{{"GET", "/api/2.0/clusters/list", 504, "DEADLINE_EXCEEDED", ""}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			for _, fl := range tc.faults {
				f.fw.AddFault(fl.method, fl.path, fl.f)
			}
			for i, c := range tc.calls {
				body := ""
				if c.method == http.MethodPost {
					body = `{"lifetime_seconds":60}`
				}
				r := do(t, f.url, c.method, c.path, f.pat, body)
				if r.status != c.status {
					t.Fatalf("call %d %s %s: status %d body %s, want %d", i, c.method, c.path, r.status, r.body, c.status)
				}
				if r.header.Get("X-Databricks-Org-Id") != DefaultOrgID {
					t.Errorf("call %d: missing org id header", i)
				}
				if c.code != "" && r.errorCode(t) != c.code {
					t.Errorf("call %d: error_code %v, want %s", i, r.errorCode(t), c.code)
				}
				if c.message != "" && r.json(t)["message"] != c.message {
					t.Errorf("call %d: message %v, want %s", i, r.json(t)["message"], c.message)
				}
			}
			// Faulted requests are recorded too, with the status answered.
			reqs := f.fw.Requests()
			if len(reqs) != len(tc.calls) {
				t.Fatalf("recorded %d requests, want %d", len(reqs), len(tc.calls))
			}
			for i, c := range tc.calls {
				if reqs[i].Status != c.status || reqs[i].Path != c.path || reqs[i].TokenID != f.patID {
					t.Errorf("request %d recorded as %+v", i, reqs[i])
				}
			}
		})
	}
}

func TestClearFaults(t *testing.T) {
	f := newFixture(t, Options{})
	f.fw.AddFault("GET", PathMe, Fault{Status: 500})
	if r := do(t, f.url, "GET", PathMe, f.pat, ""); r.status != 500 {
		t.Fatalf("status %d", r.status)
	}
	f.fw.ClearFaults()
	if r := do(t, f.url, "GET", PathMe, f.pat, ""); r.status != 200 {
		t.Fatalf("after ClearFaults: status %d", r.status)
	}
}

func TestFaultAfterHandlerLosesResponse(t *testing.T) {
	f := newFixture(t, Options{})
	f.fw.AddFault("POST", PathTokenCreate, Fault{Times: 1, Status: 500, AfterHandler: true})
	r := do(t, f.url, "POST", PathTokenCreate, f.pat, `{"lifetime_seconds":900,"comment":"lost"}`)
	if r.status != 500 || r.errorCode(t) != "INTERNAL_ERROR" || strings.Contains(string(r.body), "dapi") {
		t.Fatalf("got %d %s, want a plain 500", r.status, r.body)
	}
	live := f.fw.LiveTokens(alice)
	if len(live) != 2 || live[1].Comment != "lost" {
		t.Fatalf("the lost create did not mint a token: %+v", live)
	}
	if n := len(f.fw.MintedValues()); n != 2 {
		t.Errorf("MintedValues has %d values, want 2", n)
	}
	// The orphan is visible to the list call, which is how coda sweeps it.
	if !strings.Contains(string(do(t, f.url, "GET", PathTokenList, f.pat, "").body), live[1].ID) {
		t.Error("orphan missing from token/list")
	}
	// A lost delete really deletes.
	f.fw.AddFault("POST", PathTokenDelete, Fault{Times: 1, Status: 503, AfterHandler: true})
	r = do(t, f.url, "POST", PathTokenDelete, f.pat, `{"token_id":"`+live[1].ID+`"}`)
	if r.status != 503 {
		t.Fatalf("delete status %d", r.status)
	}
	if n := len(f.fw.LiveTokens(alice)); n != 1 {
		t.Errorf("lost delete left %d live tokens, want 1", n)
	}
	r = do(t, f.url, "POST", PathTokenDelete, f.pat, `{"token_id":"`+live[1].ID+`"}`)
	if r.status != 404 {
		t.Errorf("retried delete: status %d, want 404", r.status)
	}
}

func TestFaultDelay(t *testing.T) {
	t.Run("delay then normal answer", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.fw.AddFault("GET", PathMe, Fault{Times: 1, Delay: 100 * time.Millisecond})
		start := time.Now()
		r := do(t, f.url, "GET", PathMe, f.pat, "")
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		if d := time.Since(start); d < 100*time.Millisecond {
			t.Errorf("answered after %v, want >= 100ms", d)
		}
		if f.clk.Now() != t0 {
			t.Error("a delay moved the fake clock")
		}
	})
	t.Run("delay then error", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.fw.AddFault("GET", PathMe, Fault{Times: 1, Delay: 50 * time.Millisecond, Status: 503})
		start := time.Now()
		if r := do(t, f.url, "GET", PathMe, f.pat, ""); r.status != 503 {
			t.Fatalf("status %d", r.status)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("answered after %v, want >= 50ms", d)
		}
	})

	// A client timeout during the delay: without AfterHandler nothing
	// happens; with it the token is minted although the client never hears.
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("client timeout, AfterHandler=%v", after), func(t *testing.T) {
			f := newFixture(t, Options{})
			f.fw.AddFault("POST", PathTokenCreate, Fault{Times: 1, Delay: 10 * time.Second, AfterHandler: after})
			c := &http.Client{Timeout: 100 * time.Millisecond}
			if _, err := doErr(context.Background(), c, f.url, "POST", PathTokenCreate, f.pat, `{"lifetime_seconds":60}`); err == nil {
				t.Fatal("request did not time out")
			}
			reqs := f.fw.Requests()
			if len(reqs) != 1 || reqs[0].Path != PathTokenCreate {
				t.Fatalf("requests = %+v", reqs)
			}
			waitFor(t, func() bool { return f.fw.Requests()[0].Status == StatusClientClosedRequest })
			want := 1
			if after {
				want = 2
			}
			if n := len(f.fw.LiveTokens(alice)); n != want {
				t.Errorf("live tokens = %d, want %d", n, want)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRecording(t *testing.T) {
	f := newFixture(t, Options{})
	c := createToken(t, f.url, f.pat, 60, "x")
	do(t, f.url, "GET", PathMe+"?", c.TokenValue, "")
	do(t, f.url, "GET", PathTokenList, "", "")
	do(t, f.url, "GET", PathTokenList, "dapiunknown", "")
	do(t, f.url, "POST", PathTokenDelete, f.pat, `{"token_id":"`+c.TokenInfo.TokenID+`"}`)
	do(t, f.url, "GET", PathMe, c.TokenValue, "") // deleted: still identified
	do(t, f.url, "GET", PathHostMetadata, "", "")

	want := []Request{
		{Method: "POST", Path: PathTokenCreate, Status: 200, TokenID: f.patID},
		{Method: "GET", Path: PathMe, Status: 200, TokenID: c.TokenInfo.TokenID},
		{Method: "GET", Path: PathTokenList, Status: 401},
		{Method: "GET", Path: PathTokenList, Status: 403},
		{Method: "POST", Path: PathTokenDelete, Status: 200, TokenID: f.patID},
		{Method: "GET", Path: PathMe, Status: 403, TokenID: c.TokenInfo.TokenID},
		{Method: "GET", Path: PathHostMetadata, Status: 404},
	}
	got := f.fw.Requests()
	if len(got) != len(want) {
		t.Fatalf("recorded %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	dump := fmt.Sprintf("%+v %#v", got, got)
	for _, v := range f.fw.MintedValues() {
		if strings.Contains(dump, v) {
			t.Error("a token value was recorded")
		}
	}

	// Requests returns a copy.
	got[0].Status = 999
	if f.fw.Requests()[0].Status == 999 {
		t.Error("Requests exposes internal state")
	}
	f.fw.ResetRequests()
	if n := len(f.fw.Requests()); n != 0 {
		t.Errorf("after ResetRequests: %d requests", n)
	}
	do(t, f.url, "GET", PathMe, f.pat, "")
	if n := len(f.fw.Requests()); n != 1 {
		t.Errorf("after reset and one call: %d requests", n)
	}
}

func TestUnexpectedRoutes(t *testing.T) {
	tests := []struct {
		name, method, path string
		unexpected         bool
	}{
		{"unknown path", "GET", "/api/2.0/clusters/list", true},
		{"wrong method on known path", "GET", PathTokenCreate, true},
		{"token update is not modelled", "PATCH", "/api/2.0/token/abc", true},
		{"host metadata is a plain 404", "GET", PathHostMetadata, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu   sync.Mutex
				msgs []string
			)
			f := newFixture(t, Options{OnUnexpected: func(msg string) {
				mu.Lock()
				defer mu.Unlock()
				msgs = append(msgs, msg)
			}})
			r := do(t, f.url, tc.method, tc.path, f.pat, "")
			if r.status != 404 || r.errorCode(t) != "ENDPOINT_NOT_FOUND" {
				t.Fatalf("got %d %s, want 404 ENDPOINT_NOT_FOUND", r.status, r.body)
			}
			mu.Lock()
			defer mu.Unlock()
			if !tc.unexpected {
				if len(msgs) != 0 {
					t.Fatalf("OnUnexpected called: %q", msgs)
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("OnUnexpected called %d times, want 1", len(msgs))
			}
			if !strings.Contains(msgs[0], tc.method+" "+tc.path) || !strings.Contains(msgs[0], "handler") {
				t.Errorf("message %q should name the route and hint at adding a handler", msgs[0])
			}
			if strings.Contains(msgs[0], f.pat) {
				t.Error("message leaks the token")
			}
		})
	}
}

func TestStartAndClose(t *testing.T) {
	fw := New(Options{Clock: clock.NewFake(t0)})
	if fw.URL() != "" {
		t.Errorf("URL before Start = %q", fw.URL())
	}
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	if !strings.HasPrefix(fw.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want loopback", fw.URL())
	}
	if err := fw.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	pat, _ := fw.IssuePAT(alice, "", 0)
	if r := do(t, fw.URL(), "GET", PathMe, pat, ""); r.status != 200 || r.header.Get("X-Databricks-Org-Id") != DefaultOrgID {
		t.Fatalf("status %d", r.status)
	}

	// Close aborts a pending delay instead of waiting for it.
	fw.AddFault("GET", PathMe, Fault{Delay: time.Minute})
	errc := make(chan error, 1)
	go func() {
		_, err := doErr(context.Background(), http.DefaultClient, fw.URL(), "GET", PathMe, pat, "")
		errc <- err
	}()
	waitFor(t, func() bool { return len(fw.Requests()) == 2 })
	start := time.Now()
	fw.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	<-errc
	fw.Close() // idempotent
	if _, err := doErr(context.Background(), http.DefaultClient, fw.URL(), "GET", PathMe, pat, ""); err == nil {
		t.Error("server still answers after Close")
	}
	New(Options{}).Close() // Close without Start
}

func TestDefaults(t *testing.T) {
	fw := New(Options{})
	if _, ok := fw.clock.(clock.Real); !ok {
		t.Errorf("default clock = %T", fw.clock)
	}
	before := time.Now()
	fw.IssuePAT(alice, "", time.Hour)
	live := fw.LiveTokens(alice)
	if len(live) != 1 || live[0].Created.Before(before) || !live[0].Expiry.Equal(live[0].Created.Add(time.Hour)) {
		t.Errorf("LiveTokens = %+v: the core does not share the default clock", live)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				c := createToken(t, f.url, f.pat, 60, "c")
				do(t, f.url, "GET", PathTokenList, c.TokenValue, "")
				do(t, f.url, "POST", PathTokenDelete, c.TokenValue, `{"token_id":"`+c.TokenInfo.TokenID+`"}`)
				f.fw.LiveTokens(alice)
				f.fw.Requests()
				f.fw.AddFault("GET", PathMe, Fault{Times: 1})
				f.clk.Advance(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if n := len(f.fw.LiveTokens(alice)); n != 1 {
		t.Errorf("live tokens = %d, want 1", n)
	}
	if n := len(f.fw.MintedValues()); n != 81 {
		t.Errorf("minted = %d, want 81", n)
	}
}

func TestErrorsAreJSON(t *testing.T) {
	// Every error answer is a JSON object with error_code and message.
	f := newFixture(t, Options{OnUnexpected: func(string) {}})
	f.fw.AddFault("GET", "/faulted", Fault{Status: 503})
	for _, c := range []struct{ method, path, token, body string }{
		{"GET", PathMe, "", ""},
		{"GET", PathMe, "dapix", ""},
		{"POST", PathTokenCreate, f.pat, "{"},
		{"GET", "/nope", f.pat, ""},
		{"GET", "/faulted", f.pat, ""},
	} {
		r := do(t, f.url, c.method, c.path, c.token, c.body)
		m := r.json(t)
		if m["error_code"] == nil || m["message"] == "" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
		if r.status < 400 {
			t.Errorf("%s %s: status %d", c.method, c.path, r.status)
		}
	}
}
