// Package fakeworkspace is an in-memory Databricks workspace serving the few
// REST endpoints coda uses (SCIM Me, the caller's own token API, the serving
// endpoint list) and the model-serving routes the coding agents call
// (Anthropic Messages, OpenAI Responses, Google generateContent, OpenAI chat
// completions), which answer ReplyText. HoldToolCall makes the next request
// that offers a given tool get a tool call instead, held until released, so a
// test can act in the middle of an agent's session. Tests and the `coda demo`
// command run it on loopback because no real workspace is reachable from
// here.
//
// It copies the real error shapes, including the numeric error_code of the
// 403 "Invalid access token." answer, and it never logs or records token
// values.
package fakeworkspace

import (
	"bytes"
	"context"
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

	// StatusClientClosedRequest is recorded for a request whose client went
	// away (or whose server closed) during a fault delay, so nothing was sent.
	StatusClientClosedRequest = 499

	orgIDHeader  = "X-Databricks-Org-Id"
	maxBodyBytes = 1 << 20
)

// API paths served by the fake.
const (
	PathMe           = "/api/2.0/preview/scim/v2/Me"
	PathTokenCreate  = "/api/2.0/token/create"
	PathTokenDelete  = "/api/2.0/token/delete"
	PathTokenList    = "/api/2.0/token/list"
	PathHostMetadata = "/.well-known/databricks-config"
)

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
	// ServingEndpoints are the endpoint names GET /api/2.0/serving-endpoints
	// lists, all READY; nil means DefaultServingEndpoints, an empty non-nil
	// slice lists none. Model routes accept any model name.
	ServingEndpoints []string
}

// Request is one recorded request. It deliberately has no token value.
type Request struct {
	Method string
	Path   string
	// Status is the HTTP status answered: 0 while the request is in flight,
	// StatusClientClosedRequest if it was abandoned during a fault delay.
	Status int
	// TokenID is the id of the token presented in the Authorization header
	// when the server knows it (live, deleted or expired), "" otherwise. For
	// a model route it is the token the request authenticated with, which
	// may come from x-api-key or x-goog-api-key.
	TokenID string
	// Protocol is one of the Protocol constants for a model route, ""
	// otherwise.
	Protocol string
	// Model is the model a model request named, in its body or (Gemini) its
	// path; "" otherwise.
	Model string
}

// TokenInfo describes a token held by the fake.
type TokenInfo struct {
	ID, Comment, UserName string
	Created, Expiry       time.Time // Expiry is zero when NeverExpires
	NeverExpires          bool
}

// Server is a fake Databricks workspace. All methods are safe for concurrent
// use.
type Server struct {
	clock         clock.Clock
	onUnexpected  func(string)
	orgID         string
	maxLiveTokens int
	routes        map[string]routeHandler // key: "METHOD /path"
	// servingEndpoints is fixed at New, so handlers read it without mu.
	servingEndpoints []string

	mu       sync.Mutex
	users    map[string]*user  // by userName
	tokens   map[string]*token // by id
	byValue  map[string]*token
	minted   []string
	tokenSeq int
	faults   []*faultEntry
	requests []*Request
	holds    []*HeldCall

	httpSrv   *http.Server
	url       string
	served    chan struct{} // closed when Serve returns
	closing   chan struct{} // closed by Close; aborts fault delays
	closeOnce sync.Once
}

// routeHandler serves an authenticated API route; caller is the live token
// that authenticated the request.
type routeHandler func(w http.ResponseWriter, r *http.Request, caller *token)

// New returns a Server with no users or tokens. Use Start to serve it on
// loopback, or mount Handler yourself.
func New(opts Options) *Server {
	s := &Server{
		clock:            opts.Clock,
		onUnexpected:     opts.OnUnexpected,
		orgID:            opts.OrgID,
		maxLiveTokens:    opts.MaxLiveTokens,
		servingEndpoints: append([]string(nil), opts.ServingEndpoints...),
		users:            map[string]*user{},
		tokens:           map[string]*token{},
		byValue:          map[string]*token{},
		closing:          make(chan struct{}),
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
	if opts.ServingEndpoints == nil {
		s.servingEndpoints = append([]string(nil), DefaultServingEndpoints...)
	}
	s.routes = map[string]routeHandler{
		http.MethodGet + " " + PathMe:               s.handleMe,
		http.MethodPost + " " + PathTokenCreate:     s.handleTokenCreate,
		http.MethodPost + " " + PathTokenDelete:     s.handleTokenDelete,
		http.MethodGet + " " + PathTokenList:        s.handleTokenList,
		http.MethodGet + " " + PathServingEndpoints: s.handleServingEndpoints,
	}
	return s
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

// Close stops the server, aborting pending fault delays, and waits for
// in-flight requests. It is safe to call more than once and without Start.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
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

// serveHTTP records the request, applies a matching fault, and otherwise
// routes it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(orgIDHeader, s.orgID)
	sw := &statusWriter{ResponseWriter: w, s: s, rec: s.recordArrival(r)}
	// Read the body up front: net/http notices a client hanging up (and
	// cancels r.Context(), ending a fault delay) only once the body is read.
	body, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, maxBodyBytes))
	if err != nil {
		writeError(sw, http.StatusBadRequest, "MALFORMED_REQUEST", "Could not read request body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if protocol, model, ok := s.describeModelRequest(r, body); ok {
		s.mu.Lock()
		sw.rec.Protocol, sw.rec.Model = protocol, model
		s.noteFollowUpLocked(protocol, body, sw.rec)
		s.mu.Unlock()
	}
	s.dispatch(sw, r)
}

