package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/credentials/u2m"
	"github.com/databricks/databricks-sdk-go/credentials/u2m/cache"
	"github.com/databricks/databricks-sdk-go/httpclient"

	"github.com/coda-cli/coda/internal/redact"
)

// The auth types a Databricks CLI profile can give coda a token with.
const (
	AuthPAT         = "pat"            // token = a personal access token
	AuthM2M         = "oauth-m2m"      // client_id and client_secret of a service principal
	AuthU2M         = "databricks-cli" // `databricks auth login`: the CLI's token cache
	settingsSection = "__settings__"   // reserved section of the file, no profile
)

// DatabricksProfile names one profile of a Databricks CLI config file.
type DatabricksProfile struct {
	Name string
	// File is the config file (DATABRICKS_CONFIG_FILE, else ~/.databrickscfg).
	File string
	// TokenCache is the Databricks CLI's OAuth token cache
	// (~/.databricks/token-cache.json), read for AuthU2M profiles.
	TokenCache string
	// Log gets the HTTP trace of the requests made for the profile (at
	// Debug, as LogTransport writes it); nil for none.
	Log *slog.Logger
}

// ProfileToken is a bearer token a Databricks CLI profile authenticates
// with: the profile's PAT, or an OAuth access token got for it.
type ProfileToken struct {
	Host     string // normalised
	AuthType string // AuthPAT, AuthM2M or AuthU2M
	Token    string
}

// TokenFromProfile gets one bearer token from the credentials of profile p
// and nothing else. It builds the SDK configuration of that profile
// explicitly, with the profile's own auth type: no environment variable, no
// other profile, no [DEFAULT] fallback and no credential chain takes part,
// and the credentials are sent to the profile's host only (a discovery
// document naming another host is refused). The profile's debug_headers,
// skip_verify and discovery_url are ignored: they would log credentials,
// trust any certificate, or send a secret elsewhere.
//
// PAT profiles give their token; oauth-m2m profiles get an access token at
// the workspace's token endpoint; databricks-cli profiles (the ones
// `databricks auth login` writes) read the CLI's token cache under the
// profile's name, refreshing an expired access token with its refresh
// token and storing the result back, as the CLI does, since the workspace
// may rotate refresh tokens.
func TokenFromProfile(ctx context.Context, p DatabricksProfile) (ProfileToken, error) {
	return tokenFromProfile(ctx, p, http.DefaultTransport)
}

func tokenFromProfile(ctx context.Context, p DatabricksProfile, base http.RoundTripper) (ProfileToken, error) {
	keys, storage, err := readProfile(p)
	if err != nil {
		return ProfileToken{}, err
	}
	where := fmt.Sprintf("profile %s in %s", p.Name, p.File)
	host, err := NormalizeHost(keys["host"])
	if err != nil {
		return ProfileToken{}, fmt.Errorf("%s: %v", where, err)
	}
	if (&config.Config{Host: host}).HostType() == config.AccountHost {
		return ProfileToken{}, fmt.Errorf("%s is an account profile (%s): coda needs a workspace profile", where, host)
	}
	authType, err := profileAuthType(keys)
	if err != nil {
		return ProfileToken{}, fmt.Errorf("%s: %v", where, err)
	}
	// Every request for the profile goes to its host only, and follows no
	// redirect: the credentials cannot leave for anywhere else.
	transport := singleShotTransport{base: NoRedirectTransport(sameHostTransport{host: host, base: LogTransport(base, p.Log)})}
	var token string
	switch authType {
	case AuthPAT, AuthM2M:
		token, err = sdkToken(ctx, host, authType, keys, transport)
	case AuthU2M:
		token, err = cachedToken(ctx, p, host, keys, storage, transport)
	}
	if err != nil {
		return ProfileToken{}, fmt.Errorf("%s (auth_type %s): %w", where, authType, err)
	}
	if token == "" {
		return ProfileToken{}, fmt.Errorf("%s (auth_type %s) gave no token", where, authType)
	}
	return ProfileToken{Host: host, AuthType: authType, Token: token}, nil
}

