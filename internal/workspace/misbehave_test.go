package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace"
)

// Tests of a workspace (or something in front of it) that answers what
// the API never does: redirects, broken or oversized bodies, unusable new
// tokens. Every error must be one line and quote no token.

// tokenLike is what a leaked PAT looks like in text.
var tokenLike = regexp.MustCompile(`dapi[0-9a-f]{8,}`)

// assertClean fails unless err is one short line that holds none of the
// secrets, no token-shaped string and none of the SDK's request dump.
func assertClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n\x1b") {
		t.Errorf("error is not one plain line: %q", msg)
	}
	if len(msg) > 2*MaxMessageBytes+100 {
		t.Errorf("error is %d bytes long: %.200q…", len(msg), msg)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error quotes a token (…%s): %q", s[len(s)-4:], msg)
		}
	}
	if tokenLike.MatchString(msg) {
		t.Errorf("error holds something token-shaped: %q", msg)
	}
	for _, dump := range []string{"This is likely a bug", "Request log", "```", "< HTTP/", "> POST", "> GET"} {
		if strings.Contains(msg, dump) {
			t.Errorf("error holds the SDK's request dump (%q): %.300q", dump, msg)
		}
	}
}

// secretsOf is every token value the fake ever minted.
func secretsOf(srv *fakeworkspace.Server) []string { return srv.MintedValues() }

// recorder is a server that must never be reached: a redirect target.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD PATH auth=yes|no"
}

func newRecorder(t *testing.T, start func(*httptest.Server)) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		auth := "no"
		if req.Header.Get("Authorization") != "" {
			auth = "yes"
		}
		r.reqs = append(r.reqs, req.Method+" "+req.URL.Path+" auth="+auth)
		_, _ = w.Write([]byte(`{"userName":"mallory@example.com","token_infos":[],"endpoints":[]}`))
	}))
	start(r.Server)
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// redirectCall is one request coda makes, with the route a fault takes.
type redirectCall struct {
	name, method, path string
	call               func(ctx context.Context, c Client) error
}

var everyRequest = []redirectCall{
	{"Me", "GET", fakeworkspace.PathMe, func(ctx context.Context, c Client) error { _, err := c.Me(ctx); return err }},
	{"CreateToken", "POST", fakeworkspace.PathTokenCreate, func(ctx context.Context, c Client) error {
		_, err := c.CreateToken(ctx, 15*time.Minute, "coda: x")
		return err
	}},
	{"DeleteToken", "POST", fakeworkspace.PathTokenDelete, func(ctx context.Context, c Client) error { return c.DeleteToken(ctx, "0123") }},
	{"ListTokens", "GET", fakeworkspace.PathTokenList, func(ctx context.Context, c Client) error { _, err := c.ListTokens(ctx); return err }},
	{"ServingEndpoints", "GET", fakeworkspace.PathServingEndpoints, func(ctx context.Context, c Client) error {
		_, err := c.ServingEndpoints(ctx)
		return err
	}},
	{"Probe", "POST", "/serving-endpoints/anthropic/v1/messages", func(ctx context.Context, c Client) error {
		_, _, err := c.Probe(ctx, "POST", "/serving-endpoints/anthropic/v1/messages", `{}`)
		return err
	}},
}

