// Package proxy is coda's loopback credential proxy. An agent in proxy
// mode is given a base URL on this proxy and a random per-profile local
// key instead of a Databricks token; the proxy checks the key, swaps it
// for the profile's current workspace token and forwards the request to
// the workspace's model-serving paths, streaming the answer back. A
// rotation never reaches the agent: the proxy asks its TokenSource for the
// current token on every request, and retries once with a refreshed token
// when the workspace says the one it sent is dead.
//
// What the caller provides (Config): the workspace host, the local key
// (NewLocalKey makes one), a TokenSource over the token store and a
// logger. Listen opens a loopback listener; Server.Serve serves on it
// until its context ends. The proxy never reads the store itself.
//
// # Who may use it
//
// The proxy forwards a credential, so every request must prove it comes
// from an agent on this machine and stay within what agents need:
//
//   - Loopback only: Listen refuses any address that is not a loopback IP
//     (or "localhost", bound as 127.0.0.1), and Serve refuses a listener
//     that is not on one.
//   - DNS rebinding: a web page whose host name resolves to 127.0.0.1 can
//     reach a loopback port, but its requests carry its own host name.
//     The Host header must be localhost or a loopback IP (127.0.0.1,
//     [::1]), with or without a port; anything else is 403.
//   - Browsers: a request with an Origin or Sec-Fetch-Site header comes
//     from a web page (agent CLIs send neither) and is 403. No CORS
//     header is ever sent, and OPTIONS is not allowed.
//   - Not an open relay: a proxy-style request (an absolute URI such as
//     "GET http://elsewhere/ HTTP/1.1", or "*") is 400, CONNECT and
//     protocol upgrades are refused, and the upstream is always the
//     configured host. Only GET, HEAD and POST are forwarded.
//   - The local key: a request must carry it in at least one of
//     "Authorization: Bearer KEY", "x-api-key: KEY" or
//     "x-goog-api-key: KEY", and every one of those it carries must hold
//     exactly the key (compared in constant time, over SHA-256 digests so
//     not even its length leaks). Otherwise 401, and nothing is
//     forwarded. The key is not accepted in the URL: Gemini CLI, the one
//     agent whose SDK could use "?key=", was observed sending
//     x-goog-api-key and Authorization: Bearer, and a key in a query
//     string ends up in logs. A request that carries the key anywhere
//     else (another header, the path, the query) is 400. The body is
//     forwarded as it is: an agent quoting its own configuration to the
//     model sends the key along, which is harmless (the key opens nothing
//     but this loopback port). The three headers, Cookie and
//     Proxy-Authorization are removed before forwarding, and
//     Authorization is set to "Bearer <current workspace token>".
//   - Paths: only the model-serving families are forwarded,
//     /serving-endpoints/<...> and /ai-gateway/<...> to the workspace
//     host and, when Config.GatewayHost is set, /gateway/<rest> to
//     GatewayHost/<rest> (the AI Gateway host of early 2026,
//     https://<workspace-id>.ai-gateway.cloud.databricks.com, so an agent
//     whose base URL was .../anthropic there uses
//     http://127.0.0.1:PORT/gateway/anthropic). The path is checked after
//     percent-decoding: "." and ".." segments (also as %2e%2e, or
//     hidden behind %2f), backslashes, ';', '%' (double encoding) and
//     anything outside a small set of URL characters are 400; repeated
//     slashes are collapsed; the family is checked on what is left, and
//     exactly that path is what is sent upstream. Everything else is 404.
//
// # Forwarding
//
// It uses net/http/httputil.ReverseProxy, which already does what a
// reverse proxy must: hop-by-hop headers (Connection and the headers it
// names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, the
// Proxy-* headers) removed both ways, X-Forwarded-* and Forwarded from
// the agent dropped, trailers and 1xx answers relayed, the upstream
// request cancelled when the agent goes away, and an aborted connection
// (not a silently short answer) when the upstream breaks mid-stream. The
// two things it does not do fit around it: the request body is buffered
// by the handler (at most MaxBodyBytes, else 413) so it can be sent
// twice, and the single retry lives in the RoundTripper under it, which
// sees the upstream's status before ReverseProxy writes anything to the
// agent. Every response is flushed as each chunk arrives (FlushInterval
// -1), so server-sent events reach the agent event by event, untouched.
//
// The upstream transport is workspace.NoRedirectTransport over a clone
// of http.DefaultTransport (HTTP/2 when the upstream offers it, the
// environment's HTTPS_PROXY honoured): a 3xx is never followed and the
// agent gets a 502 naming where it pointed. There is no overall timeout,
// since a generation may stream for many minutes; the upstream must send
// its response headers within Config.ResponseHeaderTimeout (5 minutes by
// default). The agent's Accept-Encoding is not forwarded: the transport
// negotiates gzip itself and decodes it, so the proxy can read an error
// answer, and the loopback leg is uncompressed.
//
// # Retry
//
// The workspace answers a dead token with 401, 403 "Invalid access
// token." or 403 "Token is expiring within 30 seconds". On such an answer
// (at most 64 KiB of a 403's body is read to tell it from a real
// permission error), the proxy calls TokenSource.Refresh with the token it
// sent and, when that gives a different token, sends the request once
// more with it. Whatever the second attempt answers goes to the agent. If
// Refresh fails or has nothing newer, the first answer goes to the agent
// as it came.
//
// # Logs
//
// Config.Log gets one line per notable event: a refused request (method,
// path and why) and an upstream failure at Warn, a retry at Info, a failed
// refresh at Warn or Error. At Debug it also gets one line per request
// sent upstream (workspace.LogTransport: method, URL with credential-like
// query values redacted, status, duration, the workspace's request id), so
// a retried request shows twice. Lines never hold a body, a header value
// other than the request id, a token or the key.
package proxy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/workspace"
)