// readProfile returns the keys of p's own section, and the file's
// [__settings__] auth_storage (where the Databricks CLI keeps its tokens).
func readProfile(p DatabricksProfile) (keys map[string]string, storage string, err error) {
	if p.Name == settingsSection {
		return nil, "", fmt.Errorf("%s is a reserved section of %s, not a profile", settingsSection, p.File)
	}
	f, err := config.LoadFile(p.File)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("no Databricks CLI config file at %s: create profile %s with databricks auth login --profile %s (or databricks configure), or set DATABRICKS_CONFIG_FILE", p.File, p.Name, p.Name)
	}
	if err != nil {
		// The parser's message may quote a line of the file, secrets and all.
		return nil, "", fmt.Errorf("%s is not a Databricks CLI config file coda can read (INI): fix its syntax", p.File)
	}
	section, err := f.GetSection(p.Name)
	if err != nil || len(section.Keys()) == 0 {
		var names []string
		for _, s := range f.Sections() {
			if len(s.Keys()) > 0 && s.Name() != settingsSection {
				names = append(names, s.Name())
			}
		}
		has := "it has none"
		if len(names) > 0 {
			has = "it has: " + strings.Join(names, ", ")
		}
		return nil, "", fmt.Errorf("%s has no profile %s (%s): create it with databricks auth login --profile %s", p.File, p.Name, has, p.Name)
	}
	keys = map[string]string{}
	for k, v := range section.KeysHash() {
		keys[k] = strings.TrimSpace(v)
	}
	if keys["host"] == "" {
		return nil, "", fmt.Errorf("profile %s in %s has no host", p.Name, p.File)
	}
	if s, err := f.GetSection(settingsSection); err == nil && s.HasKey("auth_storage") {
		storage = strings.TrimSpace(s.Key("auth_storage").String())
	}
	return keys, storage, nil
}

// profileAuthType is the profile's auth_type, or the one its keys imply
// in the SDK's order: a token, then a client id and secret, else the
// Databricks CLI's login.
func profileAuthType(keys map[string]string) (string, error) {
	switch t := keys["auth_type"]; {
	case t == AuthPAT || t == AuthM2M || t == AuthU2M:
		return t, nil
	case t != "":
		return "", fmt.Errorf("auth_type %s is not one coda logs in with (it takes %s, %s and %s profiles)", redact.Line(t, 40), AuthPAT, AuthM2M, AuthU2M)
	case keys["token"] != "":
		return AuthPAT, nil
	case keys["client_id"] != "" && keys["client_secret"] != "":
		return AuthM2M, nil
	}
	// Credentials of a kind coda does not take, without an auth_type.
	for _, a := range config.ConfigAttributes {
		if a.Auth != "" && a.Auth != "-" && a.Auth != "pat" && a.Auth != "oauth" && keys[a.Name] != "" {
			return "", fmt.Errorf("it holds %s, credentials of a kind coda does not log in with (it takes %s, %s and %s profiles)", a.Name, AuthPAT, AuthM2M, AuthU2M)
		}
	}
	return AuthU2M, nil
}

// sdkToken builds the SDK configuration of a pat or oauth-m2m profile,
// with that auth type's strategy alone, and returns its bearer token.
func sdkToken(ctx context.Context, host, authType string, keys map[string]string, transport http.RoundTripper) (string, error) {
	cfg := explicitConfig(host, transport)
	cfg.AuthType = authType
	secrets := []string{keys["token"], keys["client_secret"]}
	if authType == AuthPAT {
		cfg.Token, cfg.Credentials = keys["token"], config.PatCredentials{}
		if cfg.Token == "" {
			return "", errors.New("it has no token")
		}
	} else {
		cfg.ClientID, cfg.ClientSecret, cfg.Credentials = keys["client_id"], keys["client_secret"], config.M2mCredentials{}
		cfg.Scopes = splitScopes(keys["scopes"])
		if cfg.ClientID == "" || cfg.ClientSecret == "" {
			return "", errors.New("it needs client_id and client_secret")
		}
	}
	if err := cfg.EnsureResolved(); err != nil {
		return "", errors.New(sdkMessage(err, secrets...))
	}
	if authType == AuthPAT {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host, nil)
		if err := cfg.Authenticate(req); err != nil {
			return "", errors.New(sdkMessage(err, secrets...))
		}
		return strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "), nil
	}
	t, err := cfg.GetTokenSource().Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if msg, ok := oauthError(err, secrets...); ok {
			return "", fmt.Errorf("the workspace refused the service principal's credentials (%s): check the profile's client_id and client_secret", msg)
		}
		return "", fmt.Errorf("could not get an OAuth token for the service principal: %s", sdkMessage(err, secrets...))
	}
	return t.AccessToken, nil
}