// TestSDKClientRefusesRedirects: the workspace API never redirects, so a
// 3xx to any request is an error naming where it pointed, and the target
// never sees a request, let alone the token.
func TestSDKClientRefusesRedirects(t *testing.T) {
	type setup struct {
		name string
		// workspace serves the fake; it returns the client's host and base
		// transport.
		workspace func(t *testing.T, srv *fakeworkspace.Server) (string, http.RoundTripper)
		// target starts the server a redirect points to.
		target func(*httptest.Server)
		// location is the Location for the target's URL.
		location func(targetURL string) string
		want     func(targetURL string) string
	}
	plainWorkspace := func(t *testing.T, srv *fakeworkspace.Server) (string, http.RoundTripper) {
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		return srv.URL(), http.DefaultTransport
	}
	same := func(u string) string { return u }
	setups := []setup{
		{
			name:      "another port of the same host",
			workspace: plainWorkspace,
			target:    (*httptest.Server).Start,
			location:  func(u string) string { return u + "/api/2.0/steal?x=1" },
			want:      same,
		},
		{
			name: "https to http",
			workspace: func(t *testing.T, srv *fakeworkspace.Server) (string, http.RoundTripper) {
				ts := httptest.NewTLSServer(srv.Handler())
				t.Cleanup(ts.Close)
				return ts.URL, ts.Client().Transport
			},
			target:   (*httptest.Server).Start,
			location: func(u string) string { return u + "/api/2.0/preview/scim/v2/Me" },
			want:     same,
		},
		{
			name:      "another host",
			workspace: plainWorkspace,
			target:    (*httptest.Server).StartTLS,
			location: func(u string) string {
				return strings.Replace(u, "127.0.0.1", "localhost", 1) + "/collect"
			},
			want: func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) },
		},
	}
	for _, st := range setups {
		t.Run(st.name, func(t *testing.T) {
			for _, rc := range everyRequest {
				t.Run(rc.name, func(t *testing.T) {
					srv := fakeworkspace.New(fakeworkspace.Options{OnUnexpected: func(msg string) { t.Errorf("%s", msg) }})
					t.Cleanup(srv.Close)
					srv.AddUser(alice, "Alice Example")
					pat, _ := srv.IssuePAT(alice, "mine", 0)
					host, base := st.workspace(t, srv)
					target := newRecorder(t, st.target)
					srv.AddFault(rc.method, rc.path, fakeworkspace.Fault{Times: 1, Status: http.StatusFound, Body: []byte{},
						Header: http.Header{"Location": {st.location(target.URL)}}})
					c, err := newSDKClient(host, pat, base, nil)
					if err != nil {
						t.Fatal(err)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					err = rc.call(ctx, c)
					assertClean(t, err, append(secretsOf(srv), pat)...)
					want := fmt.Sprintf("the workspace answered 302 to %s; coda does not follow redirects with credentials", st.want(target.URL))
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("err = %v, want it to say %q", err, want)
					}
					var re *RedirectError
					if !errors.As(err, &re) || re.StatusCode != 302 {
						t.Errorf("err = %#v, want a *RedirectError", err)
					}
					if KindOf(err) != KindOther || KindOf(err).Retryable() {
						t.Errorf("kind %s, want a non-retryable KindOther", KindOf(err))
					}
					if got := target.requests(); len(got) != 0 {
						t.Errorf("the redirect target got requests: %v", got)
					}
					if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Status != 302 {
						t.Errorf("workspace requests = %+v, want exactly the one answered 302", reqs)
					}
				})
			}
		})
	}
}

func TestSDKClientRefusesEveryRedirectStatus(t *testing.T) {
	srv := startFake(t)
	pat, _ := srv.IssuePAT(alice, "mine", 0)
	c := newClient(t, srv.URL(), pat)
	tests := []struct {
		status   int
		location string
		want     string
	}{
		{301, "https://login.example.com/sso", "answered 301 to https://login.example.com;"},
		{303, "//other.example:8443/x", "answered 303 to http://other.example:8443;"},
		{307, "/api/2.1/preview/scim/v2/Me", "answered 307 to " + srv.URL() + ";"},
		{308, "https://u:p@evil.example/", "answered 308 to https://evil.example;"},
		{300, "", "answered 300 (a redirect);"},
		{304, "", "answered 304 (a redirect);"},
		{302, "https://adb-1.azuredatabricks.net/login.html?error=private-link-validation-error", "Private Link"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			h := http.Header{}
			if tt.location != "" {
				h.Set("Location", tt.location)
			}
			srv.AddFault("GET", fakeworkspace.PathMe, fakeworkspace.Fault{Times: 1, Status: tt.status, Header: h, Body: []byte{}})
			_, err := c.Me(context.Background())
			assertClean(t, err, pat)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "u:p") {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// NoRedirectClient and NoRedirectTransport are what other code that sends a
// workspace token upstream (a loopback proxy) builds on.
func TestNoRedirectClientAndTransport(t *testing.T) {
	target := newRecorder(t, (*httptest.Server).Start)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	clients := map[string]*http.Client{
		"NoRedirectClient": NoRedirectClient(5 * time.Second),
		// A client whose CheckRedirect would follow: the transport refuses.
		"NoRedirectTransport": {Transport: NoRedirectTransport(nil)},
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", redirector.URL+"/api", strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer dapi0123456789abcdef0123456789abcdef")
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got %d, want an error", resp.StatusCode)
			}
			var re *RedirectError
			if !errors.As(err, &re) || re.StatusCode != 307 || re.Target != target.URL {
				t.Errorf("err = %v, want a *RedirectError 307 to %s", err, target.URL)
			}
			if got := target.requests(); len(got) != 0 {
				t.Errorf("the redirect target got requests: %v", got)
			}
		})
	}
	// A CheckRedirect of its own is the second lock: a client whose
	// transport was swapped still refuses.
	c := NoRedirectClient(5 * time.Second)
	c.Transport = http.DefaultTransport
	resp, err := c.Get(redirector.URL)
	var re *RedirectError
	if err == nil {
		resp.Body.Close()
	}
	if !errors.As(err, &re) || len(target.requests()) != 0 {
		t.Errorf("with its transport swapped: err = %v, target got %v", err, target.requests())
	}
}

