package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tokens the fake token source hands out; long enough to be unmistakable
// in any header, log line or body that should not hold them.
const (
	tokOne = "dapitesttokenoneaaaaaaaaaaaaaaaa"
	tokTwo = "dapitesttokentwobbbbbbbbbbbbbbbb"
)

// fakeTokens is a TokenSource whose current token the test controls.
type fakeTokens struct {
	mu        sync.Mutex
	current   string
	next      string // what Refresh rotates to when asked about current
	tokenErr  error
	refErr    error
	tokens    atomic.Int32
	refreshes atomic.Int32
	rotations atomic.Int32
}

func (f *fakeTokens) Token(ctx context.Context) (string, error) {
	f.tokens.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenErr != nil {
		return "", f.tokenErr
	}
	return f.current, nil
}

// Refresh re-reads the current token and rotates when it is the stale one,
// as the caller's store-backed source does.
func (f *fakeTokens) Refresh(ctx context.Context, stale string) (string, error) {
	f.refreshes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refErr != nil {
		return "", f.refErr
	}
	if f.current == stale && f.next != "" {
		f.current, f.next = f.next, ""
		f.rotations.Add(1)
	}
	return f.current, nil
}

func (f *fakeTokens) set(cur, next string) {
	f.mu.Lock()
	f.current, f.next = cur, next
	f.mu.Unlock()
}

// seen is a request as the fake upstream received it.
type seen struct {
	Method, Path, RawPath, RawQuery, Host string
	Header                                http.Header
	Body                                  []byte
}

