package workspace

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/redact"
)

// MaxResponseBytes bounds an answer body the workspace client reads.
const MaxResponseBytes = 16 << 20

// RedirectError is a 3xx answer, which coda refuses: the workspace API
// never redirects, and following one would send the credentials wherever
// it points (another port, another host, plain http).
type RedirectError struct {
	StatusCode int
	// Target is the scheme and host the answer redirects to ("" when it
	// names none or nothing readable); never its path or query.
	Target string
	// privateLink is set for the Private Link "no access from this
	// network" redirect to the workspace's sign-in page.
	privateLink bool
}

func (e *RedirectError) Error() string {
	to := " to " + e.Target
	if e.Target == "" {
		to = " (a redirect)"
	}
	msg := fmt.Sprintf("the workspace answered %d%s; coda does not follow redirects with credentials", e.StatusCode, to)
	if e.privateLink {
		msg += " (this looks like Private Link refusing this network: connect through the workspace's private endpoint)"
	}
	return msg
}

// newRedirectError describes the redirect of resp to req.
func newRedirectError(req *http.Request, status int, location string) *RedirectError {
	e := &RedirectError{StatusCode: status}
	if location == "" {
		return e
	}
	u, err := url.Parse(location)
	if err != nil {
		return e
	}
	if req != nil && req.URL != nil {
		u = req.URL.ResolveReference(u)
	}
	if u.Host == "" {
		return e
	}
	e.Target = redact.Line(u.Scheme+"://"+u.Host, 200)
	e.privateLink = u.Path == "/login.html" && strings.Contains(u.RawQuery, "error=private-link-validation-error")
	return e
}

// NoRedirectTransport wraps base (http.DefaultTransport when nil) so that
// every 3xx answer becomes a *RedirectError and its body is discarded: no
// client built on it can follow a redirect, whatever its CheckRedirect.
// Use it for anything that sends a workspace token upstream.
func NoRedirectTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return noRedirectTransport{base: base}
}

type noRedirectTransport struct{ base http.RoundTripper }

func (t noRedirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
		return nil, newRedirectError(r, resp.StatusCode, resp.Header.Get("Location"))
	}
	return resp, nil
}

// NoRedirectClient is an *http.Client with timeout over
// NoRedirectTransport(http.DefaultTransport) whose CheckRedirect also
// refuses, in case its Transport is ever replaced.
func NoRedirectClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		Transport:     NoRedirectTransport(http.DefaultTransport),
		CheckRedirect: refuseRedirect,
	}
}

// refuseRedirect is a CheckRedirect that refuses every redirect.
func refuseRedirect(req *http.Request, via []*http.Request) error {
	status := http.StatusFound
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	e := &RedirectError{StatusCode: status}
	if req.URL != nil {
		e.Target = redact.Line(req.URL.Scheme+"://"+req.URL.Host, 200)
	}
	return e
}

// singleShotTransport makes the SDK give up on transport errors after one
// attempt. The SDK retries any error whose text contains "connection
// refused", "i/o timeout" and the like until its retry timeout, which also
// bounds each request, so it cannot simply be set low; instead the error
// is reworded. coda's own loops decide when to try again. It also bounds
// every answer body to MaxResponseBytes. Its base is a NoRedirectTransport,
// whose *RedirectError it passes on as it is.
type singleShotTransport struct{ base http.RoundTripper }

func (t singleShotTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	var re *RedirectError
	if errors.As(err, &re) {
		return nil, re
	}
	if err != nil {
		return nil, &transportError{err: err}
	}
	if resp.ContentLength > MaxResponseBytes {
		resp.Body.Close()
		return nil, errTooLarge
	}
	resp.Body = &cappedBody{rc: resp.Body, left: MaxResponseBytes}
	return resp, nil
}

// errTooLarge is an answer over MaxResponseBytes.
var errTooLarge = fmt.Errorf("the workspace's answer is larger than %d MiB", MaxResponseBytes>>20)

// cappedBody fails a read past its limit instead of returning more.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more than allowed shows the excess
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - 1, errTooLarge
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// transportError carries the cause (for errors.Is) under a message the
// SDK's retry matcher does not recognise.
type transportError struct{ err error }

func (e *transportError) Error() string { return describeNetErr(e.err) }
func (e *transportError) Unwrap() error { return e.err }

var sdkRetryWords = strings.NewReplacer(
	"connection refused", "refused",
	"connection reset by peer", "reset by the peer",
	"i/o timeout", "timed out",
	"TLS handshake timeout", "TLS handshake timed out",
	"Unexpected error", "unexpected failure",
)

func describeNetErr(err error) string {
	switch {
	case errors.Is(err, errConnRefused):
		return "the workspace refused the connection"
	case errors.Is(err, errConnReset):
		return "the connection was reset"
	}
	return sdkRetryWords.Replace(err.Error())
}