func TestSDKClientRefusesCleartextHosts(t *testing.T) {
	for _, host := range []string{"http://x.cloud.databricks.com", "http://10.1.2.3:8080"} {
		c, err := NewSDKClient(host, "dapi0123456789abcdef")
		if err == nil || c != nil || !strings.Contains(err.Error(), "use https://") {
			t.Errorf("NewSDKClient(%s) = %v, %v; want an error saying to use https", host, c, err)
		}
	}
}

// TestSDKClientErrorsAreOneLineWithoutTokens: whatever the workspace sends,
// an error is one line with the status, code and message, quotes no body
// and holds neither the client's token nor one just minted.
func TestSDKClientErrorsAreOneLineWithoutTokens(t *testing.T) {
	const otherPAT = "dapi99999999999999999999999999999999"
	tests := []struct {
		name        string
		method      string
		path        string
		fault       func(pat string) fakeworkspace.Fault
		call        func(ctx context.Context, c Client) error
		wantKind    Kind
		wantMessage string // a part of the error text
	}{
		{
			name: "Me: valid JSON then garbage", method: "GET", path: fakeworkspace.PathMe,
			fault:    func(string) fakeworkspace.Fault { return rewrite("trailing-garbage") },
			call:     everyRequest[0].call,
			wantKind: KindOther, wantMessage: "read current user: the workspace's answer is not the JSON the API sends",
		},
		{
			name: "Me: truncated", method: "GET", path: fakeworkspace.PathMe,
			fault:    func(string) fakeworkspace.Fault { return rewrite("truncated") },
			call:     everyRequest[0].call,
			wantKind: KindOther, wantMessage: "the workspace's answer is not the JSON the API sends",
		},
		{
			name: "list: HTML sign-in page", method: "GET", path: fakeworkspace.PathTokenList,
			fault:    func(string) fakeworkspace.Fault { return rewrite("html") },
			call:     everyRequest[3].call,
			wantKind: KindOther, wantMessage: "list tokens: the workspace answered with an HTML page",
		},
		{
			name: "list: not JSON at all", method: "GET", path: fakeworkspace.PathTokenList,
			fault: func(string) fakeworkspace.Fault {
				return fakeworkspace.Fault{Times: 1, Body: []byte("{\"token_infos\": [{\"token_id\": \"x\", \"comment\": \"" + otherPAT + "\n")}
			},
			call:     everyRequest[3].call,
			wantKind: KindOther, wantMessage: "list tokens: the workspace's answer is not the JSON the API sends",
		},
		{
			name: "list: over the size limit", method: "GET", path: fakeworkspace.PathTokenList,
			fault: func(string) fakeworkspace.Fault {
				return fakeworkspace.Fault{Times: 1, Body: append([]byte(`{"token_infos":[],"x":"`), bytes.Repeat([]byte("a"), MaxResponseBytes)...)}
			},
			call:     everyRequest[3].call,
			wantKind: KindOther, wantMessage: "list tokens: the workspace's answer is larger than 16 MiB",
		},
		{
			name: "error body that is not a Databricks error, quoting tokens", method: "POST", path: fakeworkspace.PathTokenDelete,
			fault: func(pat string) fakeworkspace.Fault {
				return fakeworkspace.Fault{Times: 1, Status: 502, Header: http.Header{"Content-Type": {"text/plain"}},
					Body: []byte("upstream said:\nAuthorization: Bearer " + pat + "\ntoken_value=" + otherPAT + "\n")}
			},
			call:     everyRequest[2].call,
			wantKind: KindTransient, wantMessage: "delete token: 502 Bad Gateway",
		},
		{
			name: "Databricks error whose message quotes tokens over lines", method: "POST", path: fakeworkspace.PathTokenCreate,
			fault: func(pat string) fakeworkspace.Fault {
				return fakeworkspace.Fault{Times: 1, Status: 400, ErrorCode: "INVALID_PARAMETER_VALUE",
					Message: "token " + pat + " may not\nmint " + otherPAT + "\x1b[2J" + strings.Repeat(" and more", 200)}
			},
			call:     everyRequest[1].call,
			wantKind: KindBadRequest, wantMessage: "create token: 400 INVALID_PARAMETER_VALUE token …",
		},
		{
			name: "plain-text 403 for a dead token keeps its kind", method: "GET", path: fakeworkspace.PathTokenList,
			fault: func(pat string) fakeworkspace.Fault {
				return fakeworkspace.Fault{Times: 1, Status: 403, Header: http.Header{"Content-Type": {"text/plain"}},
					Body: []byte("Invalid access token " + pat)}
			},
			call:     everyRequest[3].call,
			wantKind: KindInvalidToken, wantMessage: "list tokens: 403 Forbidden",
		},
		{
			name: "the real dead-token answer is unchanged", method: "GET", path: fakeworkspace.PathMe,
			fault: func(string) fakeworkspace.Fault {
				return fakeworkspace.Fault{Times: 1, Status: 403, Body: []byte(`{"error_code":403,"message":"Invalid access token."}`)}
			},
			call:     everyRequest[0].call,
			wantKind: KindInvalidToken, wantMessage: "read current user: 403 Invalid access token.",
		},
		{
			name: "probe: error message quoting the token", method: "POST", path: "/serving-endpoints/anthropic/v1/messages",
			fault: func(pat string) fakeworkspace.Fault {
				return fakeworkspace.Fault{Times: 1, Status: 403, ErrorCode: "PERMISSION_DENIED", Message: "token " + pat + "\nnot allowed"}
			},
			call:     everyRequest[5].call,
			wantKind: KindPermission, wantMessage: "403 PERMISSION_DENIED token …",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startFake(t)
			pat, _ := srv.IssuePAT(alice, "mine", 0)
			c := newClient(t, srv.URL(), pat)
			srv.AddFault(tt.method, tt.path, tt.fault(pat))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := tt.call(ctx, c)
			assertClean(t, err, append(secretsOf(srv), pat, otherPAT)...)
			if KindOf(err) != tt.wantKind {
				t.Errorf("kind %s, want %s (%v)", KindOf(err), tt.wantKind, err)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantMessage) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantMessage)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func rewrite(name string) fakeworkspace.Fault {
	rw, ok := fakeworkspace.Misbehaviours[name]
	if !ok {
		panic("no misbehaviour " + name)
	}
	return fakeworkspace.Fault{Times: 1, Rewrite: rw}
}

// TestSDKClientCreateRefusesBadTokens: a new token coda cannot use is a
// *MintRejectedError with its id (when the answer shows one), so the
// caller deletes it, and the error holds no token value.
func TestSDKClientCreateRefusesBadTokens(t *testing.T) {
	cutAfterID := func(a fakeworkspace.Answer) fakeworkspace.Answer {
		if i := bytes.Index(a.Body, []byte(`,"creation_time"`)); i > 0 {
			a.Body = a.Body[:i]
		}
		return a
	}
	noDate := func(a fakeworkspace.Answer) fakeworkspace.Answer {
		a = fakeworkspace.Misbehaviours["no-creation-time"](a)
		a.Header["Date"] = nil // net/http then sends none
		return a
	}
	futureDate := func(a fakeworkspace.Answer) fakeworkspace.Answer {
		a = fakeworkspace.Misbehaviours["no-creation-time"](a)
		a.Header.Set("Date", "Fri, 01 Jan 2100 00:00:00 GMT")
		return a
	}
	tests := []struct {
		name       string
		rewrite    func(fakeworkspace.Answer) fakeworkspace.Answer
		wantID     bool // the error names the minted token's id
		wantReason string
	}{
		{"trailing-garbage", nil, true, "the workspace's answer has data after its JSON"},
		{"truncated after the id", cutAfterID, true, "not valid JSON"},
		{"truncated", nil, false, "not valid JSON"},
		{"not-json", nil, false, "not valid JSON"},
		{"html", nil, false, "not valid JSON"},
		{"no-token-id", nil, false, "no token id"},
		{"empty-token-value", nil, true, "the token value is empty"},
		{"control-token-value", nil, true, "characters other than visible ASCII"},
		{"spaced-token-value", nil, true, "characters other than visible ASCII"},
		{"huge-token-value", nil, true, "more than 4096"},
		{"no-expiry", nil, true, "no expiry"},
		{"zero-expiry", nil, true, "no expiry"},
		{"never-expires", nil, true, "never expires"},
		{"past-expiry", nil, true, "not after it was created"},
		{"two-year-expiry", nil, true, "longer than the 15m0s coda asked for"},
		{"no creation time and no Date header", noDate, true, "no creation time and no Date header"},
		{"no creation time, expiry before the Date header", futureDate, true, "not after it was created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startFake(t)
			pat, _ := srv.IssuePAT(alice, "mine", 0)
			c := newClient(t, srv.URL(), pat)
			rw := tt.rewrite
			if rw == nil {
				rw = fakeworkspace.Misbehaviours[tt.name]
			}
			srv.AddFault("POST", fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 1, Rewrite: rw})
			nt, err := c.CreateToken(context.Background(), 15*time.Minute, "coda: x")
			if nt != (NewToken{}) {
				t.Errorf("CreateToken returned a token with its error: %+v", nt.TokenInfo)
			}
			assertClean(t, err, append(secretsOf(srv), pat)...)
			var mr *MintRejectedError
			if !errors.As(err, &mr) {
				t.Fatalf("err = %#v, want a *MintRejectedError", err)
			}
			minted := srv.LiveTokens(alice)
			if len(minted) != 2 {
				t.Fatalf("the fake holds %d tokens, want the PAT and the minted one", len(minted))
			}
			wantID := ""
			if tt.wantID {
				wantID = minted[1].ID
			}
			if mr.ID != wantID {
				t.Errorf("ID = %q, want %q", mr.ID, wantID)
			}
			if !strings.Contains(mr.Reason, tt.wantReason) || !strings.HasPrefix(err.Error(), "create token: ") {
				t.Errorf("err = %q, want the reason %q", err, tt.wantReason)
			}
			if KindOf(err).Retryable() {
				t.Errorf("a refused token is %s, which is retryable", KindOf(err))
			}
			// The caller can delete it with the id.
			if mr.ID != "" {
				if err := c.DeleteToken(context.Background(), mr.ID); err != nil || len(srv.LiveTokens(alice)) != 1 {
					t.Errorf("DeleteToken(refused id) = %v, %d live tokens", err, len(srv.LiveTokens(alice)))
				}
			}
		})
	}
}