// upstream is a fake workspace on loopback that records every request.
type upstream struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []seen
	handle func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newUpstream(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *upstream {
	t.Helper()
	u := &upstream{handle: handle}
	if u.handle == nil {
		u.handle = func(w http.ResponseWriter, r *http.Request, body []byte) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true}`)
		}
	}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Host, r.Header.Clone(), body})
		u.mu.Unlock()
		u.handle(w, r, body)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// rig is a proxy in front of a fake upstream.
type rig struct {
	t      *testing.T
	up     *upstream
	tokens *fakeTokens
	key    string
	addr   string // 127.0.0.1:port of the proxy
	base   string // http://addr
	logMu  sync.Mutex
	logs   []string
}

func newRig(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte), mods ...func(*Config)) *rig {
	t.Helper()
	key, err := NewLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{t: t, up: newUpstream(t, handle), tokens: &fakeTokens{current: tokOne}, key: key}
	cfg := Config{Host: g.up.srv.URL, LocalKey: key, Tokens: g.tokens, Log: slog.New(&captureHandler{add: func(line string) {
		g.logMu.Lock()
		g.logs = append(g.logs, line)
		g.logMu.Unlock()
	}})}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	g.base = "http://" + g.addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		// Whatever the test did: the upstream never saw the local key, and
		// no log line holds the key or a token.
		for _, r := range g.up.requests() {
			dump := fmt.Sprintf("%s %s %s %s %v %s", r.Method, r.Path, r.RawQuery, r.Host, r.Header, r.Body)
			if strings.Contains(dump, key) {
				t.Errorf("the upstream saw the local key: %s", dump)
			}
		}
		g.logMu.Lock()
		defer g.logMu.Unlock()
		for _, l := range g.logs {
			if strings.Contains(l, key) || strings.Contains(l, tokOne) || strings.Contains(l, tokTwo) || strings.Contains(l, "\n") {
				t.Errorf("log line holds a secret or a newline: %q", l)
			}
		}
	})
	return g
}

// captureHandler keeps every record, Debug included, as "LEVEL msg k=v",
// unredacted, so a test sees exactly what the proxy logged.
type captureHandler struct{ add func(string) }

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.add(line)
	return nil
}

func (g *rig) logLines() []string {
	g.logMu.Lock()
	defer g.logMu.Unlock()
	return append([]string(nil), g.logs...)
}

// do sends a request to the proxy with the local key as Authorization
// unless hdr sets it otherwise ("" deletes a header).
func (g *rig) do(method, path string, body io.Reader, hdr map[string]string) *http.Response {
	g.t.Helper()
	req, err := http.NewRequest(method, g.base+path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// raw writes a request as bytes (for what a Go client would not send)
// and returns the answer's status and body.
func raw(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func wantProxyError(t *testing.T, body string) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Type != "coda_proxy_error" || e.Error.Message == "" {
		t.Errorf("answer %q is not the proxy's JSON error", body)
	}
}

func TestMissingOrWrongKeyIs401(t *testing.T) {
	g := newRig(t, nil)
	wrong := strings.Repeat("x", len(g.key))
	for name, hdr := range map[string]map[string]string{
		"no key":                        {"Authorization": ""},
		"wrong bearer":                  {"Authorization": "Bearer " + wrong},
		"key prefix":                    {"Authorization": "Bearer " + g.key[:len(g.key)-1]},
		"key with suffix":               {"Authorization": "Bearer " + g.key + "x"},
		"basic scheme":                  {"Authorization": "Basic " + g.key},
		"bare key in Authorization":     {"Authorization": g.key},
		"wrong x-api-key":               {"Authorization": "", "X-Api-Key": wrong},
		"wrong x-goog-api-key":          {"Authorization": "", "X-Goog-Api-Key": wrong},
		"right bearer, wrong x-api-key": {"X-Api-Key": wrong},
		"right x-api-key, wrong goog":   {"Authorization": "", "X-Api-Key": g.key, "X-Goog-Api-Key": wrong},
		"upstream token instead":        {"Authorization": "Bearer " + tokOne},
	} {
		t.Run(name, func(t *testing.T) {
			resp := g.do("POST", "/serving-endpoints/anthropic/v1/messages", strings.NewReader(`{}`), hdr)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
			wantProxyError(t, readAll(t, resp.Body))
		})
	}
	// The key only in the query string (Gemini's old ?key=) is not accepted.
	resp := g.do("POST", "/serving-endpoints/gemini/v1beta/models/m:generateContent?key="+g.key, nil, map[string]string{"Authorization": ""})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("key in the query: status %d, want 401", resp.StatusCode)
	}
	if n := len(g.up.requests()); n != 0 {
		t.Errorf("%d requests forwarded, want none", n)
	}
	if n := g.tokens.tokens.Load(); n != 0 {
		t.Errorf("the token source was asked %d times for unauthenticated requests", n)
	}
}

func TestKeyHeadersStrippedAndTokenSent(t *testing.T) {
	g := newRig(t, nil)
	for name, hdr := range map[string]map[string]string{
		"bearer (Codex, OpenCode)":           {},
		"bearer and x-api-key (Claude Code)": {"X-Api-Key": "KEY"},
		"x-api-key only":                     {"Authorization": "", "X-Api-Key": "KEY"},
		"bearer and x-goog-api-key (Gemini)": {"X-Goog-Api-Key": "KEY"},
		"x-goog-api-key only":                {"Authorization": "", "X-Goog-Api-Key": "KEY"},
		"lower-case bearer scheme":           {"Authorization": "bearer KEY"},
	} {
		t.Run(name, func(t *testing.T) {
			before := len(g.up.requests())
			for k, v := range hdr {
				hdr[k] = strings.ReplaceAll(v, "KEY", g.key)
			}
			hdr["X-Databricks-Use-Coding-Agent-Mode"] = "true"
			hdr["Cookie"] = "session=abc"
			hdr["X-Forwarded-For"] = "203.0.113.9"
			hdr["Accept-Encoding"] = "br"
			resp := g.do("POST", "/serving-endpoints/anthropic/v1/messages?beta=true", strings.NewReader(`{"model":"m"}`), hdr)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp.Body))
			}
			reqs := g.up.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests forwarded, want 1", len(reqs))
			}
			r := reqs[0]
			if got := r.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+tokOne {
				t.Errorf("upstream Authorization %q, want the current token", got)
			}
			for _, h := range []string{"X-Api-Key", "X-Goog-Api-Key", "Cookie", "X-Forwarded-For", "Forwarded"} {
				if v := r.Header.Values(h); len(v) != 0 {
					t.Errorf("upstream got %s: %q", h, v)
				}
			}
			if r.Header.Get("X-Databricks-Use-Coding-Agent-Mode") != "true" {
				t.Error("the agent's own header was not forwarded")
			}
			if ae := r.Header.Get("Accept-Encoding"); ae == "br" {
				t.Error("the agent's Accept-Encoding was forwarded")
			}
			if r.Path != "/serving-endpoints/anthropic/v1/messages" || r.RawQuery != "beta=true" || string(r.Body) != `{"model":"m"}` {
				t.Errorf("upstream got %s ?%s %q", r.Path, r.RawQuery, r.Body)
			}
			if r.Host != strings.TrimPrefix(g.up.srv.URL, "http://") {
				t.Errorf("upstream Host %q, want its own name", r.Host)
			}
		})
	}
}

func TestRefusedRequestsForwardNothing(t *testing.T) {
	g := newRig(t, nil)
	auth := "Authorization: Bearer " + g.key + "\r\n"
	req := func(line, host string, extra ...string) string {
		return line + " HTTP/1.1\r\nHost: " + host + "\r\n" + auth + strings.Join(extra, "") + "Content-Length: 0\r\nConnection: close\r\n\r\n"
	}
	p := "/serving-endpoints/m/invocations"
	cases := []struct {
		name, request string
		status        int
	}{
		{"foreign Host", req("POST "+p, "evil.example"), 403},
		{"foreign Host with port", req("POST "+p, "evil.example:"+port(g.addr)), 403},
		{"rebinding name that resolves to loopback", req("POST "+p, "localhost.evil.example:"+port(g.addr)), 403},
		{"Host 0.0.0.0", req("POST "+p, "0.0.0.0:"+port(g.addr)), 403},
		{"Host with a bad port", req("POST "+p, "127.0.0.1:x"), 403},
		{"absolute URI elsewhere", req("GET http://evil.example/", "127.0.0.1"), 400},
		{"absolute URI to the workspace path", req("POST http://"+g.addr+p, g.addr), 400},
		{"asterisk form", req("OPTIONS *", g.addr), 400},
		{"CONNECT", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n" + auth + "\r\n", 405},
		{"OPTIONS (CORS preflight)", req("OPTIONS "+p, g.addr), 405},
		{"PUT", req("PUT "+p, g.addr), 405},
		{"DELETE", req("DELETE "+p, g.addr), 405},
		{"web page (Origin)", req("POST "+p, g.addr, "Origin: https://evil.example\r\n"), 403},
		{"web page (Sec-Fetch-Site)", req("POST "+p, g.addr, "Sec-Fetch-Site: cross-site\r\n"), 403},
		{"websocket upgrade", req("GET "+p, g.addr, "Connection: Upgrade\r\nUpgrade: websocket\r\n"), 400},
		{"token API", req("GET /api/2.0/token/list", g.addr), 404},
		{"root", req("GET /", g.addr), 404},
		{"family root only", req("GET /serving-endpoints", g.addr), 404},
		{"family root with slash", req("GET /serving-endpoints/", g.addr), 404},
		{"family in wrong case", req("GET /Serving-Endpoints/m/invocations", g.addr), 404},
		{"gateway without gateway host", req("POST /gateway/anthropic/v1/messages", g.addr), 404},
		{"traversal", req("GET /serving-endpoints/../api/2.0/token/list", g.addr), 400},
		{"traversal inside", req("GET /serving-endpoints/m/../../api/2.0/token/list", g.addr), 400},
		{"traversal staying inside", req("GET /serving-endpoints/a/../m/invocations", g.addr), 400},
		{"encoded traversal", req("GET /serving-endpoints/%2e%2e/api/2.0/token/list", g.addr), 400},
		{"encoded traversal upper case", req("GET /serving-endpoints/%2E%2E/api/2.0/token/list", g.addr), 400},
		{"encoded slash traversal", req("GET /serving-endpoints/m%2f..%2f..%2fapi/2.0/token/list", g.addr), 400},
		{"double-encoded traversal", req("GET /serving-endpoints/%252e%252e/api/2.0/token/list", g.addr), 400},
		{"dot segment", req("GET /serving-endpoints/./m/invocations", g.addr), 400},
		{"path parameter traversal", req("GET /serving-endpoints/..;/api/2.0/token/list", g.addr), 400},
		{"backslash traversal", req("GET /serving-endpoints/..%5capi/2.0/token/list", g.addr), 400},
		{"leading double slash", req("GET //evil.example/serving-endpoints/m", g.addr), 404},
		{"key in another header", req("POST "+p, g.addr, "X-Note: "+g.key+"\r\n"), 400},
		{"key in the query too", req("POST "+p+"?key="+g.key, g.addr), 400},
		{"key encoded in the query", req("POST "+p+"?k=%63"+g.key[1:], g.addr), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := raw(t, g.addr, c.request)
			if status != c.status {
				t.Errorf("status %d, want %d (%s)", status, c.status, body)
			}
		})
	}
	if n := len(g.up.requests()); n != 0 {
		t.Errorf("%d refused requests reached the upstream: %+v", n, g.up.requests())
	}
	if len(g.logLines()) < len(cases) {
		t.Errorf("%d log lines for %d refusals", len(g.logLines()), len(cases))
	}
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

func TestLoopbackHostsAccepted(t *testing.T) {
	g := newRig(t, nil)
	for _, host := range []string{"127.0.0.1", "127.0.0.1:" + port(g.addr), "localhost", "LOCALHOST:" + port(g.addr), "[::1]", "[::1]:" + port(g.addr)} {
		status, body := raw(t, g.addr, "POST /ai-gateway/anthropic/v1/messages HTTP/1.1\r\nHost: "+host+
			"\r\nAuthorization: Bearer "+g.key+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		if status != 200 {
			t.Errorf("Host %s: status %d (%s)", host, status, body)
		}
	}
	if n := len(g.up.requests()); n != 6 {
		t.Errorf("%d requests forwarded, want 6", n)
	}
}

func TestPathsForwarded(t *testing.T) {
	var gw *upstream
	gw = newUpstream(t, nil)
	g := newRig(t, nil, func(c *Config) { c.GatewayHost = gw.srv.URL })
	cases := []struct{ in, up string }{
		{"/serving-endpoints/anthropic/v1/messages?beta=true", "/serving-endpoints/anthropic/v1/messages"},
		{"/serving-endpoints/responses", "/serving-endpoints/responses"},
		{"/serving-endpoints/gemini/v1beta/models/databricks-gemini-2-5-pro:streamGenerateContent?alt=sse",
			"/serving-endpoints/gemini/v1beta/models/databricks-gemini-2-5-pro:streamGenerateContent"},
		{"/ai-gateway/codex/v1/responses", "/ai-gateway/codex/v1/responses"},
		{"/serving-endpoints//anthropic/v1/messages", "/serving-endpoints/anthropic/v1/messages"},
	}
	for _, c := range cases {
		resp := g.do("POST", c.in, strings.NewReader("{}"), nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", c.in, resp.StatusCode)
		}
		reqs := g.up.requests()
		if got := reqs[len(reqs)-1].Path; got != c.up {
			t.Errorf("%s went upstream as %s, want %s", c.in, got, c.up)
		}
	}
	resp := g.do("POST", "/gateway/anthropic/v1/messages", strings.NewReader("{}"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("gateway: status %d", resp.StatusCode)
	}
	if r := gw.requests(); len(r) != 1 || r[0].Path != "/anthropic/v1/messages" || r[0].Header.Get("Authorization") != "Bearer "+tokOne {
		t.Errorf("the gateway host got %+v", r)
	}
	if n := len(g.up.requests()); n != len(cases) {
		t.Errorf("the workspace host got %d requests, want %d", n, len(cases))
	}
}

// sseHandler writes one event, waits for release, then writes the rest.
func sseHandler(release <-chan struct{}) func(w http.ResponseWriter, r *http.Request, body []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\"}\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "event: content_block_delta\ndata: {\"text\":\"hi\"}\n\n")
		fmt.Fprint(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	}
}

const wantFirstEvent = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
const wantRest = "event: content_block_delta\ndata: {\"text\":\"hi\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

// readEvent reads one SSE event (through its blank line).
func readEvent(br *bufio.Reader) (string, error) {
	var ev strings.Builder
	for {
		line, err := br.ReadString('\n')
		ev.WriteString(line)
		if err != nil {
			return ev.String(), err
		}
		if line == "\n" {
			return ev.String(), nil
		}
	}
}

func TestFirstEventArrivesBeforeUpstreamFinishes(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	var releasedByWatchdog atomic.Bool
	g := newRig(t, sseHandler(release))
	// Only a safety net, so a buffering proxy fails instead of hanging: the
	// upstream is released by the test after the first event arrives.
	firstRead := make(chan struct{})
	go func() {
		select {
		case <-firstRead:
		case <-time.After(time.Minute):
			releasedByWatchdog.Store(true)
			once.Do(func() { close(release) })
		}
	}()
	resp := g.do("POST", "/serving-endpoints/anthropic/v1/messages", strings.NewReader(`{"stream":true}`), nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	first, err := readEvent(br)
	close(firstRead)
	if err != nil || first != wantFirstEvent {
		t.Fatalf("first event %q, %v", first, err)
	}
	if releasedByWatchdog.Load() {
		t.Fatal("the first event arrived only after the upstream finished: the proxy buffers")
	}
	once.Do(func() { close(release) })
	if rest := readAll(t, br); rest != wantRest {
		t.Errorf("rest of the stream %q, want %q", rest, wantRest)
	}
}

func TestConcurrentStreamsDuringTokenChange(t *testing.T) {
	const n = 100
	release := make(chan struct{})
	var oneRevoked atomic.Bool
	var forbidden atomic.Int32
	var mu sync.Mutex
	attempts := map[string]int{}
	stream := sseHandler(release)
	g := newRig(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		attempts[r.Header.Get("X-Test-Id")]++
		mu.Unlock()
		switch r.Header.Get("Authorization") {
		case "Bearer " + tokOne:
			if oneRevoked.Load() {
				forbidden.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(403)
				io.WriteString(w, `{"error_code":403,"message":"Invalid access token."}`)
				return
			}
		case "Bearer " + tokTwo:
		default:
			w.WriteHeader(401)
			return
		}
		stream(w, r, body)
	})
	g.tokens.set(tokOne, tokTwo)

	type result struct {
		status int
		body   string
		err    error
	}
	results := make([]result, n)
	var started, done sync.WaitGroup
	run := func(i int) {
		defer done.Done()
		req, _ := http.NewRequest("POST", g.base+"/serving-endpoints/anthropic/v1/messages", strings.NewReader(fmt.Sprintf(`{"i":%d}`, i)))
		req.Header.Set("Authorization", "Bearer "+g.key)
		req.Header.Set("X-Test-Id", fmt.Sprint(i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			results[i].err = err
			started.Done()
			return
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		first, err := readEvent(br)
		started.Done()
		rest, err2 := io.ReadAll(br)
		results[i] = result{resp.StatusCode, first + string(rest), errors.Join(err, err2)}
	}
	// The first half streams with the first token.
	started.Add(n / 2)
	done.Add(n)
	for i := 0; i < n/2; i++ {
		go run(i)
	}
	started.Wait()
	// The token changes: the first one is dead now, and the source still
	// hands it out until a refresh rotates it.
	oneRevoked.Store(true)
	started.Add(n - n/2)
	for i := n / 2; i < n; i++ {
		go run(i)
	}
	started.Wait()
	close(release)
	done.Wait()

	for i, r := range results {
		if r.err != nil || r.status != 200 || r.body != wantFirstEvent+wantRest {
			t.Errorf("request %d: status %d, err %v, body %q", i, r.status, r.err, r.body)
		}
	}
	if got := g.tokens.rotations.Load(); got != 1 {
		t.Errorf("%d rotations, want 1", got)
	}
	if forbidden.Load() == 0 {
		t.Error("no request met the dead token: the test did not test a token change")
	}
	if got, want := g.tokens.refreshes.Load(), forbidden.Load(); got != want {
		t.Errorf("%d refreshes for %d refusals", got, want)
	}
	for id, a := range attempts {
		if a > 2 {
			t.Errorf("request %s reached the upstream %d times", id, a)
		}
	}
}

func TestRetryOnce(t *testing.T) {
	refusal := func(status int, body string) func(http.ResponseWriter, *http.Request, []byte) {
		return func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	cases := []struct {
		name      string
		status    int
		body      string
		retried   bool
		refresh   func(*fakeTokens)
		wantCalls int32
	}{
		{"401", 401, `{"error_code":"UNAUTHENTICATED","message":"Credential was not sent"}`, true, nil, 1},
		{"401 plain text", 401, `unauthorized`, true, nil, 1},
		{"403 invalid access token", 403, `{"error_code":403,"message":"Invalid access token."}`, true, nil, 1},
		{"403 token expiring", 403, `{"error_code":403,"message":"Token is expiring within 30 seconds"}`, true, nil, 1},
		{"403 permission denied", 403, `{"error_code":"PERMISSION_DENIED","message":"User does not have permission to query the endpoint"}`, false, nil, 0},
		{"401, no newer token", 401, `{}`, false, func(f *fakeTokens) { f.next = "" }, 1},
		{"401, refresh fails", 401, `{}`, false, func(f *fakeTokens) { f.refErr = errors.New("profile needs login") }, 1},
		{"429", 429, `{"error_code":"REQUEST_LIMIT_EXCEEDED"}`, false, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newRig(t, refusal(c.status, c.body))
			g.tokens.set(tokOne, tokTwo)
			if c.refresh != nil {
				c.refresh(g.tokens)
			}
			resp := g.do("POST", "/serving-endpoints/m/invocations", strings.NewReader(`{"prompt":"x"}`), nil)
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want the upstream's %d passed through", resp.StatusCode, c.status)
			}
			if got := readAll(t, resp.Body); got != c.body {
				t.Errorf("body %q, want the upstream's %q", got, c.body)
			}
			if got := g.tokens.refreshes.Load(); got != c.wantCalls {
				t.Errorf("%d refreshes, want %d", got, c.wantCalls)
			}
			reqs := g.up.requests()
			want := 1
			if c.retried {
				want = 2
			}
			if len(reqs) != want {
				t.Fatalf("%d upstream requests, want %d", len(reqs), want)
			}
			if reqs[0].Header.Get("Authorization") != "Bearer "+tokOne {
				t.Error("the first attempt did not carry the current token")
			}
			if c.retried {
				if reqs[1].Header.Get("Authorization") != "Bearer "+tokTwo {
					t.Error("the retry did not carry the refreshed token")
				}
				if string(reqs[1].Body) != `{"prompt":"x"}` {
					t.Errorf("the retry sent body %q", reqs[1].Body)
				}
			}
		})
	}
}

func TestRetrySucceeds(t *testing.T) {
	g := newRig(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+tokTwo {
			w.WriteHeader(403)
			io.WriteString(w, `{"error_code":403,"message":"Invalid access token."}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(append([]byte("data: "), body...))
		w.Write([]byte("\n\n"))
	})
	g.tokens.set(tokOne, tokTwo)
	resp := g.do("POST", "/serving-endpoints/m/invocations", strings.NewReader(`{"n":1}`), nil)
	if body := readAll(t, resp.Body); resp.StatusCode != 200 || body != "data: {\"n\":1}\n\n" {
		t.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	if n := len(g.up.requests()); n != 2 {
		t.Errorf("%d upstream requests, want 2", n)
	}
	var retried bool
	for _, l := range g.logLines() {
		retried = retried || strings.Contains(l, "retrying once")
	}
	if !retried {
		t.Errorf("no log line says the request was retried: %q", g.logLines())
	}
	// The next request uses the refreshed token at once.
	resp = g.do("POST", "/serving-endpoints/m/invocations", strings.NewReader(`{"n":2}`), nil)
	if readAll(t, resp.Body); resp.StatusCode != 200 || len(g.up.requests()) != 3 {
		t.Errorf("status %d after %d upstream requests, want 200 after 3", resp.StatusCode, len(g.up.requests()))
	}
}

