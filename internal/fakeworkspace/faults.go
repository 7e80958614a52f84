package fakeworkspace

import (
	"net/http"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace/tokenapi"
)

// Fault makes matching requests fail or stall, to exercise retries, timeouts
// and lost responses.
type Fault struct {
	// Times is how many matching requests the fault applies to; <= 0 means
	// every matching request.
	Times int
	// Status is the HTTP status to answer with (e.g. 500, 503, 429); 0 means
	// the request is only delayed and then answered normally.
	Status int
	// ErrorCode is the error_code sent; empty derives one from Status.
	ErrorCode string
	// Message is the message sent; empty uses the status text.
	Message string
	// Delay is waited (in real time) before answering.
	Delay time.Duration
	// AfterHandler runs the real handler first, so its state changes happen,
	// then answers with the fault instead: the "lost response" case. With
	// Status 0 the real answer is only delayed.
	AfterHandler bool
}

type faultEntry struct {
	method, path string
	fault        Fault
	left         int // remaining uses; < 0 means unlimited
}

// AddFault arranges for requests with this method and URL path to meet f.
// Faults are tried in the order added; the first with uses left applies and
// consumes one. An empty method matches any method.
func (s *Server) AddFault(method, path string, f Fault) {
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultEntry{method: method, path: path, fault: f, left: left})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault for a request, consuming one use, or nil.
func (s *Server) takeFault(method, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.faults {
		if e.path != path || (e.method != "" && e.method != method) {
			continue
		}
		f := e.fault
		if e.left > 0 {
			e.left--
			if e.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &f
	}
	return nil
}

func writeFault(w http.ResponseWriter, f *Fault) {
	code := f.ErrorCode
	if code == "" {
		code = defaultErrorCode(f.Status)
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	writeError(w, f.Status, code, msg)
}

// defaultErrorCode follows the Databricks canonical codes, which the SDK maps
// to its apierr sentinels.
func defaultErrorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BAD_REQUEST"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "RESOURCE_CONFLICT"
	case http.StatusTooManyRequests:
		return "REQUEST_LIMIT_EXCEEDED"
	case http.StatusNotImplemented:
		return "NOT_IMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "TEMPORARILY_UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL_ERROR"
	}
	return "UNKNOWN"
}

// The core's standard Databricks error and JSON answers.
var (
	writeError = tokenapi.WriteError
	writeJSON  = tokenapi.WriteJSON
)

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