// A creation time that is missing is taken from the Date header (the
// workspace's clock, never the local one).
func TestSDKClientCreateUsesDateHeader(t *testing.T) {
	srv := startFake(t)
	pat, _ := srv.IssuePAT(alice, "mine", 0)
	c := newClient(t, srv.URL(), pat)
	srv.AddFault("POST", fakeworkspace.PathTokenCreate, rewrite("no-creation-time"))
	before := time.Now().Add(-2 * time.Second)
	nt, err := c.CreateToken(context.Background(), 15*time.Minute, "coda: x")
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if nt.Created.Before(before) || nt.Created.After(time.Now()) || nt.Expiry.Sub(nt.Created) > 15*time.Minute+time.Second {
		t.Errorf("Created %s Expiry %s", nt.Created, nt.Expiry)
	}
}

func TestSDKClientMeRefusesBadUserNames(t *testing.T) {
	for name, want := range map[string]string{
		"empty-username":   "read current user: the workspace answered without a user name",
		"control-username": "read current user: the workspace answered with a user name that holds control characters",
	} {
		t.Run(name, func(t *testing.T) {
			srv := startFake(t)
			pat, _ := srv.IssuePAT(alice, "mine", 0)
			c := newClient(t, srv.URL(), pat)
			srv.AddFault("GET", fakeworkspace.PathMe, rewrite(name))
			u, err := c.Me(context.Background())
			assertClean(t, err, pat)
			if u != (User{}) || err == nil || err.Error() != want || KindOf(err) != KindOther {
				t.Errorf("Me = %+v, %v (%s); want %q", u, err, KindOf(err), want)
			}
		})
	}
}

// Error and MintRejectedError are clean even when built elsewhere with
// dirty fields.
func TestErrorTypesAreCleanWhateverTheirFields(t *testing.T) {
	const pat = "dapi0123456789abcdef0123456789abcdef"
	for _, err := range []error{
		&Error{StatusCode: 500, Code: "X", Message: "a\nb " + pat, Op: "op"},
		&MintRejectedError{ID: "abc\x1b[2Jdef", Reason: "value " + pat + "\r\nsecond line"},
	} {
		assertClean(t, err, pat)
	}
}