// TestLogLevels: a retried request shows at Debug as two upstream lines
// (the refused one and the retry, each with its status and the
// workspace's request id), the retry itself at Info, a refusal at Warn;
// no line holds a header value, a token or a credential from the query.
func TestLogLevels(t *testing.T) {
	g := newRig(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+tokTwo {
			w.Header().Set("X-Databricks-Request-Id", "req-refused")
			w.WriteHeader(403)
			io.WriteString(w, `{"error_code":403,"message":"Invalid access token."}`)
			return
		}
		w.Header().Set("X-Databricks-Request-Id", "req-ok")
		io.WriteString(w, `{}`)
	})
	g.tokens.set(tokOne, tokTwo)
	resp := g.do("POST", "/serving-endpoints/m/invocations?alt=sse&access_token=hunter2hunter2", strings.NewReader(`{"n":1}`), nil)
	if readAll(t, resp.Body); resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	resp = g.do("GET", "/elsewhere", nil, nil)
	readAll(t, resp.Body)

	url := g.up.srv.URL + "/serving-endpoints/m/invocations?access_token=REDACTED&alt=sse"
	want := []string{
		"DEBUG http method=POST url=" + url + " status=403 duration=",
		"INFO POST /serving-endpoints/m/invocations: the workspace answered 403 (invalid access token); retrying once with a refreshed token",
		"DEBUG http method=POST url=" + url + " status=200 duration=",
		"WARN refused GET /elsewhere: ",
	}
	lines := g.logLines()
	if len(lines) != len(want) {
		t.Fatalf("log lines:\n%s\nwant %d", strings.Join(lines, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want it to start with %q", i, lines[i], w)
		}
		if strings.Contains(lines[i], "hunter2") || strings.Contains(lines[i], "Bearer") {
			t.Errorf("line %d = %q holds a credential", i, lines[i])
		}
	}
	for i, id := range map[int]string{0: "request_id=req-refused", 2: "request_id=req-ok"} {
		if !strings.HasSuffix(lines[i], id) {
			t.Errorf("line %d = %q, want it to end with %s", i, lines[i], id)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	g := newRig(t, nil)
	big := bytes.Repeat([]byte("a"), 33<<20)
	t.Run("declared length", func(t *testing.T) {
		resp := g.do("POST", "/serving-endpoints/m/invocations", bytes.NewReader(big), nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
		if body := readAll(t, resp.Body); !strings.Contains(body, "32 MiB") {
			t.Errorf("413 answer %q does not say the limit", body)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		resp := g.do("POST", "/serving-endpoints/m/invocations", io.MultiReader(bytes.NewReader(big)), nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
	})
	if n := len(g.up.requests()); n != 0 {
		t.Fatalf("%d requests forwarded, want none", n)
	}
	t.Run("exactly the limit", func(t *testing.T) {
		resp := g.do("POST", "/serving-endpoints/m/invocations", io.MultiReader(bytes.NewReader(big[:MaxBodyBytes])), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		if r := g.up.requests(); len(r) != 1 || len(r[0].Body) != MaxBodyBytes {
			t.Errorf("upstream got %d requests", len(r))
		}
	})
}

func TestRedirectNotFollowed(t *testing.T) {
	elsewhere := newUpstream(t, nil)
	g := newRig(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		http.Redirect(w, r, elsewhere.srv.URL+"/steal", http.StatusTemporaryRedirect)
	})
	resp := g.do("POST", "/serving-endpoints/m/invocations", strings.NewReader("{}"), nil)
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "redirect") {
		t.Errorf("status %d, body %q; want 502 naming the redirect", resp.StatusCode, body)
	}
	if resp.Header.Get("Location") != "" {
		t.Error("the redirect reached the agent")
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	if n := len(g.up.requests()); n != 1 {
		t.Errorf("%d upstream requests, want 1", n)
	}
}

func TestTokenSourceFailure(t *testing.T) {
	g := newRig(t, nil)
	g.tokens.tokenErr = errors.New(`profile "p" is not logged in: run coda login`)
	resp := g.do("POST", "/serving-endpoints/m/invocations", strings.NewReader("{}"), nil)
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "coda login") {
		t.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	wantProxyError(t, body)
	if n := len(g.up.requests()); n != 0 {
		t.Errorf("%d requests forwarded without a token", n)
	}
}

func TestUpstreamDown(t *testing.T) {
	g := newRig(t, nil)
	g.up.srv.Close()
	resp := g.do("GET", "/serving-endpoints/models", nil, nil)
	if body := readAll(t, resp.Body); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, body %q", resp.StatusCode, body)
	}
}

func TestListen(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0", "127.0.0.1"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
	ln, err := Listen("localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if a := ln.Addr().(*net.TCPAddr); !a.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("localhost bound %s", a)
	}
	_, err = Listen(ln.Addr().String())
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("a taken port: %v", err)
	}
}

// fakeListener claims a non-loopback address.
type fakeListener struct{ net.Listener }

func (fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 80} }

func TestServeRefusesNonLoopbackListener(t *testing.T) {
	s, err := New(Config{Host: "https://example.cloud.databricks.com", LocalKey: strings.Repeat("k", 32), Tokens: &fakeTokens{}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(context.Background(), fakeListener{ln}); err == nil {
		t.Error("Serve accepted a non-loopback listener")
	}
}

func TestNewChecksConfig(t *testing.T) {
	key := strings.Repeat("k", 32)
	ts := &fakeTokens{}
	for name, cfg := range map[string]Config{
		"cleartext host":         {Host: "http://example.cloud.databricks.com", LocalKey: key, Tokens: ts},
		"no host":                {LocalKey: key, Tokens: ts},
		"cleartext gateway host": {Host: "https://h", GatewayHost: "http://1.ai-gateway.example", LocalKey: key, Tokens: ts},
		"short key":              {Host: "https://h", LocalKey: "short", Tokens: ts},
		"key with a space":       {Host: "https://h", LocalKey: key + " x", Tokens: ts},
		"no token source":        {Host: "https://h", LocalKey: key},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	a, _ := NewLocalKey()
	b, _ := NewLocalKey()
	if a == b || len(a) < MinKeyLen || !visibleASCII(a) {
		t.Errorf("NewLocalKey gave %q and %q", a, b)
	}
}

func TestRetryOnGzippedRefusal(t *testing.T) {
	g := newRig(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.Header.Get("Authorization") == "Bearer "+tokTwo {
			io.WriteString(w, "ok")
			return
		}
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Error("the proxy's transport did not ask for gzip")
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(403)
		zw := gzip.NewWriter(w)
		io.WriteString(zw, `{"error_code":403,"message":"Invalid access token."}`)
		zw.Close()
	})
	g.tokens.set(tokOne, tokTwo)
	resp := g.do("POST", "/serving-endpoints/m/invocations", strings.NewReader("{}"), map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	if body := readAll(t, resp.Body); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("status %d, body %q", resp.StatusCode, body)
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	g := newRig(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		<-r.Context().Done() // never answers
	}, func(c *Config) { c.ResponseHeaderTimeout = 50 * time.Millisecond })
	resp := g.do("POST", "/serving-endpoints/m/invocations", strings.NewReader("{}"), nil)
	if body := readAll(t, resp.Body); resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, body %q; want 504", resp.StatusCode, body)
	}
}

func TestAgentGoingAwayCancelsUpstream(t *testing.T) {
	cancelled := make(chan struct{})
	g := newRig(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, wantFirstEvent)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
		close(cancelled)
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", g.base+"/serving-endpoints/m/invocations", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+g.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := readEvent(bufio.NewReader(resp.Body)); err != nil || ev != wantFirstEvent {
		t.Fatalf("first event %q, %v", ev, err)
	}
	cancel()
	resp.Body.Close()
	<-cancelled // the upstream request ends with the agent's
}