// TokenSource gives the proxy the profile's workspace token. Both methods
// are called concurrently, from many requests at once, and must be safe
// for that; ctx ends when the agent goes away.
type TokenSource interface {
	// Token returns the token to send now: the profile's current token,
	// rotated first (under the store lock) when it runs low, as
	// lifecycle.Engine.EnsureFresh does. It is called once per request.
	Token(ctx context.Context) (string, error)
	// Refresh is called after the workspace refused stale, the token Token
	// returned, as dead or about to expire. It returns the token to retry
	// with: re-read the store and, if it still holds stale, rotate. Many
	// requests may refresh the same stale token at once; they should cause
	// one rotation, not one each. Returning stale itself means there is no
	// newer token, and the workspace's refusal goes to the agent.
	Refresh(ctx context.Context, stale string) (string, error)
}

// MaxBodyBytes bounds a request body; a larger one gets 413.
const MaxBodyBytes = 32 << 20

// DefaultResponseHeaderTimeout is how long the upstream may take to start
// its answer when Config.ResponseHeaderTimeout is zero.
const DefaultResponseHeaderTimeout = 5 * time.Minute

// Config is what a Server needs.
type Config struct {
	// Host is the workspace URL: https://, or http:// on a loopback host
	// (tests). Only its scheme and host are used (workspace.NormalizeHost).
	Host string
	// GatewayHost, when set, is an AI Gateway host
	// (https://<workspace-id>.ai-gateway.cloud.databricks.com) that
	// requests under /gateway/ go to, without the /gateway prefix. Empty:
	// /gateway/ is 404.
	GatewayHost string
	// LocalKey is the secret agents send instead of a token (NewLocalKey):
	// at least 32 visible ASCII characters.
	LocalKey string
	// Tokens supplies the workspace token.
	Tokens TokenSource
	// Log receives one-line events without secrets; nil discards them.
	Log *slog.Logger
	// ResponseHeaderTimeout bounds the wait for the upstream's response
	// headers; zero means DefaultResponseHeaderTimeout.
	ResponseHeaderTimeout time.Duration
	// ReadHeaderTimeout bounds reading an agent's request headers; zero
	// means 30 seconds.
	ReadHeaderTimeout time.Duration
	// ShutdownGrace is how long Serve lets requests in flight finish once
	// its context ends; zero means 10 seconds.
	ShutdownGrace time.Duration
	// Transport, when set, replaces the clone of http.DefaultTransport the
	// upstream requests go through (tests; ResponseHeaderTimeout then is
	// the Transport's business). It is always wrapped in
	// workspace.NoRedirectTransport.
	Transport http.RoundTripper
}

// Server is a credential proxy for one profile.
type Server struct {
	host, gateway *url.URL
	keyHash       [sha256.Size]byte
	key           string
	tokens        TokenSource
	log           *slog.Logger
	errLog        *log.Logger
	readHeaderTO  time.Duration
	shutdownGrace time.Duration
	handler       http.Handler
	reverseProxy  *httputil.ReverseProxy
}

// MinKeyLen is the shortest local key New accepts.
const MinKeyLen = 32

