// Package workspace is coda's only door to a Databricks workspace: a small
// Client interface and an implementation over databricks-sdk-go that can
// authenticate with exactly one personal access token and nothing else.
// TokenFromProfile gets such a token, once, from the credentials of one
// Databricks CLI profile (a PAT, a service principal's OAuth secret, or a
// `databricks auth login` in the CLI's token cache), built explicitly from
// that profile alone (profile.go).
//
// It trusts the workspace with the token, not with what it answers:
//
//   - Cleartext: a host is https://, or http:// only on loopback
//     (127.0.0.0/8, ::1, localhost), so a token never crosses a network
//     unencrypted (NormalizeHost).
//   - Redirects: the workspace API never redirects, so every 3xx answer
//     to any request is refused with a *RedirectError before anything
//     follows it (NoRedirectTransport, NoRedirectClient); a redirect
//     would otherwise carry the Authorization header to where it points.
//   - Size: an answer body over MaxResponseBytes (16 MiB) is refused
//     while it is read.
//   - Errors: every error the Client returns is one line (HTTP status,
//     error code and the workspace's message, at most MaxMessageBytes),
//     never quotes a response body (a body that is not a Databricks error
//     is shown as its status text), and has every token-shaped string
//     and the client's own token redacted (internal/redact).
//   - CreateToken refuses a new token, with a *MintRejectedError that
//     carries the token's id when it can be read so the caller can
//     delete it, when the answer is not exactly one JSON object, has no
//     token id, a value that is empty, over MaxTokenValueBytes (4 KiB)
//     or holds anything but visible ASCII (no spaces, no control
//     characters: the value goes into headers and config files), or an
//     expiry that is missing, -1 (never), not after the token's creation
//     time (or the response's Date header when creation_time is absent:
//     never the local clock), or more than a minute longer than the
//     lifetime asked for.
//   - Me refuses an empty user name, or one with control characters or
//     over 1 KiB; control characters are dropped from the display name.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/redact"
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
// without a trailing slash. A bare host name gets https://. Plain http:// is
// refused unless the host is loopback (127.0.0.0/8, ::1 or localhost): the
// token would cross the network in cleartext.
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
		return "", fmt.Errorf("%q is not a workspace URL: use https://<workspace>.cloud.databricks.com", redact.Line(raw, 200))
	}
	if u.User != nil {
		return "", errors.New("the workspace URL must not contain credentials")
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return "", fmt.Errorf("http://%s would send the token in cleartext: use https://%s (plain http:// is only for loopback hosts such as 127.0.0.1 and localhost)", u.Host, u.Host)
	}
	return u.Scheme + "://" + u.Host, nil
}

// IsLoopback reports whether a host name (without port) is "localhost" or
// a loopback address (127.0.0.0/8, ::1): the only hosts coda speaks plain
// http to.
func IsLoopback(hostname string) bool {
	if strings.EqualFold(hostname, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(hostname, "["), "]"))
	return ip != nil && ip.IsLoopback()
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
// workspace or the transport, never from a token: it is one line, and
// token-shaped strings in it are redacted.
type Error struct {
	Kind       Kind
	StatusCode int
	Code       string
	Message    string
	Op         string

	err error // the cause, for errors.As (a *RedirectError)
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
		msg = e.Op + ": " + msg
	}
	// The fields are cleaned when the client builds an Error; this is the
	// last line of defence for one built elsewhere.
	return redact.Line(redact.Secrets(msg), 2*MaxMessageBytes)
}

// Unwrap returns the cause when there is one worth matching, such as the
// *RedirectError of a refused redirect.
func (e *Error) Unwrap() error { return e.err }

// MaxMessageBytes bounds the workspace's message in an Error.
const MaxMessageBytes = 300

// Limits on what CreateToken and Me accept from the workspace.
const (
	MaxTokenValueBytes = 4 << 10
	maxTokenIDBytes    = 256
	maxUserNameBytes   = 1 << 10
	// lifetimeSlack is how much longer than asked a new token may live.
	lifetimeSlack = time.Minute
)

// MintRejectedError is a token the workspace created (or may have created)
// whose answer coda refuses: malformed, an unusable value, a missing or
// past expiry. ID is the new token's id when the answer shows one, so the
// caller can delete the token; the value is never kept. Store nothing.
type MintRejectedError struct {
	ID     string
	Reason string
}

func (e *MintRejectedError) Error() string {
	msg := "create token: coda refused the new token: " + e.Reason
	if e.ID != "" {
		msg += " (token " + redact.Suffix(e.ID) + ")"
	}
	return redact.Line(redact.Secrets(msg), 2*MaxMessageBytes)
}

// KindOf classifies any error; a non-workspace error is KindOther.
func KindOf(err error) Kind {
	var we *Error
	if errors.As(err, &we) {
		return we.Kind
	}
	return KindOther
}

// MissingScope returns the API scopes a 403 says the token lacks ("Provided
// access token does not have required scopes: authentication", as
// reported for scoped tokens), or "" for any other error.
func MissingScope(err error) string {
	var we *Error
	if !errors.As(err, &we) || we.StatusCode != 403 {
		return ""
	}
	_, scopes, ok := strings.Cut(we.Message, "does not have required scopes:")
	if !ok {
		return ""
	}
	return strings.TrimSpace(scopes)
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
