// Package tokenapi is the core of coda's fake Databricks workspace: users
// (SCIM Me), the caller's own token API (create, delete, list) with expiry
// decided by an injected clock, the per-user quota of live tokens, the
// real 403 "Invalid access token." answer for an unknown, revoked or
// expired token, tokens restricted to API scopes (403 PERMISSION_DENIED
// "Provided access token does not have required scopes: authentication"
// on the token API for a token without that scope), and OAuth access
// tokens that authenticate like PATs but are not in the token API. `coda
// demo` runs it as it is, on loopback, because no real workspace is
// reachable from the demo.
//
// Tests use the package fakeworkspace instead, which wraps this server
// through an Extension with what only tests need: the model-serving routes
// the coding agents call, held tool calls and injected faults. Keeping
// those out of this package keeps them out of the coda binary.
//
// It copies the real error shapes, including the numeric error_code of the
// 403 answer, and it never logs or records token values.
package tokenapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coda-cli/coda/internal/clock"
)

const (
	// DefaultOrgID is the workspace id sent when Options.OrgID is empty.
	DefaultOrgID = "1234567890123456"
	// DefaultMaxLiveTokens is the real per-user limit of non-expired tokens.
	DefaultMaxLiveTokens = 600

	// StatusClientClosedRequest is recorded for a request that was never
	// answered: its client went away, or the server closed, first (see
	// Exchange.Abandon).
	StatusClientClosedRequest = 499

	orgIDHeader = "X-Databricks-Org-Id"
	// requestIDHeader carries a fresh id on every answer, as the real REST
	// API's x-request-id does (coda --debug logs it).
	requestIDHeader = "X-Request-Id"
	maxBodyBytes    = 1 << 20
)

// API paths served by the fake.
const (
	PathMe           = "/api/2.0/preview/scim/v2/Me"
	PathTokenCreate  = "/api/2.0/token/create"
	PathTokenDelete  = "/api/2.0/token/delete"
	PathTokenList    = "/api/2.0/token/list"
	PathHostMetadata = "/.well-known/databricks-config"
)

// InvalidTokenBody is byte for byte what a real workspace answers (with
// 403) for an unknown, revoked or expired PAT; note the numeric error_code.
const InvalidTokenBody = `{"error_code":403,"message":"Invalid access token."}`

// Options configures a Server. The zero value is usable.
type Options struct {
	// Clock decides token creation and expiry; nil means clock.Real{}.
	Clock clock.Clock
	// OnUnexpected is called for a request to a route with no handler, so a
	// test learns that the code under test called an endpoint the fake does
	// not model. Tests usually pass t.Errorf-like funcs.
	OnUnexpected func(msg string)
	// OrgID is sent as the X-Databricks-Org-Id header on every response;
	// empty means DefaultOrgID.
	OrgID string
	// MaxLiveTokens is the per-user quota of live tokens; <= 0 means
	// DefaultMaxLiveTokens.
	MaxLiveTokens int
	// Extension, if not nil, adds routes and sees every request before the
	// server routes it.
	Extension Extension
}

// An Extension adds routes to a Server and may answer any request in place
// of the Server's own routes. The package fakeworkspace is one; `coda demo`
// uses none.
type Extension interface {
	// Credentials returns the token values r presents, in the order they
	// are tried, and ok true when r is for a route of the extension that
	// takes its token from more than the Authorization header. With ok
	// false the Server reads only "Authorization: Bearer".
	Credentials(r *http.Request) (values []string, ok bool)
	// Serve answers the request of x, once its body is read. x.Route
	// routes it as the Server would without the extension.
	Serve(x *Exchange)
	// Routes describes the extension's routes ("POST /path") in the
	// message for an unexpected request.
	Routes() []string
}

// Request is one recorded request. It deliberately has no token value.
type Request struct {
	Method string
	Path   string
	// Status is the HTTP status answered: 0 while the request is in flight,
	// StatusClientClosedRequest if it was never answered.
	Status int
	// TokenID is the id of the token the request presented, when the
	// server knows it (live, deleted or expired), "" otherwise. When an
	// Extension's route takes several credentials, it is the first live
	// one, else the first known one.
	TokenID string
	// Protocol and Model are what an Extension recorded with
	// Exchange.Describe (for a model route, its protocol and the model the
	// request named); "" otherwise.
	Protocol string
	Model    string
}

// TokenInfo describes a token held by the fake.
type TokenInfo struct {
	ID, Comment, UserName string
	Created, Expiry       time.Time // Expiry is zero when NeverExpires
	NeverExpires          bool
	Scopes                []string // nil: every API
}

// Server is a fake Databricks workspace. All methods are safe for concurrent
// use.
type Server struct {
	clock         clock.Clock
	onUnexpected  func(string)
	orgID         string
	maxLiveTokens int
	ext           Extension
	routes        map[string]routeHandler // key: "METHOD /path"
	// scopes are the API scope each route needs (none for a route absent).
	scopes map[string]string

	mu       sync.Mutex
	users    map[string]*user  // by userName
	tokens   map[string]*token // by id
	byValue  map[string]*token
	minted   []string
	tokenSeq int
	requests []*Request

	httpSrv   *http.Server
	url       string
	served    chan struct{} // closed when Serve returns
	closeOnce sync.Once
}

