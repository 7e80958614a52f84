package workspace

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want  string
		wantErr   bool
		wantHTTPS bool // the error says to use https
	}{
		{in: "https://adb-123.4.azuredatabricks.net", want: "https://adb-123.4.azuredatabricks.net"},
		{in: "https://adb-123.4.azuredatabricks.net/", want: "https://adb-123.4.azuredatabricks.net"},
		{in: "dbc-1234.cloud.databricks.com", want: "https://dbc-1234.cloud.databricks.com"},
		{in: "  https://x.cloud.databricks.com/?o=123#frag \n", want: "https://x.cloud.databricks.com"},
		{in: "https://x.cloud.databricks.com/browse/folders/42", want: "https://x.cloud.databricks.com"},
		{in: "http://127.0.0.1:8080/api/2.0", want: "http://127.0.0.1:8080"},
		{in: "HTTPS://x.cloud.databricks.com", want: "https://x.cloud.databricks.com"},
		{in: "localhost:8080", want: "https://localhost:8080"},
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: "ftp://x.cloud.databricks.com", wantErr: true},
		{in: "file:///etc/passwd", wantErr: true},
		{in: "https://", wantErr: true},
		{in: "https:///path", wantErr: true},
		{in: "https://user:secret@x.cloud.databricks.com", wantErr: true},
		{in: "https://token@x.cloud.databricks.com", wantErr: true},
		{in: "https://ex ample.com", wantErr: true},
		// Plain http only on loopback: anywhere else the token would cross
		// the network in cleartext.
		{in: "http://localhost:8080", want: "http://localhost:8080"},
		{in: "http://LocalHost", want: "http://LocalHost"},
		{in: "http://127.0.0.1", want: "http://127.0.0.1"},
		{in: "http://127.8.9.10:1234/x", want: "http://127.8.9.10:1234"},
		{in: "http://[::1]:8080", want: "http://[::1]:8080"},
		{in: "http://[::ffff:127.0.0.1]:8080", want: "http://[::ffff:127.0.0.1]:8080"},
		{in: "http://x.cloud.databricks.com", wantErr: true, wantHTTPS: true},
		{in: "HTTP://x.cloud.databricks.com/", wantErr: true, wantHTTPS: true},
		{in: "http://10.0.0.1:8080", wantErr: true, wantHTTPS: true},
		{in: "http://192.168.1.20", wantErr: true, wantHTTPS: true},
		{in: "http://[fe80::1]:8080", wantErr: true, wantHTTPS: true},
		{in: "http://[::ffff:10.0.0.1]", wantErr: true, wantHTTPS: true},
		{in: "http://localhost.attacker.example", wantErr: true, wantHTTPS: true},
		{in: "http://127.0.0.1.nip.io", wantErr: true, wantHTTPS: true},
		{in: "http://0.0.0.0:8080", wantErr: true, wantHTTPS: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeHost(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NormalizeHost(%q) = %q, want an error", tt.in, got)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error quotes the credentials: %v", err)
				}
				if tt.wantHTTPS && !strings.Contains(err.Error(), "use https://") {
					t.Errorf("error %q does not say to use https", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status        int
		code, message string
		want          Kind
	}{
		{401, "", "", KindInvalidToken},
		{401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type", KindInvalidToken},
		{403, "403", "Invalid access token.", KindInvalidToken},
		{403, "", "invalid access token", KindInvalidToken},
		{403, "PERMISSION_DENIED", "INVALID ACCESS TOKEN.", KindInvalidToken},
		{403, "PERMISSION_DENIED", "Invalid Access Token: expired", KindInvalidToken},
		{403, "PERMISSION_DENIED", "User is not allowed to create tokens", KindPermission},
		{403, "403", "", KindPermission},
		{403, "PERMISSION_DENIED", "Invalid access", KindPermission},
		{400, "QUOTA_EXCEEDED", "Cannot create more than 600 tokens", KindQuota},
		{429, "REQUEST_LIMIT_EXCEEDED", "Too Many Requests", KindRateLimited},
		{429, "", "", KindRateLimited},
		{404, "RESOURCE_DOES_NOT_EXIST", "Token with id x does not exist", KindNotFound},
		{404, "ENDPOINT_NOT_FOUND", "", KindNotFound},
		{500, "INTERNAL_ERROR", "", KindTransient},
		{502, "", "Bad Gateway", KindTransient},
		{503, "TEMPORARILY_UNAVAILABLE", "", KindTransient},
		{504, "DEADLINE_EXCEEDED", "", KindTransient},
		{400, "INVALID_PARAMETER_VALUE", "lifetime_seconds must be positive", KindBadRequest},
		{400, "MALFORMED_REQUEST", "", KindBadRequest},
		{409, "RESOURCE_CONFLICT", "", KindOther},
		{418, "", "", KindOther},
	}
	for _, tt := range tests {
		if got := classifyStatus(tt.status, tt.code, tt.message); got != tt.want {
			t.Errorf("classifyStatus(%d, %q, %q) = %s, want %s", tt.status, tt.code, tt.message, got, tt.want)
		}
	}
}

func TestKindRetryable(t *testing.T) {
	for k := KindOther; k <= KindBadRequest; k++ {
		want := k == KindTransient || k == KindRateLimited
		if k.Retryable() != want {
			t.Errorf("%s.Retryable() = %v, want %v", k, k.Retryable(), want)
		}
		if k.String() == "" {
			t.Errorf("Kind(%d) has no name", int(k))
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{StatusCode: 403, Code: "403", Message: "Invalid access token.", Op: "read current user"}, "read current user: 403 Invalid access token."},
		{Error{StatusCode: 403, Message: "Invalid access token."}, "403 Invalid access token."},
		{Error{StatusCode: 403, Code: "PERMISSION_DENIED", Message: "not allowed", Op: "create token"}, "create token: 403 PERMISSION_DENIED not allowed"},
		{Error{StatusCode: 503, Code: "TEMPORARILY_UNAVAILABLE", Op: "list tokens"}, "list tokens: 503 TEMPORARILY_UNAVAILABLE"},
		{Error{StatusCode: 404, Code: "404", Message: "Not Found"}, "404 Not Found"},
		{Error{Message: "network error: refused", Op: "delete token"}, "delete token: network error: refused"},
	}
	for _, tt := range tests {
		got := tt.err.Error()
		if got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if strings.Contains(got, "403 403") || strings.Contains(got, "404 404") {
			t.Errorf("Error() = %q repeats the status", got)
		}
	}
}

func TestKindOf(t *testing.T) {
	wrapped := errors.Join(errors.New("context"), &Error{Kind: KindQuota})
	if KindOf(wrapped) != KindQuota {
		t.Errorf("KindOf(wrapped) = %s", KindOf(wrapped))
	}
	if KindOf(errors.New("plain")) != KindOther || KindOf(nil) != KindOther {
		t.Error("a non-workspace error is not KindOther")
	}
}

// ---- the SDK client against the fake workspace ----

const alice = "alice@example.com"

func startFake(t *testing.T) *fakeworkspace.Server {
	t.Helper()
	srv := fakeworkspace.New(fakeworkspace.Options{OnUnexpected: func(msg string) { t.Errorf("%s", msg) }})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddUser(alice, "Alice Example")
	return srv
}

func newClient(t *testing.T, host, token string) Client {
	t.Helper()
	c, err := NewSDKClient(host, token)
	if err != nil {
		t.Fatalf("NewSDKClient: %v", err)
	}
	return c
}

// isolateFromAmbientCredentials sets up every way the SDK could find other
// credentials, all of them pointing at a valid token of the fake.
func isolateFromAmbientCredentials(t *testing.T, host, otherToken string) {
	t.Helper()
	home := t.TempDir()
	cfg := "[DEFAULT]\nhost = " + host + "\ntoken = " + otherToken + "\n\n" +
		"[other]\nhost = " + host + "\ntoken = " + otherToken + "\n" +
		"client_id = sp-client\nclient_secret = sp-secret\nauth_type = oauth-m2m\n"
	if err := os.WriteFile(filepath.Join(home, ".databrickscfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("DATABRICKS_CONFIG_FILE", filepath.Join(home, ".databrickscfg"))
	t.Setenv("DATABRICKS_CONFIG_PROFILE", "other")
	t.Setenv("DATABRICKS_HOST", host)
	t.Setenv("DATABRICKS_TOKEN", otherToken)
	t.Setenv("DATABRICKS_CLIENT_ID", "sp-client")
	t.Setenv("DATABRICKS_CLIENT_SECRET", "sp-secret")
	t.Setenv("DATABRICKS_AUTH_TYPE", "oauth-m2m")
}

func TestSDKClientUsesOnlyItsToken(t *testing.T) {
	srv := startFake(t)
	other, otherID := srv.IssuePAT(alice, "ambient credentials", 0)
	mine, mineID := srv.IssuePAT(alice, "mine", 0)
	isolateFromAmbientCredentials(t, srv.URL(), other)
	ctx := context.Background()

	t.Run("invalid token is rejected", func(t *testing.T) {
		srv.ResetRequests()
		c := newClient(t, srv.URL(), "dapi0123456789abcdef0123456789abcdef")
		_, err := c.Me(ctx)
		var we *Error
		if !errors.As(err, &we) || we.Kind != KindInvalidToken || we.StatusCode != 403 {
			t.Fatalf("Me err = %#v, want KindInvalidToken 403", err)
		}
		if strings.Contains(err.Error(), "403 403") || !strings.Contains(err.Error(), "Invalid access token.") {
			t.Errorf("Error() = %q", err.Error())
		}
		_, err = c.ListTokens(ctx)
		if KindOf(err) != KindInvalidToken {
			t.Errorf("ListTokens err = %v, want KindInvalidToken", err)
		}
		_, err = c.CreateToken(ctx, 15*time.Minute, "coda: x")
		if KindOf(err) != KindInvalidToken {
			t.Errorf("CreateToken err = %v, want KindInvalidToken", err)
		}
		reqs := srv.Requests()
		if len(reqs) != 3 {
			t.Errorf("%d requests, want 3 (one per call, no retries, no probes): %+v", len(reqs), reqs)
		}
		for _, r := range reqs {
			if r.TokenID != "" {
				t.Errorf("request %s %s was authenticated by token %s, not the one given", r.Method, r.Path, r.TokenID)
			}
			if r.Path == fakeworkspace.PathHostMetadata {
				t.Errorf("the SDK probed %s", r.Path)
			}
		}
		if !liveIDs(srv)[otherID] || len(liveIDs(srv)) != 2 {
			t.Error("a token was created with the ambient credentials")
		}
	})

	t.Run("valid token speaks as itself", func(t *testing.T) {
		srv.ResetRequests()
		c := newClient(t, srv.URL(), mine)
		u, err := c.Me(ctx)
		if err != nil || u.UserName != alice || u.DisplayName != "Alice Example" || u.ID == "" {
			t.Fatalf("Me = %+v, %v", u, err)
		}
		nt, err := c.CreateToken(ctx, 15*time.Minute, "coda: test")
		if err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if nt.Value == "" || nt.ID == "" || nt.Comment != "coda: test" || nt.Expiry.Sub(nt.Created) != 15*time.Minute {
			t.Errorf("CreateToken = %+v", nt.TokenInfo)
		}
		infos, err := c.ListTokens(ctx)
		if err != nil || len(infos) != 3 {
			t.Fatalf("ListTokens = %d tokens, %v; want 3", len(infos), err)
		}
		for _, ti := range infos {
			if ti.ID == mineID && !ti.Expiry.IsZero() {
				t.Errorf("a never-expiring PAT has Expiry %s", ti.Expiry)
			}
		}
		if err := c.DeleteToken(ctx, nt.ID); err != nil {
			t.Fatalf("DeleteToken: %v", err)
		}
		if err := c.DeleteToken(ctx, nt.ID); err != nil {
			t.Errorf("deleting an unknown id: %v, want nil", err)
		}
		for _, r := range srv.Requests() {
			if r.TokenID != mineID {
				t.Errorf("request %s %s authenticated by %q, want %q", r.Method, r.Path, r.TokenID, mineID)
			}
		}
	})
}

func liveIDs(srv *fakeworkspace.Server) map[string]bool {
	ids := map[string]bool{}
	for _, ti := range srv.LiveTokens(alice) {
		ids[ti.ID] = true
	}
	return ids
}

func TestSDKClientEmptyToken(t *testing.T) {
	srv := startFake(t)
	other, _ := srv.IssuePAT(alice, "ambient", 0)
	isolateFromAmbientCredentials(t, srv.URL(), other)
	c, err := NewSDKClient(srv.URL(), "")
	if !errors.Is(err, ErrNoToken) || c != nil {
		t.Fatalf("NewSDKClient with no token = %v, %v; want ErrNoToken", c, err)
	}
	if _, err := NewSDKClient("ftp://nowhere", "dapi1"); err == nil {
		t.Error("NewSDKClient accepted a bad host")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests", n)
	}
}

func TestSDKClientCreateRefusesZeroLifetime(t *testing.T) {
	srv := startFake(t)
	pat, _ := srv.IssuePAT(alice, "mine", 0)
	c := newClient(t, srv.URL(), pat)
	for _, d := range []time.Duration{0, 500 * time.Millisecond, -time.Minute} {
		if _, err := c.CreateToken(context.Background(), d, "coda: x"); err == nil {
			t.Errorf("CreateToken(%s) succeeded", d)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests for lifetimes the SDK would drop", n)
	}
}

func TestSDKClientConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := "http://" + l.Addr().String()
	l.Close()
	c := newClient(t, host, "dapi0123456789abcdef")
	_, err = c.Me(context.Background())
	var we *Error
	if !errors.As(err, &we) || we.Kind != KindTransient {
		t.Fatalf("err = %#v, want KindTransient", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("err = %q, want it to mention refused", err)
	}
	if !we.Kind.Retryable() {
		t.Error("a refused connection is not retryable")
	}
}

// A server that hangs up on every connection: the SDK would retry a reset
// for its whole retry timeout; coda's client must give up at once.
func TestSDKClientTransportErrorNotRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var accepts atomic.Int32
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST: "connection reset by peer"
			}
			buf := make([]byte, 1)
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = conn.Read(buf) // wait for the request to start
			conn.Close()
		}
	}()
	// The deadline only bounds a failing run; the assertion is the count.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := newClient(t, "http://"+l.Addr().String(), "dapi0123456789abcdef")
	_, err = c.ListTokens(ctx)
	if KindOf(err) != KindTransient {
		t.Fatalf("err = %v (%s), want KindTransient", err, KindOf(err))
	}
	if n := accepts.Load(); n != 1 {
		t.Errorf("%d connections, want exactly 1 (no SDK retry)", n)
	}
}

