package fakeworkspace

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace/tokenapi"
)

// Fault makes matching requests fail, stall or misbehave, to exercise
// retries, timeouts, lost responses and a workspace (or something in front
// of it) that answers what the API never does: see Header, Body, Rewrite
// and Misbehaviours.
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
	// Header is set on the fault's answer, whatever it is: with Status 302
	// and a Location, the fault is a redirect.
	Header http.Header
	// Body, when not nil, is sent byte for byte in place of the standard
	// error body, with Status (200 when 0) and Content-Type
	// application/json unless Header says otherwise: malformed JSON, an
	// HTML page.
	Body []byte
	// Rewrite, when not nil, runs the real handler (its state changes
	// happen, as with AfterHandler) and sends what Rewrite makes of its
	// answer, with Status in place of the answer's when not 0: the real
	// answer cut short, with garbage after it, or with a field changed.
	// Misbehaviours has ready ones.
	Rewrite func(Answer) Answer
}

// Answer is a response as a Rewrite sees and returns it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// AppendBody is a Rewrite that sends extra after the real answer: valid
// JSON followed by garbage.
func AppendBody(extra string) func(Answer) Answer {
	return func(a Answer) Answer {
		a.Body = append(append([]byte(nil), a.Body...), extra...)
		return a
	}
}

// CutBody is a Rewrite that sends only the first n bytes of the real
// answer, or its first half when n <= 0: truncated JSON.
func CutBody(n int) func(Answer) Answer {
	return func(a Answer) Answer {
		if n <= 0 {
			n = len(a.Body) / 2
		}
		a.Body = a.Body[:min(n, len(a.Body))]
		return a
	}
}

// ReplaceBody is a Rewrite that sends body with contentType in place of
// the real answer, after the handler ran.
func ReplaceBody(contentType, body string) func(Answer) Answer {
	return func(a Answer) Answer {
		a.Header = a.Header.Clone()
		a.Header.Set("Content-Type", contentType)
		a.Body = []byte(body)
		return a
	}
}

// EditJSON is a Rewrite that decodes the real answer as a JSON object
// (numbers kept exact), lets edit change it and sends it re-encoded. An
// answer that is not an object is sent as it is.
func EditJSON(edit func(m map[string]any)) func(Answer) Answer {
	return func(a Answer) Answer {
		dec := json.NewDecoder(bytes.NewReader(a.Body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil || m == nil {
			return a
		}
		edit(m)
		body, err := json.Marshal(m)
		if err != nil {
			return a
		}
		a.Body = body
		return a
	}
}

// editTokenInfo is EditJSON on the token_info of a token/create answer.
func editTokenInfo(edit func(info map[string]any)) func(Answer) Answer {
	return EditJSON(func(m map[string]any) {
		if info, ok := m["token_info"].(map[string]any); ok {
			edit(info)
		}
	})
}

// editTokenValue is EditJSON on the token_value of a token/create answer.
func editTokenValue(edit func(v string) string) func(Answer) Answer {
	return EditJSON(func(m map[string]any) {
		v, _ := m["token_value"].(string)
		m["token_value"] = edit(v)
	})
}

// Misbehaviours are Rewrites by name (the script suite's `fake fault ...
// rewrite=NAME`). Those for token/create keep the real token minted, so a
// test can check it is deleted; those that change the token value keep the
// real value inside the new one, so a leak of it is still found.
var Misbehaviours = map[string]func(Answer) Answer{
	// Any route.
	"trailing-garbage": AppendBody("\n}{\"garbage\": true"),
	"truncated":        CutBody(0),
	"not-json":         ReplaceBody("application/json", `{"token_value": dapi, oops`),
	"html":             ReplaceBody("text/html; charset=utf-8", "<html><body><h1>Sign in</h1></body></html>"),
	// token/create.
	"empty-token-value":   editTokenValue(func(string) string { return "" }),
	"control-token-value": editTokenValue(func(v string) string { return "\x1b[2J" + v + "\r\n" }),
	"spaced-token-value":  editTokenValue(func(v string) string { return v + " " + v }),
	"huge-token-value":    editTokenValue(func(v string) string { return v + strings.Repeat("0", 1<<20) }),
	"no-token-id":         editTokenInfo(func(info map[string]any) { delete(info, "token_id") }),
	"no-expiry":           editTokenInfo(func(info map[string]any) { delete(info, "expiry_time") }),
	"zero-expiry":         editTokenInfo(func(info map[string]any) { info["expiry_time"] = 0 }),
	"never-expires":       editTokenInfo(func(info map[string]any) { info["expiry_time"] = -1 }),
	"past-expiry": editTokenInfo(func(info map[string]any) {
		created, _ := info["creation_time"].(json.Number).Int64()
		info["expiry_time"] = created - 1000
	}),
	"no-creation-time": editTokenInfo(func(info map[string]any) { delete(info, "creation_time") }),
	"two-year-expiry": editTokenInfo(func(info map[string]any) {
		created, _ := info["creation_time"].(json.Number).Int64()
		info["expiry_time"] = created + 2*365*24*3600*1000
	}),
	// SCIM Me.
	"empty-username":   EditJSON(func(m map[string]any) { m["userName"] = "" }),
	"control-username": EditJSON(func(m map[string]any) { m["userName"] = "\x1b[31malice@example.com" }),
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

// writeFault sends the fault's own answer: Body, or the standard error.
func writeFault(w http.ResponseWriter, f *Fault) {
	setHeader(w, f.Header)
	if f.Body != nil {
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write(f.Body)
		return
	}
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

// writeRewritten sends what f.Rewrite makes of the handler's answer in buf.
func writeRewritten(w http.ResponseWriter, f *Fault, buf *bufferedWriter) {
	a := f.Rewrite(Answer{Status: buf.status, Header: buf.header.Clone(), Body: buf.body})
	if f.Status != 0 {
		a.Status = f.Status
	}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	a.Header.Del("Content-Length")
	setHeader(w, a.Header)
	setHeader(w, f.Header)
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

func setHeader(w http.ResponseWriter, h http.Header) {
	for k, v := range h {
		w.Header()[k] = append([]string(nil), v...)
	}
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