// routeHandler serves an authenticated API route; caller is the live token
// that authenticated the request.
type routeHandler func(w http.ResponseWriter, r *http.Request, caller *token)

// New returns a Server with no users or tokens. Use Start to serve it on
// loopback, or mount Handler yourself.
func New(opts Options) *Server {
	s := &Server{
		clock:         opts.Clock,
		onUnexpected:  opts.OnUnexpected,
		orgID:         opts.OrgID,
		maxLiveTokens: opts.MaxLiveTokens,
		ext:           opts.Extension,
		users:         map[string]*user{},
		tokens:        map[string]*token{},
		byValue:       map[string]*token{},
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.orgID == "" {
		s.orgID = DefaultOrgID
	}
	if s.maxLiveTokens <= 0 {
		s.maxLiveTokens = DefaultMaxLiveTokens
	}
	s.routes = map[string]routeHandler{
		http.MethodGet + " " + PathMe:           s.handleMe,
		http.MethodPost + " " + PathTokenCreate: s.handleTokenCreate,
		http.MethodPost + " " + PathTokenDelete: s.handleTokenDelete,
		http.MethodGet + " " + PathTokenList:    s.handleTokenList,
	}
	// The token API is the "authentication" scope. Which scope SCIM Me
	// needs, if any, is unverified: here it needs none.
	s.scopes = map[string]string{
		http.MethodPost + " " + PathTokenCreate: ScopeAuthentication,
		http.MethodPost + " " + PathTokenDelete: ScopeAuthentication,
		http.MethodGet + " " + PathTokenList:    ScopeAuthentication,
	}
	return s
}

// ScopeAuthentication is the API scope of the token API: only a token with
// it can create tokens (and it can create them with any scope).
const ScopeAuthentication = "authentication"

// allowed reports whether a token restricted to scopes may call a route
// that needs scope: "all-apis" allows everything, and SCOPE:read allows
// the GET and HEAD routes of SCOPE.
func allowed(scopes []string, scope, method string) bool {
	if scopes == nil || scope == "" {
		return true
	}
	for _, s := range scopes {
		if s == "all-apis" || s == scope || (s == scope+":read" && (method == http.MethodGet || method == http.MethodHead)) {
			return true
		}
	}
	return false
}

// Start serves the fake on 127.0.0.1 at a free port. Loopback only: the fake
// accepts any well-formed request and must not be reachable from elsewhere.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpSrv != nil {
		return errors.New("fakeworkspace: server already started")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fakeworkspace: listen on loopback: %w", err)
	}
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// net/http's own log lines would land on the demo's terminal.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.url = "http://" + l.Addr().String()
	s.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		_ = srv.Serve(l) // returns ErrServerClosed after Close
	}(s.httpSrv, s.served)
	return nil
}

// URL is the base URL, "http://127.0.0.1:PORT", or "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Handler serves the fake workspace API, for mounting in an httptest.Server.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Close stops the server and waits for in-flight requests (an Extension
// that holds requests must end them first). It is safe to call more than
// once and without Start.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		srv, served := s.httpSrv, s.served
		s.mu.Unlock()
		if srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-served
	})
}

// Requests returns a copy of the requests recorded so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Exchange is one request being served, as an Extension sees it.
type Exchange struct {
	// W answers the request; it records the status answered.
	W http.ResponseWriter
	// R is the request; its Body can be read again and holds Body.
	R *http.Request
	// Body is the request body, read in full.
	Body []byte

	s  *Server
	sw *statusWriter
}

// Route serves the request with the Server's own routes, answering on w
// (W, or a writer of the extension's that holds the answer back).
func (x *Exchange) Route(w http.ResponseWriter) {
	x.R.Body = io.NopCloser(bytes.NewReader(x.Body))
	x.s.route(w, x.R)
}

// Describe records the protocol and model of the request.
func (x *Exchange) Describe(protocol, model string) {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.sw.rec.Protocol, x.sw.rec.Model = protocol, model
}

// Abandon records that no answer was sent (StatusClientClosedRequest),
// unless one was.
func (x *Exchange) Abandon() { x.sw.setStatus(StatusClientClosedRequest) }

// Request returns the request's record as it is now.
func (x *Exchange) Request() Request {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	return *x.sw.rec
}

// serveHTTP records the request, reads its body, and hands it to the
// extension or routes it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(orgIDHeader, s.orgID)
	w.Header().Set(requestIDHeader, newRequestID())
	sw := &statusWriter{ResponseWriter: w, s: s, rec: s.recordArrival(r)}
	// Read the body up front: net/http notices a client hanging up (and
	// cancels r.Context(), ending an extension's delay) only once the body
	// is read.
	body, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, maxBodyBytes))
	if err != nil {
		WriteError(sw, http.StatusBadRequest, "MALFORMED_REQUEST", "Could not read request body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if s.ext == nil {
		s.route(sw, r)
		return
	}
	s.ext.Serve(&Exchange{W: sw, R: r, Body: body, s: s, sw: sw})
}

