package workspace

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/logger"

	"github.com/coda-cli/coda/internal/fakeworkspace"
)

// syncBuffer is a bytes.Buffer safe for a server goroutine and a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// debugLog is a logger at level over slog's own text handler, which
// redacts nothing: a test sees exactly what coda logged.
func debugLog(level slog.Level) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level})), buf
}

func TestLogTransport(t *testing.T) {
	// Not token-shaped, so only coda's own care keeps it out of the log.
	const secret = "s3cr3t-value-not-token-shaped"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rest":
			w.Header().Set("X-Request-Id", "rest-id-1")
			w.Header().Set("Set-Cookie", "session="+secret)
		case "/serving":
			w.Header().Set("X-Databricks-Request-Id", "serving-id-2")
			w.Header().Set("X-Request-Id", "ignored")
			w.WriteHeader(http.StatusForbidden)
		case "/moved":
			w.Header().Set("Location", "https://elsewhere.example/?token="+secret)
			w.WriteHeader(http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(`{"token_value":"` + secret + `"}`))
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name, method, url string
		want              []string // substrings of the one line
		wantErr           bool
	}{
		{name: "status and request id", method: "POST", url: srv.URL + "/rest",
			want: []string{"level=DEBUG", "msg=http", "method=POST", "url=" + srv.URL + "/rest", "status=200", "duration=", "request_id=rest-id-1"}},
		{name: "serving's request id first", method: "GET", url: srv.URL + "/serving",
			want: []string{"method=GET", "status=403", "request_id=serving-id-2"}},
		{name: "credentials in the query", method: "GET", url: srv.URL + "/rest?alt=sse&access_token=" + secret + "&key=" + secret + "&x=dapi0123456789abcdef0123456789abcdef",
			want: []string{`url="` + srv.URL + `/rest?access_token=REDACTED&alt=sse&key=REDACTED&x=REDACTED"`, "status=200"}},
		{name: "user info and fragment", method: "GET", url: strings.Replace(srv.URL, "http://", "http://user:"+secret+"@", 1) + "/rest#" + secret,
			want: []string{"url=" + srv.URL + "/rest ", "status=200"}},
		{name: "a redirect shows its status", method: "GET", url: srv.URL + "/moved",
			want: []string{"status=302"}, wantErr: true},
		{name: "network error", method: "GET", url: closedURL + "/rest",
			want: []string{"method=GET", "error=", "duration="}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := debugLog(slog.LevelDebug)
			c := &http.Client{Transport: NoRedirectTransport(LogTransport(nil, log))}
			req, err := http.NewRequest(tt.method, tt.url, strings.NewReader(`{"lifetime_seconds":60,"secret":"`+secret+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("X-Api-Key", secret)
			resp, err := c.Do(req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if resp != nil {
				resp.Body.Close()
			}
			out := buf.String()
			if strings.Count(out, "\n") != 1 {
				t.Fatalf("want one line, got %q", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("line %q lacks %q", out, w)
				}
			}
			for _, bad := range []string{secret, "Bearer", "Authorization", "user:", "lifetime_seconds", "token_value"} {
				if strings.Contains(out, bad) {
					t.Errorf("line %q holds %q", out, bad)
				}
			}
			if tt.wantErr && strings.Contains(out, "status=") == strings.Contains(out, "error=") {
				t.Errorf("line %q should have exactly one of status and error", out)
			}
		})
	}
}

func TestLogTransportQuietBelowDebug(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	for _, lv := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		log, buf := debugLog(lv)
		resp, err := (&http.Client{Transport: LogTransport(nil, log)}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if buf.String() != "" {
			t.Errorf("at %v: logged %q", lv, buf.String())
		}
	}
	if LogTransport(http.DefaultTransport, nil) != http.DefaultTransport {
		t.Error("LogTransport with no logger should be its base")
	}
}

func TestLogURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h.example/api/2.0/token/list", "https://h.example/api/2.0/token/list"},
		{"https://h.example/api/2.0/preview/scim/v2/Me?", "https://h.example/api/2.0/preview/scim/v2/Me"},
		{"https://h.example/p?o=123&page_token=abc", "https://h.example/p?o=123&page_token=REDACTED"},
		{"https://h.example/p?API_KEY=a&Signature=b&sig=c&code=d&client_secret=e&password=f&auth=g", "https://h.example/p?API_KEY=REDACTED&Signature=REDACTED&auth=REDACTED&client_secret=REDACTED&code=REDACTED&password=REDACTED&sig=REDACTED"},
		{"https://h.example/p?q=Bearer+abcdefghijklmnopqrstuvwxyz", "https://h.example/p?q=REDACTED"},
		{"https://h.example/p?bad=%zz", "https://h.example/p?REDACTED"},
		{"https://u:pw@h.example/p#frag", "https://h.example/p"},
		{"https://h.example/dapi0123456789abcdef0123456789abcdef/x", "https://h.example/…cdef/x"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := LogURL(u); got != tt.want {
			t.Errorf("LogURL(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestSDKClientDebugLog runs every call of the real SDK client with coda's
// logger at Debug: each request is one line with its method, URL, status
// and request id, and neither coda's log nor anything the SDK prints
// itself (its loggers write through the standard log package) holds the
// client's token or the one it minted.
func TestSDKClientDebugLog(t *testing.T) {
	var std syncBuffer
	prev := log.Writer()
	log.SetOutput(&std)
	t.Cleanup(func() { log.SetOutput(prev) })

	srv := startFake(t)
	pat, _ := srv.IssuePAT(alice, "pasted", 0)
	lg, buf := debugLog(slog.LevelDebug)
	c, err := NewLoggedSDKClient(srv.URL(), pat, lg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	nt, err := c.CreateToken(ctx, 10*time.Minute, "coda: test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTokens(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServingEndpoints(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Probe(ctx, "POST", "/serving-endpoints/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteToken(ctx, nt.ID); err != nil {
		t.Fatal(err)
	}
	// A failing call: the minted token is deleted now.
	dead, err := NewLoggedSDKClient(srv.URL(), nt.Value, lg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Me(ctx); KindOf(err) != KindInvalidToken {
		t.Fatalf("Me with a deleted token: %v", err)
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"GET " + fakeworkspace.PathMe + " 200", "POST /api/2.0/token/create 200", "GET /api/2.0/token/list 200",
		"GET /api/2.0/serving-endpoints 200", "POST /serving-endpoints/chat/completions 200",
		"POST /api/2.0/token/delete 200", "GET " + fakeworkspace.PathMe + " 403",
	}
	line := regexp.MustCompile(`^time=\S+ level=DEBUG msg=http method=(\S+) url=` + regexp.QuoteMeta(srv.URL()) + `(/\S*) status=(\d+) duration=\S+ request_id=[0-9a-f-]{36}$`)
	if len(lines) != len(want) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil || m[1]+" "+m[2]+" "+m[3] != want[i] {
			t.Errorf("line %d = %q, want %s", i, l, want[i])
		}
	}
	for _, out := range []string{buf.String(), std.String()} {
		for _, secret := range []string{pat, nt.Value} {
			if strings.Contains(out, secret) || strings.Contains(out, secret[len(secret)-8:]) {
				t.Errorf("log holds a token:\n%s", out)
			}
		}
	}
	if std.String() != "" {
		t.Errorf("the SDK printed through the standard logger:\n%s", std.String())
	}
}

// The SDK builds its request dumps (bodies included: token/create's answer
// holds the new token) only when its logger is enabled at Debug. coda's
// never is, at any level of coda's own logger; the SDK's info lines reach
// coda's at Debug, its warnings as warnings, cleaned.
func TestSDKLogger(t *testing.T) {
	const tok = "not-token-shaped-but-the-clients-own"
	ctx := context.Background()
	if logger.DefaultLogger.Enabled(ctx, logger.LevelTrace) || logger.DefaultLogger.Enabled(ctx, logger.LevelError) {
		t.Error("the SDK's package-level logger is enabled")
	}
	for _, lv := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		lg, buf := debugLog(lv)
		c := &sdkClient{sdkLog: sdkLogger{log: lg, secret: tok}}
		l := logger.Get(c.ctx(ctx))
		if l.Enabled(ctx, logger.LevelDebug) || l.Enabled(ctx, logger.LevelTrace) {
			t.Errorf("at %v: the SDK's debug log is enabled", lv)
		}
		l.Debugf(ctx, "GET /x\n> Authorization: Bearer %s", tok)
		l.Infof(ctx, "info %s", tok)
		l.Warnf(ctx, "warn %s\nsecond line", tok)
		out := buf.String()
		if strings.Contains(out, tok) || strings.Contains(out, "Authorization") {
			t.Errorf("at %v: %q", lv, out)
		}
		if got := strings.Contains(out, "level=DEBUG msg=\"databricks sdk: info …"); got != (lv == slog.LevelDebug) {
			t.Errorf("at %v: info line shown %v:\n%s", lv, got, out)
		}
		if got := strings.Contains(out, "level=WARN msg=\"databricks sdk: warn …"); !got {
			t.Errorf("at %v: no warning:\n%s", lv, out)
		}
	}
}