// New checks cfg and builds a Server.
func New(cfg Config) (*Server, error) {
	host, err := parseUpstream(cfg.Host)
	if err != nil {
		return nil, err
	}
	s := &Server{host: host, tokens: cfg.Tokens, log: cfg.Log, key: cfg.LocalKey}
	if cfg.GatewayHost != "" {
		if s.gateway, err = parseUpstream(cfg.GatewayHost); err != nil {
			return nil, fmt.Errorf("gateway host: %w", err)
		}
	}
	if len(cfg.LocalKey) < MinKeyLen || !visibleASCII(cfg.LocalKey) {
		return nil, fmt.Errorf("the local key must be at least %d visible ASCII characters (use proxy.NewLocalKey)", MinKeyLen)
	}
	s.keyHash = sha256.Sum256([]byte(cfg.LocalKey))
	if cfg.Tokens == nil {
		return nil, errors.New("proxy: no token source")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.errLog = log.New(logWriter(s.logf), "", 0)
	s.readHeaderTO = orDefault(cfg.ReadHeaderTimeout, 30*time.Second)
	s.shutdownGrace = orDefault(cfg.ShutdownGrace, 10*time.Second)

	base := cfg.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = orDefault(cfg.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
		t.MaxIdleConnsPerHost = 16 // agents run requests side by side
		// With copy buffers of the same size, one read and one write can
		// move many chunks of a fast stream at once (see the benchmark).
		t.ReadBufferSize = copyBufferSize
		t.WriteBufferSize = 64 << 10
		base = t
	}
	// The request log sits under the retry, so a retried request shows
	// twice, and under NoRedirectTransport, so a redirect shows its status.
	upstream := workspace.NoRedirectTransport(workspace.LogTransport(base, s.log))
	s.reverseProxy = &httputil.ReverseProxy{
		Rewrite:       s.rewrite,
		Transport:     &retryTransport{base: upstream, tokens: s.tokens, logf: s.logf},
		FlushInterval: -1,
		ErrorLog:      s.errLog,
		ErrorHandler:  s.upstreamError,
		BufferPool:    copyBuffers,
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s, nil
}

func parseUpstream(raw string) (*url.URL, error) {
	norm, err := workspace.NormalizeHost(raw)
	if err != nil {
		return nil, err
	}
	return url.Parse(norm)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}

// NewLocalKey returns a fresh random local key: "coda-local-" and 43
// base64url characters (256 bits).
func NewLocalKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "coda-local-" + base64.RawURLEncoding.EncodeToString(b), nil
}

// Handler returns the proxy's http.Handler (for tests and benchmarks; a
// real proxy runs through Serve, which also sets server timeouts).
func (s *Server) Handler() http.Handler { return s.handler }

// ErrPortInUse is wrapped by Listen's error when another process already
// listens on the port.
var ErrPortInUse = errors.New("port already in use")

// Listen listens on addr, a loopback "host:port" ("127.0.0.1:8787",
// "[::1]:8787", "localhost:8787" which is bound as 127.0.0.1; port 0 picks
// a free one). Any other address is refused: the proxy must never be
// reachable from the network. When the port is taken the error wraps
// ErrPortInUse.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("proxy address %q is not host:port", redact.Line(addr, 100))
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("the proxy listens only on a loopback address such as 127.0.0.1, not %q", redact.Line(host, 100))
	}
	bind := net.JoinHostPort(ip.String(), port)
	ln, err := net.Listen("tcp", bind)
	if addrInUse(err) {
		return nil, fmt.Errorf("cannot listen on %s: %w", bind, ErrPortInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", bind, err)
	}
	return ln, nil
}

// Serve serves the proxy on ln, which must be a loopback TCP listener
// (Listen), until ctx ends; then it stops accepting, lets requests in
// flight finish for Config.ShutdownGrace, closes what is left and returns
// nil. It closes ln. Any other failure is returned as it happens.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("the proxy serves only on a loopback address, not %s", ln.Addr())
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.readHeaderTO,
		IdleTimeout:       5 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          s.errLog,
		// "OPTIONS *" goes to the handler (and is refused) instead of
		// being answered 200 by net/http.
		DisableGeneralOptionsHandler: true,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc
	return nil
}

// logf sends one cleaned line to the logger at level.
func (s *Server) logf(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.Log(ctx, level, redact.Line(redact.Secrets(fmt.Sprintf(format, args...), s.key), 500))
}

// logWriter adapts logf to the *log.Logger that net/http writes to.
type logWriter func(level slog.Level, format string, args ...any)

func (w logWriter) Write(p []byte) (int, error) {
	w(slog.LevelWarn, "%s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// copyBufferSize is the size of ReverseProxy's copy buffers and of the
// upstream connections' read buffers.
const copyBufferSize = 256 << 10

// bufferPool recycles ReverseProxy's copy buffers.
type bufferPool struct{ p sync.Pool }

var copyBuffers = &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}

func (b *bufferPool) Get() []byte    { return b.p.Get().(*[copyBufferSize]byte)[:] }
func (b *bufferPool) Put(buf []byte) { b.p.Put((*[copyBufferSize]byte)(buf)) }
