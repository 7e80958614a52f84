package tokenapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/clock"
)

// Most of the core's behaviour is tested through package fakeworkspace,
// which wraps it; these tests cover what only the bare core shows.

const alice = "alice@example.com"

func call(t *testing.T, url, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestBareServer is what `coda demo` runs: the token lifecycle works, and
// the routes only tests need are unexpected routes.
func TestBareServer(t *testing.T) {
	var (
		mu   sync.Mutex
		msgs []string
	)
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	fw := New(Options{Clock: clk, OnUnexpected: func(m string) {
		mu.Lock()
		defer mu.Unlock()
		msgs = append(msgs, m)
	}})
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	pat, patID := fw.IssuePAT(alice, "laptop", 0)

	status, body := call(t, fw.URL(), "POST", PathTokenCreate, pat, `{"lifetime_seconds":60,"comment":"coda:x"}`)
	if status != 200 {
		t.Fatalf("create: %d %s", status, body)
	}
	var created struct {
		TokenValue string `json:"token_value"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if status, body := call(t, fw.URL(), "GET", PathMe, created.TokenValue, ""); status != 200 || !strings.Contains(body, alice) {
		t.Errorf("Me: %d %s", status, body)
	}
	clk.Advance(time.Minute)
	if status, body := call(t, fw.URL(), "GET", PathMe, created.TokenValue, ""); status != 403 || body != InvalidTokenBody {
		t.Errorf("expired token: %d %s", status, body)
	}

	for _, p := range []struct{ method, path string }{
		{"POST", "/serving-endpoints/anthropic/v1/messages"},
		{"GET", "/api/2.0/serving-endpoints"},
	} {
		if status, _ := call(t, fw.URL(), p.method, p.path, pat, `{}`); status != 404 {
			t.Errorf("%s %s: %d, want 404", p.method, p.path, status)
		}
	}
	mu.Lock()
	if len(msgs) != 2 {
		t.Errorf("OnUnexpected calls: %q", msgs)
	}
	mu.Unlock()
	reqs := fw.Requests()
	if len(reqs) != 5 || reqs[0] != (Request{Method: "POST", Path: PathTokenCreate, Status: 200, TokenID: patID}) {
		t.Errorf("requests %+v", reqs)
	}
	for _, r := range reqs {
		if r.Protocol != "" || r.Model != "" {
			t.Errorf("the bare core described a request: %+v", r)
		}
	}
}

func TestTokenListEmptyIsArray(t *testing.T) {
	// Over HTTP the caller's own token is always listed, so call the handler.
	fw := New(Options{})
	rec := httptest.NewRecorder()
	fw.handleTokenList(rec, nil, &token{userName: "nobody"})
	if got := rec.Body.String(); got != `{"token_infos":[]}` {
		t.Errorf("empty list = %s, want an empty array", got)
	}
}

func TestDefaults(t *testing.T) {
	fw := New(Options{})
	if _, ok := fw.clock.(clock.Real); !ok {
		t.Errorf("default clock = %T", fw.clock)
	}
	if fw.orgID != DefaultOrgID || fw.maxLiveTokens != DefaultMaxLiveTokens {
		t.Errorf("defaults: org %q, max %d", fw.orgID, fw.maxLiveTokens)
	}
	before := time.Now()
	pat, _ := fw.IssuePAT(alice, "", time.Hour)
	live := fw.LiveTokens(alice)
	if len(live) != 1 || live[0].Created.Before(before) || !live[0].Expiry.Equal(live[0].Created.Add(time.Hour)) {
		t.Errorf("LiveTokens = %+v", live)
	}
	if _, ok := fw.TokenIDForValue(pat); !ok {
		t.Error("TokenIDForValue")
	}
	if _, ok := fw.TokenIDForValue("dapinope"); ok {
		t.Error("TokenIDForValue knows a value never minted")
	}
	fw.AddUser(alice, "Renamed")
	if fw.users[alice].displayName != "Renamed" {
		t.Error("AddUser did not update the display name")
	}
	New(Options{}).Close() // Close without Start
}
