package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"

	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/workspace"
)

// keyHeaders are the headers an agent may carry the local key in.
var keyHeaders = []string{"Authorization", "X-Api-Key", "X-Goog-Api-Key"}

// droppedHeaders never reach the upstream: the key headers (Authorization
// is set afresh), credentials the upstream must not see, and what the
// proxy negotiates itself (compression, 100-continue: the body is
// already buffered).
var droppedHeaders = append([]string{"Cookie", "Proxy-Authorization", "Accept-Encoding", "Expect"}, keyHeaders...)

// route is what the handler decided about a request, for Rewrite, the
// retrying transport and the logs.
type route struct {
	method, path string // as the agent sent them, for logs
	target       url.URL
	token        string
}

type routeKey struct{}

func routeOf(ctx context.Context) *route {
	if rt, ok := ctx.Value(routeKey{}).(*route); ok {
		return rt
	}
	return &route{method: "?", path: "?"}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, why, agentMsg string) {
		s.logf(slog.LevelWarn, "refused %s %s: %s", r.Method, logPath(r.URL.Path), why)
		writeError(w, status, agentMsg)
	}
	if r.Method == http.MethodConnect {
		refuse(http.StatusMethodNotAllowed, "CONNECT", "coda's proxy is not a forward proxy: CONNECT is not allowed")
		return
	}
	if !strings.HasPrefix(r.RequestURI, "/") || r.URL.IsAbs() {
		refuse(http.StatusBadRequest, "not an origin-form request target",
			"coda's proxy is not a forward proxy: send a path such as /serving-endpoints/..., not a URL")
		return
	}
	if !loopbackHost(r.Host) {
		refuse(http.StatusForbidden, "Host header "+redact.Line(r.Host, 100)+" is not a loopback name",
			"coda's proxy answers only requests addressed to 127.0.0.1, localhost or [::1]")
		return
	}
	if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
		refuse(http.StatusForbidden, "sent from a web page (Origin or Sec-Fetch-Site header)",
			"coda's proxy does not answer web pages")
		return
	}
	if why := s.authenticate(r.Header); why != "" {
		refuse(http.StatusUnauthorized, why, "coda's proxy needs its local key (missing or wrong)")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		refuse(http.StatusMethodNotAllowed, "method", "coda's proxy forwards only GET, HEAD and POST")
		return
	}
	if r.Header.Get("Upgrade") != "" || headerHasToken(r.Header, "Connection", "upgrade") {
		refuse(http.StatusBadRequest, "protocol upgrade", "coda's proxy does not switch protocols")
		return
	}
	target, status, why := s.route(r.URL.Path)
	if status != 0 {
		refuse(status, why, "coda's proxy: "+why)
		return
	}
	if where := s.keyElsewhere(r); where != "" {
		refuse(http.StatusBadRequest, "the local key is also in "+where,
			"coda's proxy refuses a request that carries its local key in "+where+": it must never leave this machine")
		return
	}

	var body []byte
	if r.ContentLength > MaxBodyBytes {
		refuse(http.StatusRequestEntityTooLarge, "body too large", bodyTooLarge)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			refuse(http.StatusRequestEntityTooLarge, "body too large", bodyTooLarge)
			return
		case err != nil:
			refuse(http.StatusBadRequest, "reading the body failed", "coda's proxy could not read the request body")
			return
		}
	}

	ctx := r.Context()
	tok, err := s.tokens.Token(ctx)
	if err == nil && !visibleASCII(tok) {
		err = errors.New("the token source returned an unusable token")
	}
	if err != nil {
		if ctx.Err() != nil {
			return // the agent went away
		}
		msg := "coda could not get a workspace token: " + err.Error()
		s.logf(slog.LevelError, "%s %s: %s", r.Method, logPath(r.URL.Path), msg)
		writeError(w, http.StatusBadGateway, msg)
		return
	}

	target.RawQuery = r.URL.RawQuery
	rt := &route{method: r.Method, path: logPath(r.URL.Path), target: target, token: tok}
	out := r.WithContext(context.WithValue(ctx, routeKey{}, rt))
	out.TransferEncoding = nil
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body, out.GetBody = http.NoBody, nil
	} else {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	s.reverseProxy.ServeHTTP(w, out)
}

const bodyTooLarge = "coda's proxy accepts request bodies up to 32 MiB"

// rewrite turns the agent's request (already cloned by ReverseProxy, its
// hop-by-hop and forwarding headers removed) into the upstream request.
func (s *Server) rewrite(pr *httputil.ProxyRequest) {
	rt := routeOf(pr.In.Context())
	u := rt.target
	pr.Out.URL = &u
	pr.Out.Host = "" // the upstream's own name, never the agent's Host
	for _, h := range droppedHeaders {
		pr.Out.Header.Del(h)
	}
	pr.Out.Header.Set("Authorization", "Bearer "+rt.token)
}

