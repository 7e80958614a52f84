package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// maxErrorPeek bounds how much of a 401 or 403 body is read to decide
// whether the token was refused; the workspace's answers are tiny.
const maxErrorPeek = 64 << 10

// retryTransport sends a request and, when the workspace refuses the token
// as dead or expiring, refreshes it and sends the request exactly once
// more. It runs under ReverseProxy, before anything is written to the
// agent, so the refused answer can still be replaced.
type retryTransport struct {
	base   http.RoundTripper
	tokens TokenSource
	logf   func(level slog.Level, format string, args ...any)
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	why := deadTokenAnswer(resp)
	if why == "" {
		return resp, nil
	}
	ctx := req.Context()
	rt := routeOf(ctx)
	stale := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	fresh, err := t.tokens.Refresh(ctx, stale)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			t.logf(slog.LevelWarn, "%s %s: the workspace answered %d (%s) and refreshing the token failed: %v", rt.method, rt.path, resp.StatusCode, why, err)
		}
		return resp, nil
	case fresh == stale:
		t.logf(slog.LevelWarn, "%s %s: the workspace answered %d (%s) and there is no newer token", rt.method, rt.path, resp.StatusCode, why)
		return resp, nil
	case !visibleASCII(fresh):
		t.logf(slog.LevelError, "%s %s: the workspace answered %d (%s) and the token source returned an unusable token", rt.method, rt.path, resp.StatusCode, why)
		return resp, nil
	}
	retry := req.Clone(ctx)
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	} else if req.Body != nil && req.Body != http.NoBody {
		return resp, nil // the body cannot be sent twice
	}
	retry.Header.Set("Authorization", "Bearer "+fresh)
	resp.Body.Close()
	t.logf(slog.LevelInfo, "%s %s: the workspace answered %d (%s); retrying once with a refreshed token", rt.method, rt.path, resp.StatusCode, why)
	return t.base.RoundTrip(retry)
}

// deadTokenAnswer says why resp refuses the token as dead ("token
// refused", "invalid access token", "token expiring"), or "" for any other
// answer. It reads at most maxErrorPeek bytes of a 401 or 403 body and
// puts them back, so resp can still go to the agent unchanged.
func deadTokenAnswer(resp *http.Response) string {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return ""
	}
	peek, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorPeek+1))
	resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(peek), resp.Body), Closer: resp.Body}
	if err != nil || len(peek) > maxErrorPeek {
		return ""
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return "token refused"
	}
	lower := bytes.ToLower(peek)
	switch {
	case bytes.Contains(lower, []byte("invalid access token")):
		return "invalid access token"
	case bytes.Contains(lower, []byte("token is expiring")):
		return "token expiring"
	}
	return ""
}

// replayBody is a body whose first bytes were read and put back.
type replayBody struct {
	io.Reader
	io.Closer
}