// recordArrival records the request before it is answered, so a test sees it
// even when its client gave up during a delay.
func (s *Server) recordArrival(r *http.Request) *Request {
	rec := &Request{Method: r.Method, Path: r.URL.Path}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isModelPath(r.URL.Path) {
		if t, _ := s.modelCallerLocked(r); t != nil {
			rec.TokenID = t.id
		}
	} else if value, ok := bearer(r); ok {
		if t, ok := s.byValue[value]; ok {
			rec.TokenID = t.id
		}
	}
	s.requests = append(s.requests, rec)
	return rec
}

func (s *Server) dispatch(w *statusWriter, r *http.Request) {
	f := s.takeFault(r.Method, r.URL.Path)
	if f == nil {
		s.route(w, r)
		return
	}
	if !f.AfterHandler {
		if !s.sleep(r.Context(), f.Delay) {
			w.abandon()
			return
		}
		if f.Status == 0 {
			s.route(w, r)
		} else {
			writeFault(w, f)
		}
		return
	}
	// Lost response: the handler's state changes happen, but its answer is
	// held back (Delay) and replaced by the fault's error (Status != 0).
	buf := newBufferedWriter()
	s.route(buf, r)
	if !s.sleep(r.Context(), f.Delay) {
		w.abandon()
		return
	}
	if f.Status == 0 {
		buf.replay(w)
	} else {
		writeFault(w, f)
	}
}

// route runs the handler for r's method and path (never the raw URI: the SDK
// sends "/Me?"), after authenticating the caller.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == PathHostMetadata {
		// Real workspaces here don't serve it; the SDK copes with a 404.
		writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for '"+r.Method+" "+r.URL.Path+"'")
		return
	}
	if m, ok := s.modelRouteFor(r.Method, r.URL.Path); ok {
		s.routeModel(w, r, m)
		return
	}
	h, ok := s.routes[r.Method+" "+r.URL.Path]
	if !ok {
		if s.onUnexpected != nil {
			s.onUnexpected(s.unexpectedMessage(r))
		}
		writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for '"+r.Method+" "+r.URL.Path+"'")
		return
	}
	caller, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	h(w, r, caller)
}

func (s *Server) unexpectedMessage(r *http.Request) string {
	known := make([]string, 0, len(s.routes)+len(modelRouteNames))
	for k := range s.routes {
		known = append(known, k)
	}
	known = append(known, modelRouteNames...)
	sort.Strings(known)
	return fmt.Sprintf("fakeworkspace: unexpected request %s %s: no handler for this route; "+
		"add a handler to Server.routes in internal/fakeworkspace if the client should call it (known routes: %s)",
		r.Method, r.URL.Path, strings.Join(known, ", "))
}

// invalidTokenBody is byte for byte what a real workspace answers for an
// unknown, revoked or expired PAT; note the numeric error_code.
const invalidTokenBody = `{"error_code":403,"message":"Invalid access token."}`

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*token, bool) {
	value, ok := bearer(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
			"Request is missing an Authorization: Bearer <token> header.")
		return nil, false
	}
	s.mu.Lock()
	t := s.byValue[value]
	live := t != nil && t.live(s.clock.Now())
	s.mu.Unlock()
	if !live {
		writeInvalidToken(w)
		return nil, false
	}
	return t, true
}

func writeInvalidToken(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_, _ = io.WriteString(w, invalidTokenBody)
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	value = strings.TrimSpace(value)
	if !ok || !strings.EqualFold(scheme, "Bearer") || value == "" {
		return "", false
	}
	return value, true
}

// sleep waits d of real time, not Options.Clock: delays exist to exercise
// client HTTP timeouts, and a fake clock's Sleep would return at once. It
// reports false if the client went away or the server is closing.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// statusWriter records the status in the request record before the answer
// leaves, so a client never sees a response its record does not show yet.
type statusWriter struct {
	http.ResponseWriter
	s       *Server
	rec     *Request
	written bool
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

// abandon records that no answer was sent.
func (w *statusWriter) abandon() { w.setStatus(StatusClientClosedRequest) }

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

// bufferedWriter holds a handler's answer so an AfterHandler fault can delay
// or discard it.
type bufferedWriter struct {
	header http.Header
	status int
	body   []byte
}

func newBufferedWriter() *bufferedWriter { return &bufferedWriter{header: http.Header{}} }

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

func (b *bufferedWriter) replay(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.body)
}
