package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/httpclient"
	"github.com/databricks/databricks-sdk-go/logger"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/serving"
	"github.com/databricks/databricks-sdk-go/service/settings"

	"github.com/coda-cli/coda/internal/redact"
)

// HTTPTimeout bounds one request; coda's own loops own every retry.
const HTTPTimeout = 30 * time.Second

// noLoader stands in for the SDK's default loaders, which would read
// DATABRICKS_* variables and ~/.databrickscfg. An empty Loaders slice brings
// the defaults back, so there must be one that does nothing.
type noLoader struct{}

func (noLoader) Name() string                   { return "coda-explicit" }
func (noLoader) Configure(*config.Config) error { return nil }

// noHostMetadata skips GET /.well-known/databricks-config, which the SDK
// would otherwise call (with its full retry budget) before every client.
func noHostMetadata(context.Context, string) (*config.HostMetadata, error) { return nil, nil }

// explicitConfig is the SDK configuration of host over transport that
// loads nothing (no environment, no config file), probes no host metadata
// and bounds each request by HTTPTimeout; the caller sets the credentials
// and their auth type.
func explicitConfig(host string, transport http.RoundTripper) *config.Config {
	return &config.Config{
		Host:                 host,
		Loaders:              []config.Loader{noLoader{}},
		HostMetadataResolver: noHostMetadata,
		HTTPTimeoutSeconds:   int(HTTPTimeout / time.Second),
		HTTPTransport:        transport,
		RetryTimeoutSeconds:  int(HTTPTimeout / time.Second),
	}
}

// NewSDKClient builds a client that authenticates with token and nothing
// else: no credential chain, no environment, no config file, no metadata
// probe, no SDK retries, no redirects. Service-principal variables,
// DATABRICKS_AUTH_TYPE or a ~/.databrickscfg full of other credentials
// cannot change whom it speaks as.
func NewSDKClient(host, token string) (Client, error) {
	return newSDKClient(host, token, http.DefaultTransport, nil)
}

// NewLoggedSDKClient is NewSDKClient with every request logged to log at
// Debug (LogTransport) and the SDK's own log lines taken by log, cleaned
// (see sdkLogger); log nil logs nothing.
func NewLoggedSDKClient(host, token string, log *slog.Logger) (Client, error) {
	return newSDKClient(host, token, http.DefaultTransport, log)
}

// newSDKClient is NewLoggedSDKClient over base (tests pass a TLS test
// server's).
func newSDKClient(host, token string, base http.RoundTripper, log *slog.Logger) (Client, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	host, err := NormalizeHost(host)
	if err != nil {
		return nil, err
	}
	// The log sits under NoRedirectTransport, so a refused redirect shows
	// with its real status.
	base = LogTransport(base, log)
	transport := singleShotTransport{base: NoRedirectTransport(base)}
	cfg := explicitConfig(host, transport)
	cfg.Token, cfg.AuthType, cfg.Credentials = token, "pat", config.PatCredentials{}
	if err := cfg.EnsureResolved(); err != nil {
		return nil, fmt.Errorf("workspace client: %s", clean(err.Error(), token))
	}
	httpCfg, err := config.HTTPClientConfigFromConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("workspace client: %s", clean(err.Error(), token))
	}
	// coda's loops decide when to retry (with backoff that respects the
	// token's expiry); the SDK would otherwise retry 429/503 for minutes.
	httpCfg.ErrorRetriable = func(context.Context, error) bool { return false }
	httpCfg.TransientErrors = nil // else "REQUEST_LIMIT_EXCEEDED" in any message is retried
	dc, err := client.NewWithClient(cfg, httpclient.NewApiClient(httpCfg))
	if err != nil {
		return nil, fmt.Errorf("workspace client: %s", clean(err.Error(), token))
	}
	probe := &http.Client{Timeout: 10 * time.Second, Transport: transport, CheckRedirect: refuseRedirect}
	return &sdkClient{host: host, token: token, dc: dc, probe: probe, tokens: settings.NewTokens(dc),
		me: iam.NewCurrentUser(dc), serving: serving.NewServingEndpoints(dc),
		sdkLog: sdkLogger{log: log, secret: token}}, nil
}

type sdkClient struct {
	host, token string
	dc          *client.DatabricksClient
	probe       *http.Client
	tokens      *settings.TokensAPI
	me          *iam.CurrentUserAPI
	serving     *serving.ServingEndpointsAPI
	sdkLog      sdkLogger
}

