package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/httpclient"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/serving"
	"github.com/databricks/databricks-sdk-go/service/settings"
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

// NewSDKClient builds a client that authenticates with token and nothing
// else: no credential chain, no environment, no config file, no metadata
// probe, no SDK retries. Service-principal variables, DATABRICKS_AUTH_TYPE
// or a ~/.databrickscfg full of other credentials cannot change whom it
// speaks as.
func NewSDKClient(host, token string) (Client, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	host, err := NormalizeHost(host)
	if err != nil {
		return nil, err
	}
	cfg := &config.Config{
		Host:                 host,
		Token:                token,
		AuthType:             "pat",
		Credentials:          config.PatCredentials{},
		Loaders:              []config.Loader{noLoader{}},
		HostMetadataResolver: noHostMetadata,
		HTTPTimeoutSeconds:   int(HTTPTimeout / time.Second),
		HTTPTransport:        singleShotTransport{base: http.DefaultTransport},
		RetryTimeoutSeconds:  int(HTTPTimeout / time.Second),
	}
	if err := cfg.EnsureResolved(); err != nil {
		return nil, fmt.Errorf("workspace client: %w", err)
	}
	httpCfg, err := config.HTTPClientConfigFromConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("workspace client: %w", err)
	}
	// coda's loops decide when to retry (with backoff that respects the
	// token's expiry); the SDK would otherwise retry 429/503 for minutes.
	httpCfg.ErrorRetriable = func(context.Context, error) bool { return false }
	httpCfg.TransientErrors = nil // else "REQUEST_LIMIT_EXCEEDED" in any message is retried
	dc, err := client.NewWithClient(cfg, httpclient.NewApiClient(httpCfg))
	if err != nil {
		return nil, fmt.Errorf("workspace client: %w", err)
	}
	return &sdkClient{host: host, token: token, tokens: settings.NewTokens(dc), me: iam.NewCurrentUser(dc),
		serving: serving.NewServingEndpoints(dc)}, nil
}

type sdkClient struct {
	host, token string
	tokens      *settings.TokensAPI
	me          *iam.CurrentUserAPI
	serving     *serving.ServingEndpointsAPI
}

func (c *sdkClient) ServingEndpoints(ctx context.Context) ([]string, error) {
	eps, err := c.serving.ListAll(ctx)
	if err != nil {
		return nil, convert("list serving endpoints", err)
	}
	names := make([]string, 0, len(eps))
	for _, ep := range eps {
		names = append(names, ep.Name)
	}
	return names, nil
}

// probeClient makes single requests with the same no-retry transport.
var probeClient = &http.Client{Timeout: 10 * time.Second, Transport: singleShotTransport{base: http.DefaultTransport}}

func (c *sdkClient) Probe(ctx context.Context, method, path, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.host+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, "", &Error{Kind: KindTransient, Op: "probe " + path, Message: networkMessage(err)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	orgID := resp.Header.Get("X-Databricks-Org-Id")
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
			StatusCode: resp.StatusCode, Code: code, Message: body.Message, Op: "probe " + path}
	}
	return resp.StatusCode, orgID, nil
}

func (c *sdkClient) Me(ctx context.Context) (User, error) {
	u, err := c.me.Me(ctx, iam.MeRequest{})
	if err != nil {
		return User{}, convert("read current user", err)
	}
	return User{ID: u.Id, UserName: u.UserName, DisplayName: u.DisplayName}, nil
}

func (c *sdkClient) CreateToken(ctx context.Context, lifetime time.Duration, comment string) (NewToken, error) {
	// The SDK drops a zero lifetime and the workspace then mints a token
	// that lives two years: never let that through.
	secs := int64(lifetime / time.Second)
	if secs <= 0 {
		return NewToken{}, fmt.Errorf("token lifetime must be positive, got %s", lifetime)
	}
	resp, err := c.tokens.Create(ctx, settings.CreateTokenRequest{LifetimeSeconds: secs, Comment: comment})
	if err != nil {
		return NewToken{}, convert("create token", err)
	}
	if resp.TokenValue == "" || resp.TokenInfo == nil || resp.TokenInfo.TokenId == "" {
		return NewToken{}, &Error{Kind: KindOther, Op: "create token", Message: "the workspace answered without a token"}
	}
	return NewToken{TokenInfo: tokenInfo(*resp.TokenInfo), Value: resp.TokenValue}, nil
}

func (c *sdkClient) DeleteToken(ctx context.Context, id string) error {
	err := c.tokens.Delete(ctx, settings.RevokeTokenRequest{TokenId: id})
	if err != nil {
		err = convert("delete token", err)
		if KindOf(err) == KindNotFound {
			return nil
		}
	}
	return err
}

func (c *sdkClient) ListTokens(ctx context.Context) ([]TokenInfo, error) {
	infos, err := c.tokens.ListAll(ctx)
	if err != nil {
		return nil, convert("list tokens", err)
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

// convert turns SDK and transport errors into *Error. Context cancellation
// passes through unchanged so callers can tell an interrupt from a failure.
func convert(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		var ae *apierr.APIError
		if !errors.As(err, &ae) {
			// A deadline from the HTTP timeout is network trouble, not ours.
			if errors.Is(err, context.DeadlineExceeded) {
				return &Error{Kind: KindTransient, Op: op, Message: "request timed out"}
			}
			return err
		}
	}
	var ae *apierr.APIError
	if errors.As(err, &ae) {
		return &Error{
			Kind:       classifyStatus(ae.StatusCode, ae.ErrorCode, ae.Message),
			StatusCode: ae.StatusCode,
			Code:       ae.ErrorCode,
			Message:    ae.Message,
			Op:         op,
		}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return &Error{Kind: KindTransient, Op: op, Message: networkMessage(err)}
	}
	return &Error{Kind: KindTransient, Op: op, Message: err.Error()}
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
