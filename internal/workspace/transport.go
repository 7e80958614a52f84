package workspace

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
)

// singleShotTransport makes the SDK give up on transport errors after one
// attempt. The SDK retries any error whose text contains "connection
// refused", "i/o timeout" and the like until its retry timeout, which also
// bounds each request, so it cannot simply be set low; instead the error
// is reworded. coda's own loops decide when to try again.
type singleShotTransport struct{ base http.RoundTripper }

func (t singleShotTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, &transportError{err: err}
	}
	return resp, nil
}

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
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the workspace refused the connection"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	}
	return sdkRetryWords.Replace(err.Error())
}