func TestSDKClientDoesNotRetryStatuses(t *testing.T) {
	tests := []struct {
		name   string
		fault  fakeworkspace.Fault
		want   Kind
		status int
	}{
		{"503", fakeworkspace.Fault{Times: 1, Status: 503}, KindTransient, 503},
		{"500", fakeworkspace.Fault{Times: 1, Status: 500}, KindTransient, 500},
		{"504", fakeworkspace.Fault{Times: 1, Status: 504}, KindTransient, 504},
		{"429", fakeworkspace.Fault{Times: 1, Status: 429}, KindRateLimited, 429},
		{"503 with a message the SDK deems transient", fakeworkspace.Fault{Times: 1, Status: 503, Message: "Timed out after 30s: deadline exceeded"}, KindTransient, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startFake(t)
			pat, _ := srv.IssuePAT(alice, "mine", 0)
			c := newClient(t, srv.URL(), pat)
			srv.AddFault("GET", fakeworkspace.PathTokenList, tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := c.ListTokens(ctx)
			var we *Error
			if !errors.As(err, &we) || we.Kind != tt.want || we.StatusCode != tt.status {
				t.Fatalf("err = %#v, want %s %d", err, tt.want, tt.status)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 || reqs[0].Path != fakeworkspace.PathTokenList || reqs[0].Status != tt.status {
				t.Errorf("requests = %+v, want exactly one answered %d", reqs, tt.status)
			}
			// The fault was used up: the next call works.
			if _, err := c.ListTokens(ctx); err != nil {
				t.Errorf("second ListTokens: %v", err)
			}
		})
	}
}

func TestSDKClientQuotaAndCancel(t *testing.T) {
	srv := fakeworkspace.New(fakeworkspace.Options{MaxLiveTokens: 1})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	pat, _ := srv.IssuePAT(alice, "mine", 0)
	c := newClient(t, srv.URL(), pat)
	_, err := c.CreateToken(context.Background(), 15*time.Minute, "coda: x")
	if KindOf(err) != KindQuota {
		t.Errorf("CreateToken over quota: %v (%s), want KindQuota", err, KindOf(err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Me(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Me with a cancelled context = %v, want context.Canceled", err)
	}
}

// The SDK also retries any error whose message contains one of
// httpclient.ClientConfig.TransientErrors ("REQUEST_LIMIT_EXCEEDED", set by
// config.HTTPClientConfigFromConfig), independently of ErrorRetriable.
func TestSDKClientDoesNotRetryTransientErrorMessages(t *testing.T) {
	srv := startFake(t)
	pat, _ := srv.IssuePAT(alice, "mine", 0)
	c := newClient(t, srv.URL(), pat)
	srv.AddFault("GET", fakeworkspace.PathMe, fakeworkspace.Fault{Times: 1, Status: 500,
		ErrorCode: "INTERNAL_ERROR", Message: "REQUEST_LIMIT_EXCEEDED: too many requests"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := c.Me(ctx)
	if KindOf(err) != KindTransient {
		t.Errorf("err = %v (%s), want KindTransient", err, KindOf(err))
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want exactly 1 (no SDK retry)", n)
	}
}
