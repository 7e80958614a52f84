// Package workspace is coda's only door to a Databricks workspace: a small
// Client interface and an implementation over databricks-sdk-go that can
// authenticate with exactly one personal access token and nothing else.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// User is the identity a token belongs to.
type User struct {
	ID          string
	UserName    string
	DisplayName string
}

// TokenInfo describes a token without its value.
type TokenInfo struct {
	ID      string
	Comment string
	Created time.Time
	// Expiry is the zero time for a token that never expires.
	Expiry time.Time
}

// NewToken is a freshly minted token: the only time its value is known.
type NewToken struct {
	TokenInfo
	Value string
}

// Client is what coda needs from a workspace.
type Client interface {
	Me(ctx context.Context) (User, error)
	CreateToken(ctx context.Context, lifetime time.Duration, comment string) (NewToken, error)
	// DeleteToken treats an unknown id as already deleted.
	DeleteToken(ctx context.Context, id string) error
	ListTokens(ctx context.Context) ([]TokenInfo, error)
	// ServingEndpoints lists the model-serving endpoint names.
	ServingEndpoints(ctx context.Context) ([]string, error)
	// Probe sends an authenticated request to a path on the workspace host
	// (model endpoints are not REST APIs the SDK knows) and returns the
	// status and the workspace id header; a 401 or 403 is also an *Error
	// that says whether the token is dead or only not allowed there.
	Probe(ctx context.Context, method, path, body string) (status int, workspaceID string, err error)
}

// Factory builds a Client that authenticates with token alone.
type Factory func(host, token string) (Client, error)

// ErrNoToken is returned for an empty token: with an empty token the SDK
// would go looking for other credentials, which coda never allows.
var ErrNoToken = errors.New("no token given")

// NormalizeHost checks a workspace URL and returns it as scheme://host[:port]
// without a trailing slash. A bare host name gets https://.
func NormalizeHost(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("no workspace host given: pass --host https://<workspace>.cloud.databricks.com or set DATABRICKS_HOST")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") ||
		u.Hostname() == "" || u.Hostname() == "http" || u.Hostname() == "https" {
		return "", fmt.Errorf("%q is not a workspace URL: use https://<workspace>.cloud.databricks.com", raw)
	}
	if u.User != nil {
		return "", errors.New("the workspace URL must not contain credentials")
	}
	return u.Scheme + "://" + u.Host, nil
}

// Kind classifies a workspace error by what the caller should do about it.
type Kind int

const (
	KindOther        Kind = iota
	KindTransient         // network trouble or a 5xx: try again later
	KindRateLimited       // 429
	KindInvalidToken      // the token is dead: log in again
	KindPermission        // the token works but may not do this
	KindQuota             // too many live tokens
	KindNotFound          // 404
	KindBadRequest        // 400 other than quota
)

func (k Kind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindRateLimited:
		return "rate limited"
	case KindInvalidToken:
		return "invalid token"
	case KindPermission:
		return "permission denied"
	case KindQuota:
		return "quota exceeded"
	case KindNotFound:
		return "not found"
	case KindBadRequest:
		return "bad request"
	}
	return "error"
}

// Retryable reports whether waiting and trying again may help.
func (k Kind) Retryable() bool { return k == KindTransient || k == KindRateLimited }

// Error is a classified workspace failure. Its message comes from the
// workspace or the transport, never from a token.
type Error struct {
	Kind       Kind
	StatusCode int
	Code       string
	Message    string
	Op         string
}

func (e *Error) Error() string {
	msg := e.Message
	if e.StatusCode != 0 {
		code := e.Code
		if code == strconv.Itoa(e.StatusCode) { // the workspace sends 403 as a number
			code = ""
		}
		msg = strings.TrimSpace(fmt.Sprintf("%d %s", e.StatusCode, strings.TrimSpace(code+" "+e.Message)))
	}
	if e.Op != "" {
		return e.Op + ": " + msg
	}
	return msg
}

// KindOf classifies any error; a non-workspace error is KindOther.
func KindOf(err error) Kind {
	var we *Error
	if errors.As(err, &we) {
		return we.Kind
	}
	return KindOther
}

// classifyStatus implements the rules of the workspace's error answers: a
// dead token is 401, or 403 with "Invalid access token" (the real workspace
// answers a deleted or expired PAT with 403, not 401).
func classifyStatus(status int, code, message string) Kind {
	switch {
	case status == 401:
		return KindInvalidToken
	case status == 403 && strings.Contains(strings.ToLower(message), "invalid access token"):
		return KindInvalidToken
	case status == 403:
		return KindPermission
	case code == "QUOTA_EXCEEDED":
		return KindQuota
	case status == 429:
		return KindRateLimited
	case status == 404:
		return KindNotFound
	case status >= 500:
		return KindTransient
	case status == 400:
		return KindBadRequest
	}
	return KindOther
}