// upstreamError answers the agent when no upstream answer came back.
func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	rt := routeOf(r.Context())
	if r.Context().Err() != nil {
		s.logf(slog.LevelInfo, "%s %s: the agent went away before the workspace answered", rt.method, rt.path)
		return
	}
	var re *workspace.RedirectError
	var ne net.Error
	status, msg := http.StatusBadGateway, "coda could not reach the workspace: "+err.Error()
	switch {
	case errors.As(err, &re):
		msg = re.Error()
	case errors.As(err, &ne) && ne.Timeout():
		status, msg = http.StatusGatewayTimeout, "the workspace did not answer in time: "+err.Error()
	}
	s.logf(slog.LevelWarn, "%s %s: %s", rt.method, rt.path, msg)
	writeError(w, status, msg)
}

// authenticate returns why the headers do not prove the local key, or "".
func (s *Server) authenticate(h http.Header) string {
	seen := false
	for _, name := range keyHeaders {
		for _, v := range h.Values(name) {
			cred := strings.TrimSpace(v)
			if name == "Authorization" {
				scheme, rest, ok := strings.Cut(cred, " ")
				if !ok || !strings.EqualFold(scheme, "Bearer") {
					return "Authorization is not a Bearer credential"
				}
				cred = strings.TrimSpace(rest)
			}
			got := sha256.Sum256([]byte(cred))
			if subtle.ConstantTimeCompare(got[:], s.keyHash[:]) != 1 {
				return "wrong local key in " + name
			}
			seen = true
		}
	}
	if !seen {
		return "no local key"
	}
	return ""
}

// keyElsewhere names where else than the key headers the request carries
// the local key, or returns "". Only called after authenticate succeeded.
func (s *Server) keyElsewhere(r *http.Request) string {
	for name, vs := range r.Header {
		if slices.Contains(keyHeaders, name) {
			continue
		}
		for _, v := range vs {
			if strings.Contains(v, s.key) {
				return "the " + name + " header"
			}
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || strings.Contains(r.URL.RawQuery, s.key) {
		return "the query string"
	}
	for k, vs := range q {
		if strings.Contains(k, s.key) {
			return "the query string"
		}
		for _, v := range vs {
			if strings.Contains(v, s.key) {
				return "the query string"
			}
		}
	}
	if strings.Contains(r.URL.Path, s.key) {
		return "the path"
	}
	return ""
}

// route maps a decoded request path to the upstream URL it may go to, or
// returns a 4xx status and why.
func (s *Server) route(p string) (url.URL, int, string) {
	clean, why := cleanPath(p)
	if why != "" {
		return url.URL{}, http.StatusBadRequest, why
	}
	first, rest, _ := strings.Cut(clean[1:], "/")
	if rest != "" {
		switch first {
		case "serving-endpoints", "ai-gateway":
			return url.URL{Scheme: s.host.Scheme, Host: s.host.Host, Path: clean}, 0, ""
		case "gateway":
			if s.gateway != nil {
				return url.URL{Scheme: s.gateway.Scheme, Host: s.gateway.Host, Path: "/" + rest}, 0, ""
			}
		}
	}
	families := "/serving-endpoints/... and /ai-gateway/..."
	if s.gateway != nil {
		families = "/serving-endpoints/..., /ai-gateway/... and /gateway/..."
	}
	return url.URL{}, http.StatusNotFound, "only model-serving paths are forwarded (" + families + ")"
}

// cleanPath checks a decoded path and collapses repeated slashes. It
// refuses what could mean something else to the upstream than to this
// check: dot segments, backslashes, ';' (path parameters), '%' (double
// encoding) and anything outside letters, digits and -._~:@$&+,=/.
func cleanPath(p string) (string, string) {
	if !strings.HasPrefix(p, "/") || len(p) > 4096 {
		return "", "the path is not a model-serving path"
	}
	for i := 0; i < len(p); i++ {
		if !pathByte(p[i]) {
			return "", "the path holds characters a model-serving path never has"
		}
	}
	segs := strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
	for _, seg := range segs {
		if strings.Trim(seg, ".") == "" {
			return "", "the path holds . or .. segments"
		}
	}
	clean := "/" + strings.Join(segs, "/")
	if len(segs) > 0 && strings.HasSuffix(p, "/") {
		clean += "/"
	}
	return clean, ""
}

func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:@$&+,=/", c) >= 0
}

// loopbackHost reports whether a Host header names this machine by a
// loopback name: localhost or a loopback IP (IPv6 in brackets), with an
// optional port.
func loopbackHost(h string) bool {
	host := h
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 || !validPort(h[end+1:]) {
			return false
		}
		ip := net.ParseIP(h[1:end])
		return ip != nil && ip.To4() == nil && ip.IsLoopback()
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		if !validPort(h[i:]) {
			return false
		}
		host = h[:i]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}

// validPort accepts "" or ":" followed by 1 to 5 digits.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) < 2 || len(s) > 6 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// logPath is a request path as logs show it: one line, bounded, with
// anything token-shaped redacted. The query is never logged.
func logPath(p string) string { return redact.Line(redact.Secrets(p), 200) }

// errorBody is a JSON error every agent SDK can show: Anthropic reads
// error.type and error.message, OpenAI error.message, Google error.code
// and error.message.
type errorBody struct {
	Type  string      `json:"type"`
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Type: "error", Error: errorDetail{
		Type: "coda_proxy_error", Code: status, Message: redact.Line(redact.Secrets(msg), 500),
	}})
}
