package fakeworkspace

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace/tokenapi"
)

// The workspace's OAuth routes, as databricks-sdk-go v0.182.0 calls them:
// the OIDC discovery document (for oauth-m2m and for refreshing a
// databricks-cli login) and the token endpoint it names.
const (
	PathOIDCDiscovery = "/oidc/.well-known/oauth-authorization-server"
	PathOIDCToken     = "/oidc/v1/token"
	PathOIDCAuthorize = "/oidc/v1/authorize" // named in the discovery document only
)

// U2MClientID is the OAuth client `databricks auth login` logs in with; the
// fake refreshes its tokens for no other client.
const U2MClientID = "databricks-cli"

// AccessTokenLifetime is how long the fake's OAuth access tokens live, as
// the real ones do.
const AccessTokenLifetime = time.Hour

// oauthGrant is what a refresh token stands for.
type oauthGrant struct {
	userName string
	scopes   []string
	used     bool // refresh tokens are single use: each refresh rotates it
}

// AddServicePrincipal adds a service principal (a SCIM user named by its
// application id) with an OAuth secret, and returns the secret: with
// grant_type=client_credentials it gets access tokens of the principal.
func (s *Server) AddServicePrincipal(applicationID, displayName string) (clientSecret string) {
	s.AddUser(applicationID, displayName)
	secret := "dose" + randomHex(16)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.principals == nil {
		s.principals = map[string]string{}
	}
	s.principals[applicationID] = secret
	s.oauthSecrets = append(s.oauthSecrets, secret)
	return secret
}

// IssueU2M returns what `databricks auth login` leaves in the CLI's token
// cache for userName: an access token that expires in lifetime (negative:
// already expired, as it is an hour after the login) and a refresh token.
func (s *Server) IssueU2M(userName string, lifetime time.Duration) (access, refresh string, expiry time.Time) {
	scopes := []string{"all-apis", "offline_access"}
	access = s.IssueAccessToken(userName, scopes, lifetime)
	return access, s.newRefreshToken(userName, scopes), s.clock.Now().Add(lifetime)
}

// RevokeRefreshTokens invalidates every refresh token of userName, as
// logging out or an admin would.
func (s *Server) RevokeRefreshTokens(userName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.refreshTokens {
		if g.userName == userName {
			g.used = true
		}
	}
}

func (s *Server) newRefreshToken(userName string, scopes []string) string {
	v := "doau" + randomHex(24)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refreshTokens == nil {
		s.refreshTokens = map[string]*oauthGrant{}
	}
	s.refreshTokens[v] = &oauthGrant{userName: userName, scopes: scopes}
	s.oauthSecrets = append(s.oauthSecrets, v)
	return v
}

// MintedValues returns every secret the fake ever issued: token values
// (PATs and OAuth access tokens), refresh tokens and client secrets, so
// tests can scan output for leaks.
func (s *Server) MintedValues() []string {
	out := s.Server.MintedValues()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(out, s.oauthSecrets...)
}

// isOAuthPath reports whether the extension answers path as an OAuth route.
func isOAuthPath(path string) bool {
	return path == PathOIDCDiscovery || path == PathOIDCToken
}

// routeOAuth answers the discovery document and the token endpoint. Both
// are unauthenticated: the token endpoint checks its own credentials.
func (s *Server) routeOAuth(w http.ResponseWriter, x *tokenapi.Exchange) {
	r := x.R
	switch {
	case r.URL.Path == PathOIDCDiscovery && r.Method == http.MethodGet:
		base := "http://" + r.Host
		tokenapi.WriteJSON(w, http.StatusOK, map[string]any{
			"issuer":                                base + "/oidc",
			"authorization_endpoint":                base + PathOIDCAuthorize,
			"token_endpoint":                        base + PathOIDCToken,
			"grant_types_supported":                 []string{"client_credentials", "authorization_code", "refresh_token"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
			"scopes_supported":                      []string{"all-apis", "offline_access"},
		})
	case r.URL.Path == PathOIDCToken && r.Method == http.MethodPost:
		s.handleOIDCToken(w, r, x.Body)
	default:
		tokenapi.WriteError(w, http.StatusMethodNotAllowed, "BAD_REQUEST", "Method not allowed")
	}
}

// oauthError sends an RFC 6749 error answer.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	tokenapi.WriteJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func (s *Server) handleOIDCToken(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not form-encoded")
		return
	}
	switch form.Get("grant_type") {
	case "client_credentials":
		id, secret, ok := r.BasicAuth()
		if ok {
			// RFC 6749 2.3.1: form-encoded before the Basic encoding.
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
		} else {
			id, secret = form.Get("client_id"), form.Get("client_secret")
		}
		s.mu.Lock()
		want, known := s.principals[id]
		s.mu.Unlock()
		if !known || secret == "" || want != secret {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
			return
		}
		scopes := strings.Fields(form.Get("scope"))
		if len(scopes) == 0 {
			scopes = []string{"all-apis"}
		}
		s.writeTokens(w, id, scopes, "") // the principal's user is its application id
	case "refresh_token":
		if form.Get("client_id") != U2MClientID {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
			return
		}
		s.mu.Lock()
		g := s.refreshTokens[form.Get("refresh_token")]
		valid := g != nil && !g.used
		if valid {
			g.used = true
		}
		s.mu.Unlock()
		if !valid {
			// The SDK recognises this exact description.
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Refresh token is invalid")
			return
		}
		s.writeTokens(w, g.userName, g.scopes, s.newRefreshToken(g.userName, g.scopes))
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported")
	}
}

// writeTokens answers a token request with a new access token (and
// refresh, when not empty).
func (s *Server) writeTokens(w http.ResponseWriter, userName string, scopes []string, refresh string) {
	resp := map[string]any{
		"access_token": s.IssueAccessToken(userName, scopes, AccessTokenLifetime),
		"token_type":   "Bearer",
		"expires_in":   int(AccessTokenLifetime / time.Second),
		"scope":        strings.Join(scopes, " "),
	}
	if refresh != "" {
		resp["refresh_token"] = refresh
	}
	w.Header().Set("Cache-Control", "no-store")
	tokenapi.WriteJSON(w, http.StatusOK, resp)
}

// WriteU2MCache stores access and refresh under key (a profile name, or a
// host) in the Databricks CLI's token cache at path, as `databricks auth
// login` does: version 1, 0600 in a 0700 directory, other entries kept.
func WriteU2MCache(path, key, access, refresh string, expiry time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	cache := struct {
		Version int                        `json:"version"`
		Tokens  map[string]json.RawMessage `json:"tokens"`
	}{Version: 1, Tokens: map[string]json.RawMessage{}}
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &cache); err != nil {
			return err
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	entry, err := json.Marshal(map[string]string{
		"access_token": access, "token_type": "Bearer", "refresh_token": refresh,
		"expiry": expiry.Format(time.RFC3339Nano),
	})
	if err != nil {
		return err
	}
	if cache.Tokens == nil {
		cache.Tokens = map[string]json.RawMessage{}
	}
	cache.Tokens[key] = entry
	raw, err := json.MarshalIndent(cache, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o600)
}
