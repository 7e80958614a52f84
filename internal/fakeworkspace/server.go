// Package fakeworkspace is an in-memory Databricks workspace for tests. It
// is the core of package tokenapi (SCIM Me, the caller's own token API,
// expiry, the quota, the 403 "Invalid access token." answer, scoped PATs)
// plus what only tests need: the workspace's OAuth routes (the OIDC
// discovery document and /oidc/v1/token: client_credentials for service
// principals, refresh_token for `databricks auth login` tokens, whose
// access tokens then authenticate like PATs; see oauth.go), the serving
// endpoint list and the model-serving routes the
// coding agents call (Anthropic Messages, OpenAI Responses, Google
// generateContent, OpenAI chat completions), which answer ReplyText;
// HoldToolCall, which makes the next request that offers a given tool get
// a tool call instead, held until released, so a test can act in the
// middle of an agent's session; and faults injected per route, from an
// error or a delay to answers the real API never gives (a redirect, a
// raw body, the real answer cut short, with garbage after it or with a
// field changed: see Fault and Misbehaviours).
//
// Only tests import it: `coda demo` runs tokenapi alone, so the model
// emulation and the fault injection are not linked into the coda binary
// (internal/cmd/demo's tests check that). Tests run it on loopback
// because no real workspace is reachable from here.
//
// It copies the real error shapes and never logs or records token values.
package fakeworkspace

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/fakeworkspace/tokenapi"
)

// The core's constants, under the names tests have always used.
const (
	DefaultOrgID              = tokenapi.DefaultOrgID
	DefaultMaxLiveTokens      = tokenapi.DefaultMaxLiveTokens
	StatusClientClosedRequest = tokenapi.StatusClientClosedRequest

	PathMe           = tokenapi.PathMe
	PathTokenCreate  = tokenapi.PathTokenCreate
	PathTokenDelete  = tokenapi.PathTokenDelete
	PathTokenList    = tokenapi.PathTokenList
	PathHostMetadata = tokenapi.PathHostMetadata
)

// invalidTokenBody is the real 403 answer for a dead token.
const invalidTokenBody = tokenapi.InvalidTokenBody

// Request is one recorded request. It deliberately has no token value.
// For a model route, TokenID is the token the request authenticated with,
// which may come from x-api-key or x-goog-api-key; Protocol is one of the
// Protocol constants and Model the model the request named, in its body or
// (Gemini) its path.
type Request = tokenapi.Request

// TokenInfo describes a token held by the fake.
type TokenInfo = tokenapi.TokenInfo

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

// Server is a fake Databricks workspace: tokenapi's, with model routes,
// held tool calls and faults. All methods are safe for concurrent use.
type Server struct {
	*tokenapi.Server

	clock clock.Clock
	// servingEndpoints is fixed at New, so handlers read it without mu.
	servingEndpoints []string

	mu     sync.Mutex
	faults []*faultEntry
	holds  []*HeldCall
	// OAuth: service principals' secrets by application id, refresh
	// tokens by value, and every OAuth secret issued (for MintedValues).
	principals    map[string]string
	refreshTokens map[string]*oauthGrant
	oauthSecrets  []string

	closing   chan struct{} // closed by Close; aborts fault delays and holds
	closeOnce sync.Once
}

// New returns a Server with no users or tokens. Use Start to serve it on
// loopback, or mount Handler yourself.
func New(opts Options) *Server {
	s := &Server{
		clock:            opts.Clock,
		servingEndpoints: append([]string(nil), opts.ServingEndpoints...),
		closing:          make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if opts.ServingEndpoints == nil {
		s.servingEndpoints = append([]string(nil), DefaultServingEndpoints...)
	}
	s.Server = tokenapi.New(tokenapi.Options{
		Clock:         s.clock,
		OnUnexpected:  opts.OnUnexpected,
		OrgID:         opts.OrgID,
		MaxLiveTokens: opts.MaxLiveTokens,
		Extension:     extension{s},
	})
	return s
}

// Close stops the server, aborting pending fault delays and held calls,
// and waits for in-flight requests. It is safe to call more than once and
// without Start.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.Server.Close()
}

// extension plugs the test-only routes into the core server.
type extension struct{ s *Server }

// Credentials: a model route takes its token from Authorization, x-api-key
// or x-goog-api-key.
func (e extension) Credentials(r *http.Request) ([]string, bool) {
	if !isModelPath(r.URL.Path) {
		return nil, false
	}
	return modelCredentials(r), true
}

func (e extension) Routes() []string {
	return append([]string{http.MethodGet + " " + PathServingEndpoints,
		http.MethodGet + " " + PathOIDCDiscovery, http.MethodPost + " " + PathOIDCToken}, modelRouteNames...)
}

// Serve records a model request's protocol and model, applies a matching
// fault, and otherwise routes the request.
func (e extension) Serve(x *tokenapi.Exchange) {
	s := e.s
	if protocol, model, ok := describeModelRequest(x.R, x.Body); ok {
		x.Describe(protocol, model)
		s.mu.Lock()
		s.noteFollowUpLocked(protocol, x.Body, x)
		s.mu.Unlock()
	}
	f := s.takeFault(x.R.Method, x.R.URL.Path)
	if f == nil {
		s.route(x.W, x, true)
		return
	}
	ownAnswer := f.Status != 0 || f.Body != nil
	if !f.AfterHandler && f.Rewrite == nil {
		if !s.sleep(x.R.Context(), f.Delay) {
			x.Abandon()
			return
		}
		if ownAnswer {
			writeFault(x.W, f)
		} else {
			setHeader(x.W, f.Header)
			s.route(x.W, x, true)
		}
		return
	}
	// Lost or rewritten response: the handler's state changes happen, but
	// its answer is held back (Delay) and replaced by the fault's error
	// (Status != 0 or Body) or by what Rewrite makes of it.
	buf := newBufferedWriter()
	s.route(buf, x, false)
	if !s.sleep(x.R.Context(), f.Delay) {
		x.Abandon()
		return
	}
	switch {
	case f.Rewrite != nil:
		writeRewritten(x.W, f, buf)
	case ownAnswer:
		writeFault(x.W, f)
	default:
		setHeader(buf, f.Header)
		buf.replay(x.W)
	}
}

// route answers x on w: a model route, the serving endpoint list, or the
// core's routes. canHold is false when a fault buffers the answer, which a
// held tool call must not be.
func (s *Server) route(w http.ResponseWriter, x *tokenapi.Exchange, canHold bool) {
	r := x.R
	if m, ok := modelRouteFor(r.Method, r.URL.Path); ok {
		s.routeModel(w, x, m, canHold)
		return
	}
	if isOAuthPath(r.URL.Path) {
		s.routeOAuth(w, x)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == PathServingEndpoints {
		var values []string
		if v, ok := tokenapi.Bearer(r); ok {
			values = []string{v}
		}
		if s.Authenticate(w, values) {
			s.handleServingEndpoints(w)
		}
		return
	}
	x.Route(w)
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