// ctx hands the SDK coda's logger for one call, in place of its own.
func (c *sdkClient) ctx(ctx context.Context) context.Context {
	return logger.NewContext(ctx, c.sdkLog)
}

func (c *sdkClient) ServingEndpoints(ctx context.Context) ([]string, error) {
	eps, err := c.serving.ListAll(c.ctx(ctx))
	if err != nil {
		return nil, c.fail("list serving endpoints", err)
	}
	names := make([]string, 0, len(eps))
	for _, ep := range eps {
		names = append(names, ep.Name)
	}
	return names, nil
}

func (c *sdkClient) Probe(ctx context.Context, method, path, body string) (int, string, error) {
	op := "probe " + redact.Line(path, 200)
	req, err := http.NewRequestWithContext(ctx, method, c.host+path, strings.NewReader(body))
	if err != nil {
		return 0, "", &Error{Kind: KindOther, Op: op, Message: clean(err.Error(), c.token)}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.probe.Do(req)
	if err != nil {
		var re *RedirectError
		if errors.As(err, &re) {
			return re.StatusCode, "", &Error{Kind: KindOther, Op: op, Message: re.Error(), err: re}
		}
		return 0, "", &Error{Kind: KindTransient, Op: op, Message: clean(networkMessage(err), c.token)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	orgID := redact.Line(resp.Header.Get("X-Databricks-Org-Id"), 64)
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		// Say whether the token is dead or only not allowed here.
		var body struct {
			Code    any    `json:"error_code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &body)
		code := ""
		if body.Code != nil {
			code = fmt.Sprint(body.Code)
		}
		return resp.StatusCode, orgID, &Error{Kind: classifyStatus(resp.StatusCode, code, body.Message),
			StatusCode: resp.StatusCode, Code: cleanCode(code, c.token), Message: clean(body.Message, c.token), Op: op}
	}
	return resp.StatusCode, orgID, nil
}

func (c *sdkClient) Me(ctx context.Context) (User, error) {
	const op = "read current user"
	u, err := c.me.Me(c.ctx(ctx), iam.MeRequest{})
	if err != nil {
		return User{}, c.fail(op, err)
	}
	switch {
	case u.UserName == "":
		return User{}, &Error{Kind: KindOther, Op: op, Message: "the workspace answered without a user name"}
	case len(u.UserName) > maxUserNameBytes:
		return User{}, &Error{Kind: KindOther, Op: op, Message: fmt.Sprintf("the workspace answered with a user name of %d bytes", len(u.UserName))}
	case hasControl(u.UserName):
		return User{}, &Error{Kind: KindOther, Op: op, Message: "the workspace answered with a user name that holds control characters"}
	}
	return User{ID: redact.Line(u.Id, 256), UserName: u.UserName, DisplayName: redact.Line(u.DisplayName, maxUserNameBytes)}, nil
}

// createAnswer receives token/create's answer unparsed (the SDK hands a
// struct with a Contents field the body as it is) and its Date header.
type createAnswer struct {
	Date     string `header:"Date"`
	Contents io.ReadCloser
}

func (c *sdkClient) CreateToken(ctx context.Context, lifetime time.Duration, comment string) (NewToken, error) {
	// The SDK drops a zero lifetime and the workspace then mints a token
	// that lives two years: never let that through.
	secs := int64(lifetime / time.Second)
	if secs <= 0 {
		return NewToken{}, fmt.Errorf("token lifetime must be positive, got %s", lifetime)
	}
	// The body is parsed here, not by the SDK: its errors quote the body,
	// and a token the answer shows must be refused with its id.
	var answer createAnswer
	err := c.dc.Do(c.ctx(ctx), http.MethodPost, "/api/2.0/token/create",
		map[string]string{"Accept": "application/json", "Content-Type": "application/json"}, nil,
		settings.CreateTokenRequest{LifetimeSeconds: secs, Comment: comment}, &answer)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return NewToken{}, &MintRejectedError{Reason: errTooLarge.Error()}
		}
		return NewToken{}, c.fail("create token", err)
	}
	if answer.Contents == nil {
		return NewToken{}, &MintRejectedError{Reason: "the workspace's answer is empty"}
	}
	defer answer.Contents.Close()
	body, err := io.ReadAll(answer.Contents)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return NewToken{}, &MintRejectedError{Reason: errTooLarge.Error()}
		}
		return NewToken{}, c.fail("create token", err)
	}
	nt, err := parseCreated(body, answer.Date, lifetime)
	if err != nil {
		var mr *MintRejectedError
		if errors.As(err, &mr) {
			mr.Reason = clean(mr.Reason, c.token)
		}
		return NewToken{}, err
	}
	return nt, nil
}

// tokenIDInText finds a token id in an answer that is not valid JSON.
var tokenIDInText = regexp.MustCompile(`"token_id"\s*:\s*"([^"\\]{1,256})"`)

// parseCreated checks token/create's answer (see the package doc for what
// it refuses); date is the answer's Date header.
func parseCreated(body []byte, date string, lifetime time.Duration) (NewToken, error) {
	var resp struct {
		TokenValue string `json:"token_value"`
		TokenInfo  *struct {
			TokenID      string `json:"token_id"`
			CreationTime int64  `json:"creation_time"`
			ExpiryTime   int64  `json:"expiry_time"`
			Comment      string `json:"comment"`
		} `json:"token_info"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	decodeErr := dec.Decode(&resp)
	id := ""
	if resp.TokenInfo != nil {
		id = resp.TokenInfo.TokenID
	}
	if id == "" && decodeErr != nil {
		// A cut-short answer may still show the id. Only then: in an answer
		// that decodes, an id anywhere but token_info is not the new token's.
		if m := tokenIDInText.FindSubmatch(body); m != nil {
			id = string(m[1])
		}
	}
	if !validTokenID(id) {
		id = ""
	}
	reject := func(format string, args ...any) error {
		return &MintRejectedError{ID: id, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case decodeErr != nil:
		var te *json.UnmarshalTypeError
		if errors.As(decodeErr, &te) && te.Field != "" {
			return NewToken{}, reject("the workspace's answer has a %s for %s", te.Value, te.Field)
		}
		if errors.As(decodeErr, &te) {
			return NewToken{}, reject("the workspace's answer is not a JSON object")
		}
		return NewToken{}, reject("the workspace's answer is not valid JSON")
	case len(bytes.TrimSpace(body[dec.InputOffset():])) > 0:
		return NewToken{}, reject("the workspace's answer has data after its JSON")
	case resp.TokenInfo == nil || resp.TokenInfo.TokenID == "":
		return NewToken{}, reject("the workspace's answer has no token id")
	case id == "":
		return NewToken{}, reject("the workspace's answer has a token id coda cannot use")
	case resp.TokenValue == "":
		return NewToken{}, reject("the token value is empty")
	case len(resp.TokenValue) > MaxTokenValueBytes:
		return NewToken{}, reject("the token value is %d bytes, more than %d", len(resp.TokenValue), MaxTokenValueBytes)
	case !visibleASCII(resp.TokenValue):
		return NewToken{}, reject("the token value holds characters other than visible ASCII")
	}
	ti := resp.TokenInfo
	created := time.UnixMilli(ti.CreationTime).UTC()
	if ti.CreationTime <= 0 {
		// Only the workspace's clocks count, never the local one.
		d, err := http.ParseTime(date)
		if err != nil {
			return NewToken{}, reject("the workspace's answer has no creation time and no Date header")
		}
		created = d.UTC()
	}
	switch {
	case ti.ExpiryTime == 0:
		return NewToken{}, reject("the workspace's answer has no expiry")
	case ti.ExpiryTime < 0:
		return NewToken{}, reject("the token never expires, though coda asked for %s", lifetime)
	}
	expiry := time.UnixMilli(ti.ExpiryTime).UTC()
	switch {
	case !expiry.After(created):
		return NewToken{}, reject("it expires at %s, not after it was created (%s)",
			expiry.Format(time.RFC3339), created.Format(time.RFC3339))
	case expiry.Sub(created) > lifetime+lifetimeSlack:
		return NewToken{}, reject("it lives %s, longer than the %s coda asked for",
			expiry.Sub(created).Round(time.Second), lifetime)
	}
	return NewToken{
		TokenInfo: TokenInfo{ID: id, Comment: ti.Comment, Created: created, Expiry: expiry},
		Value:     resp.TokenValue,
	}, nil
}

func validTokenID(id string) bool {
	return id != "" && len(id) <= maxTokenIDBytes && visibleASCII(id)
}

// visibleASCII reports whether s holds only the characters 0x21 to 0x7e.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, redact.IsControl)
}

func (c *sdkClient) DeleteToken(ctx context.Context, id string) error {
	err := c.tokens.Delete(c.ctx(ctx), settings.RevokeTokenRequest{TokenId: id})
	if err != nil {
		err = c.fail("delete token", err)
		if KindOf(err) == KindNotFound {
			return nil
		}
	}
	return err
}

func (c *sdkClient) ListTokens(ctx context.Context) ([]TokenInfo, error) {
	infos, err := c.tokens.ListAll(c.ctx(ctx))
	if err != nil {
		return nil, c.fail("list tokens", err)
	}
	out := make([]TokenInfo, 0, len(infos))
	for _, ti := range infos {
		out = append(out, tokenInfo(ti))
	}
	return out, nil
}

func tokenInfo(ti settings.PublicTokenInfo) TokenInfo {
	out := TokenInfo{ID: ti.TokenId, Comment: ti.Comment, Created: time.UnixMilli(ti.CreationTime).UTC()}
	if ti.ExpiryTime > 0 {
		out.Expiry = time.UnixMilli(ti.ExpiryTime).UTC()
	}
	return out
}

// fail converts an SDK or transport error with the client's own token
// redacted.
func (c *sdkClient) fail(op string, err error) error {
	return convert(op, err, c.token)
}

// convert turns SDK and transport errors into one-line *Error values that
// quote no response body and no secret (secrets are the values to redact
// besides token-shaped strings). Context cancellation passes through
// unchanged so callers can tell an interrupt from a failure.
func convert(op string, err error, secrets ...string) error {
	var re *RedirectError
	if errors.As(err, &re) {
		return &Error{Kind: KindOther, Op: op, Message: clean(re.Error(), secrets...), err: re}
	}
	var ae *apierr.APIError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if !errors.As(err, &ae) {
			// A deadline from the HTTP timeout is network trouble, not ours.
			if errors.Is(err, context.DeadlineExceeded) {
				return &Error{Kind: KindTransient, Op: op, Message: "request timed out"}
			}
			return err
		}
	}
	if errors.As(err, &ae) {
		// Classify on what the workspace said, then show only what is
		// safe: a body that is not a Databricks error (the SDK's UNKNOWN,
		// carrying the whole body) is shown as its status text.
		kind := classifyStatus(ae.StatusCode, ae.ErrorCode, ae.Message)
		code, msg := ae.ErrorCode, ae.Message
		if code == "UNKNOWN" || code == "<nil>" {
			code = ""
		}
		if ae.ErrorCode == "UNKNOWN" {
			msg = http.StatusText(ae.StatusCode)
		}
		return &Error{
			Kind:       kind,
			StatusCode: ae.StatusCode,
			Code:       cleanCode(code, secrets...),
			Message:    clean(msg, secrets...),
			Op:         op,
		}
	}
	if errors.Is(err, errTooLarge) {
		return &Error{Kind: KindOther, Op: op, Message: errTooLarge.Error()}
	}
	if errors.Is(err, httpclient.ErrHTMLContent) {
		return &Error{Kind: KindOther, Op: op, Message: "the workspace answered with an HTML page, not the API's JSON (is a proxy or a sign-in page in the way?)"}
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) || strings.Contains(err.Error(), "failed to unmarshal response body") {
		return &Error{Kind: KindOther, Op: op, Message: "the workspace's answer is not the JSON the API sends"}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return &Error{Kind: KindTransient, Op: op, Message: clean(networkMessage(err), secrets...)}
	}
	// Anything else (a body cut short, say): its first line, without the
	// SDK's request dump.
	msg, _, _ := strings.Cut(err.Error(), "\n")
	msg, _, _ = strings.Cut(msg, " This is likely a bug")
	return &Error{Kind: KindTransient, Op: op, Message: clean(msg, secrets...)}
}

// clean makes text from the workspace or a library safe to show: secrets
// and token-shaped strings redacted, one line, at most MaxMessageBytes.
func clean(s string, secrets ...string) string {
	return redact.Line(redact.Secrets(s, secrets...), MaxMessageBytes)
}

// cleanCode is clean for an error code, which is short.
func cleanCode(s string, secrets ...string) string {
	return redact.Line(redact.Secrets(s, secrets...), 64)
}

// networkMessage keeps the useful tail of a transport error (for example
// "connection refused") without the SDK's request dump.
func networkMessage(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "network error: " + oe.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "network error: " + ue.Err.Error()
	}
	return "network error: " + err.Error()
}