// cachedToken reads the access token `databricks auth login --profile
// NAME` cached for the profile, refreshed when it has expired.
func cachedToken(ctx context.Context, p DatabricksProfile, host string, keys map[string]string, storage string, transport http.RoundTripper) (string, error) {
	relogin := "run databricks auth login --profile " + p.Name + ", then coda login again"
	arg, err := u2m.NewProfileWorkspaceOAuthArgument(host, p.Name)
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, relogin)
	}
	api := httpclient.NewApiClient(httpclient.ClientConfig{
		HTTPTimeout: HTTPTimeout, RetryTimeout: HTTPTimeout, Transport: transport,
		ErrorRetriable: func(context.Context, error) bool { return false },
	})
	fc := &tokenCacheFile{path: p.TokenCache, hostKey: arg.GetHostCacheKey()}
	pa, err := u2m.NewPersistentAuth(ctx,
		u2m.WithTokenCache(fc),
		u2m.WithOAuthArgument(arg),
		u2m.WithHttpClient(&http.Client{Transport: transport, Timeout: HTTPTimeout}),
		u2m.WithOAuthEndpointSupplier(&u2m.BasicOAuthEndpointSupplier{Client: api}),
		u2m.WithScopes(splitScopes(keys["scopes"])),
		u2m.WithBrowser(func(string) error { return errors.New("coda never opens a browser") }),
	)
	if err != nil {
		return "", err
	}
	defer pa.Close()
	t, err := pa.Token()
	var invalid *u2m.InvalidRefreshTokenError
	switch {
	case err == nil:
		return t.AccessToken, nil
	case ctx.Err() != nil:
		return "", ctx.Err()
	case errors.Is(err, cache.ErrNotFound):
		if storage == "secure" {
			return "", fmt.Errorf("the Databricks CLI keeps its tokens in the OS keyring (auth_storage = secure), which coda does not read: log in with DATABRICKS_AUTH_STORAGE=plaintext databricks auth login --profile %s (or use a PAT profile), then coda login again", p.Name)
		}
		return "", fmt.Errorf("no OAuth token for it in %s: %s", p.TokenCache, relogin)
	case errors.As(err, &invalid), errors.Is(err, u2m.ErrMissingRefreshToken):
		return "", fmt.Errorf("its OAuth login has expired and cannot be refreshed: %s", relogin)
	}
	return "", fmt.Errorf("%s: %s", strings.TrimPrefix(sdkMessage(err), "cache: "), relogin)
}

// splitScopes splits a profile's scopes on commas and spaces. None (an
// empty slice) gives the SDK's default, as nil does.
func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// oauthError is an OAuth token endpoint's refusal as one safe line: its
// RFC 6749 error and description (the SDK's error quotes the whole answer
// body); ok is false for any other failure.
func oauthError(err error, secrets ...string) (msg string, ok bool) {
	text := err.Error()
	if i := strings.Index(text, "{"); i >= 0 {
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.NewDecoder(strings.NewReader(text[i:])).Decode(&body) == nil && body.Error != "" {
			return clean(strings.TrimSuffix(body.Error+": "+body.Description, ": "), secrets...), true
		}
	}
	return "", false
}

// sdkMessage is an SDK error as one safe line, without the configuration
// dump the SDK appends.
func sdkMessage(err error, secrets ...string) string {
	msg, _, _ := strings.Cut(err.Error(), ". Config:")
	msg, _, _ = strings.Cut(msg, ". Env:")
	return clean(msg, secrets...)
}

// sameHostTransport refuses any request to a host other than the
// profile's, so a discovery document cannot send a secret elsewhere.
type sameHostTransport struct {
	host string // scheme://host[:port]
	base http.RoundTripper
}

func (t sameHostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL == nil || !strings.EqualFold(r.URL.Scheme+"://"+r.URL.Host, t.host) {
		to := ""
		if r.URL != nil {
			to = redact.Line(r.URL.Scheme+"://"+r.URL.Host, 200)
		}
		return nil, fmt.Errorf("coda sends a profile's credentials to its host %s only, not to %s", t.host, to)
	}
	return t.base.RoundTrip(r)
}