// newRequestID returns a random UUID, the shape of the real request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// credentials are the token values r presents, in the order tried.
func (s *Server) credentials(r *http.Request) []string {
	if s.ext != nil {
		if values, ok := s.ext.Credentials(r); ok {
			return values
		}
	}
	if v, ok := Bearer(r); ok {
		return []string{v}
	}
	return nil
}

// recordArrival records the request before it is answered, so a test sees it
// even when its client gave up during a delay.
func (s *Server) recordArrival(r *http.Request) *Request {
	rec := &Request{Method: r.Method, Path: r.URL.Path}
	values := s.credentials(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.callerLocked(values); t != nil {
		rec.TokenID = t.id
	}
	s.requests = append(s.requests, rec)
	return rec
}

// callerLocked returns the token among values that a request authenticates
// with: the first live one, else the first known one (deleted or expired),
// else nil.
func (s *Server) callerLocked(values []string) *token {
	now := s.clock.Now()
	var known *token
	for _, v := range values {
		t := s.byValue[v]
		if t == nil {
			continue
		}
		if t.live(now) {
			return t
		}
		if known == nil {
			known = t
		}
	}
	return known
}

// route runs the handler for r's method and path (never the raw URI: the SDK
// sends "/Me?"), after authenticating the caller.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == PathHostMetadata {
		// Real workspaces here don't serve it; the SDK copes with a 404.
		WriteError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for '"+r.Method+" "+r.URL.Path+"'")
		return
	}
	h, ok := s.routes[r.Method+" "+r.URL.Path]
	if !ok {
		if s.onUnexpected != nil {
			s.onUnexpected(s.unexpectedMessage(r))
		}
		WriteError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for '"+r.Method+" "+r.URL.Path+"'")
		return
	}
	var values []string
	if v, ok := Bearer(r); ok {
		values = []string{v}
	}
	caller, ok := s.authenticate(w, values)
	if !ok {
		return
	}
	if scope := s.scopes[r.Method+" "+r.URL.Path]; !allowed(caller.scopes, scope, r.Method) {
		// The answer reported for scoped tokens ("OAuth token" for those).
		kind := "access"
		if caller.oauth {
			kind = "OAuth"
		}
		WriteError(w, http.StatusForbidden, "PERMISSION_DENIED", "Provided "+kind+" token does not have required scopes: "+scope)
		return
	}
	h(w, r, caller)
}

func (s *Server) unexpectedMessage(r *http.Request) string {
	known := make([]string, 0, len(s.routes))
	for k := range s.routes {
		known = append(known, k)
	}
	if s.ext != nil {
		known = append(known, s.ext.Routes()...)
	}
	sort.Strings(known)
	return fmt.Sprintf("fakeworkspace: unexpected request %s %s: no handler for this route; "+
		"add a handler in internal/fakeworkspace (the token API's in its tokenapi package) if the client should call it (known routes: %s)",
		r.Method, r.URL.Path, strings.Join(known, ", "))
}

// Authenticate checks the token values a request presents (in the order
// tried) and reports whether one is live. If not, it answers as a real
// workspace does: 401 when the request presents none, 403 "Invalid access
// token." otherwise.
func (s *Server) Authenticate(w http.ResponseWriter, values []string) bool {
	_, ok := s.authenticate(w, values)
	return ok
}

func (s *Server) authenticate(w http.ResponseWriter, values []string) (*token, bool) {
	if len(values) == 0 {
		WriteError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request is missing an Authorization: Bearer <token> header.")
		return nil, false
	}
	s.mu.Lock()
	t := s.callerLocked(values)
	live := t != nil && t.live(s.clock.Now())
	s.mu.Unlock()
	if !live {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, InvalidTokenBody)
		return nil, false
	}
	return t, true
}

// Bearer returns the token of an "Authorization: Bearer <token>" header.
func Bearer(r *http.Request) (string, bool) {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	value = strings.TrimSpace(value)
	if !ok || !strings.EqualFold(scheme, "Bearer") || value == "" {
		return "", false
	}
	return value, true
}

// WriteError sends the standard Databricks error body.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}{code, msg})
}

// WriteJSON sends v as a JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only reachable through a programming error.
		http.Error(w, "fakeworkspace: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// statusWriter records the status in the request record before the answer
// leaves, so a client never sees a response its record does not show yet.
type statusWriter struct {
	http.ResponseWriter
	s       *Server
	rec     *Request
	written bool // only the request's own goroutine touches it
}

func (w *statusWriter) setStatus(code int) {
	if w.written {
		return
	}
	w.written = true
	w.s.mu.Lock()
	w.rec.Status = code
	w.s.mu.Unlock()
}

func (w *statusWriter) WriteHeader(code int) {
	w.setStatus(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.setStatus(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered event-stream data to the client.
func (w *statusWriter) Flush() {
	w.setStatus(http.StatusOK)
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}
