package workspace

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go/logger"

	"github.com/coda-cli/coda/internal/redact"
)

// LogTransport wraps base (http.DefaultTransport when nil) so that every
// request is logged to log at Debug, one line once its answer's headers
// arrive or it fails:
//
//	http method=POST url=https://host/api/2.0/token/create status=200 duration=84ms request_id=…
//
// The URL has no user info or fragment, and query values whose name says
// they are a credential (token, key, secret, signature, code, ...) or that
// look like a token are "REDACTED". No header value is logged but the
// request id the workspace answers with (x-databricks-request-id, else
// x-request-id), and never a body. duration runs until the answer's
// headers, not to the end of its body. With log nil or Debug off it costs
// one Enabled call.
func LogTransport(base http.RoundTripper, log *slog.Logger) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if log == nil {
		return base
	}
	return logTransport{base: base, log: log}
}

type logTransport struct {
	base http.RoundTripper
	log  *slog.Logger
}

func (t logTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	if !t.log.Enabled(ctx, slog.LevelDebug) {
		return t.base.RoundTrip(r)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	attrs := []slog.Attr{
		slog.String("method", redact.Line(r.Method, 20)),
		slog.String("url", LogURL(r.URL)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", redact.Line(redact.Secrets(err.Error()), 300)))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	attrs = append(attrs, slog.String("duration", roundDuration(time.Since(start))))
	if resp != nil {
		if id := requestID(resp.Header); id != "" {
			attrs = append(attrs, slog.String("request_id", id))
		}
	}
	t.log.LogAttrs(ctx, slog.LevelDebug, "http", attrs...)
	return resp, err
}

// requestID is the id the workspace gives an answer: model serving sends
// x-databricks-request-id, the REST API x-request-id.
func requestID(h http.Header) string {
	for _, name := range []string{"X-Databricks-Request-Id", "X-Request-Id"} {
		if v := h.Get(name); v != "" {
			return redact.Line(redact.Secrets(v), 128)
		}
	}
	return ""
}

func roundDuration(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// LogURL shows u for a log: no user info or fragment, every query value
// that names or looks like a credential replaced by REDACTED, one line.
func LogURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User, c.Fragment, c.RawFragment = nil, "", ""
	c.ForceQuery = false // the SDK's "/Me?"
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = "REDACTED" // unreadable: show none of it
		} else {
			for name, values := range q {
				for i, v := range values {
					if secretParam(name) || redact.Secrets(v) != v {
						values[i] = "REDACTED"
					}
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	return redact.Line(redact.Secrets(c.String()), 1000)
}

// secretParam reports whether a query parameter's name says it holds a
// credential.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "sig", "code", "pwd", "auth":
		return true
	}
	for _, word := range []string{"token", "key", "secret", "password", "passwd", "signature", "credential", "session", "authorization"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return false
}

// sdkLogger takes the log lines of databricks-sdk-go. The SDK's own
// logger writes through the standard log package, unredacted, and at debug
// level dumps whole requests and answers (token/create's answer holds the
// new token), so coda never lets it print: its debug and trace lines are
// refused (Enabled false, so the SDK does not even build them); info lines
// go to coda's logger at Debug, warnings and errors as they are, each
// cleaned of the client's token and anything token-shaped. The zero value
// discards everything.
type sdkLogger struct {
	log    *slog.Logger
	secret string
}

// The SDK's package-level logger is what it uses for a context without
// one of its own; coda gives every call one (sdkClient.ctx), so this one
// only ever sees what the SDK logs outside a request, and drops it.
func init() { logger.DefaultLogger = sdkLogger{} }

func (l sdkLogger) level(level logger.Level) (slog.Level, bool) {
	switch {
	case level >= logger.LevelError:
		return slog.LevelError, true
	case level >= logger.LevelWarn:
		return slog.LevelWarn, true
	case level >= logger.LevelInfo:
		return slog.LevelDebug, true
	}
	return 0, false
}

func (l sdkLogger) Enabled(ctx context.Context, level logger.Level) bool {
	to, ok := l.level(level)
	return ok && l.log != nil && l.log.Enabled(ctx, to)
}

func (l sdkLogger) logf(ctx context.Context, level logger.Level, format string, v ...any) {
	if !l.Enabled(ctx, level) {
		return
	}
	to, _ := l.level(level)
	l.log.Log(ctx, to, "databricks sdk: "+clean(fmt.Sprintf(format, v...), l.secret))
}

func (l sdkLogger) Tracef(context.Context, string, ...any) {}
func (l sdkLogger) Debugf(context.Context, string, ...any) {}
func (l sdkLogger) Infof(ctx context.Context, format string, v ...any) {
	l.logf(ctx, logger.LevelInfo, format, v...)
}
func (l sdkLogger) Warnf(ctx context.Context, format string, v ...any) {
	l.logf(ctx, logger.LevelWarn, format, v...)
}
func (l sdkLogger) Errorf(ctx context.Context, format string, v ...any) {
	l.logf(ctx, logger.LevelError, format, v...)
}
