package tokenapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"
)

type user struct {
	id, userName, displayName string
}

type token struct {
	id, value, userName, comment string
	created                      time.Time
	expiry                       time.Time // zero: never expires
	seq                          int       // creation order, for ties on a fake clock
	deleted                      bool
	// scopes are the API scopes the token may call; nil is every API.
	scopes []string
	// oauth marks an OAuth access token: it authenticates like a PAT, but
	// the token API neither lists it, nor deletes it, nor counts it.
	oauth bool
}

func (t *token) live(now time.Time) bool {
	return !t.deleted && (t.expiry.IsZero() || now.Before(t.expiry))
}

func (t *token) info() TokenInfo {
	return TokenInfo{
		ID:           t.id,
		Comment:      t.comment,
		UserName:     t.userName,
		Created:      t.created,
		Expiry:       t.expiry,
		NeverExpires: t.expiry.IsZero(),
		Scopes:       append([]string(nil), t.scopes...),
	}
}

// AddUser adds a SCIM user with a generated id; for an existing user it only
// updates the display name.
func (s *Server) AddUser(userName, displayName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(userName, displayName)
}

func (s *Server) addUserLocked(userName, displayName string) *user {
	if u, ok := s.users[userName]; ok {
		u.displayName = displayName
		return u
	}
	// Real SCIM ids are 16-digit numbers; sequential ones keep tests stable.
	u := &user{
		id:          fmt.Sprintf("%d", 7000000000000001+len(s.users)),
		userName:    userName,
		displayName: displayName,
	}
	s.users[userName] = u
	return u
}

// IssuePAT creates a token as if the user had made it in the workspace UI,
// bypassing the quota. lifetime 0 means it never expires; a negative lifetime
// gives an already expired token. An unknown user is added first.
func (s *Server) IssuePAT(userName, comment string, lifetime time.Duration) (value, id string) {
	return s.IssueScopedPAT(userName, comment, lifetime, nil)
}

// IssueScopedPAT is IssuePAT for a token restricted to scopes (nil: every
// API), as the UI makes one when "Other APIs" is chosen. A route outside
// its scopes answers 403 PERMISSION_DENIED "Provided access token does not
// have required scopes: SCOPE".
func (s *Server) IssueScopedPAT(userName, comment string, lifetime time.Duration, scopes []string) (value, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userName]; !ok {
		s.addUserLocked(userName, userName)
	}
	now := s.clock.Now()
	var expiry time.Time
	if lifetime != 0 {
		expiry = now.Add(lifetime)
	}
	t := s.mintLocked(userName, comment, now, expiry)
	t.scopes = append([]string(nil), scopes...)
	return t.value, t.id
}

// IssueAccessToken records an OAuth access token of userName (an unknown
// user is added) that lives lifetime and may call scopes ("all-apis":
// every API), and returns its value. An extension's OAuth token endpoint
// calls it; the token then authenticates every route as a PAT would.
func (s *Server) IssueAccessToken(userName string, scopes []string, lifetime time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userName]; !ok {
		s.addUserLocked(userName, userName)
	}
	now := s.clock.Now()
	// Real access tokens are JWTs: three base64url parts.
	t := s.mintValueLocked(userName, "", "eyJhbGciOiJSUzI1NiJ9."+randomHex(24)+"."+randomHex(16), now, now.Add(lifetime))
	t.oauth, t.scopes = true, append([]string(nil), scopes...)
	return t.value
}

// RevokeToken deletes a token out of band, as an admin or the 90-day
// inactivity sweep would. It reports whether the token was live.
func (s *Server) RevokeToken(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || !t.live(s.clock.Now()) {
		return false
	}
	t.deleted = true
	return true
}

// LiveTokens returns the user's tokens that are neither deleted nor expired
// per the clock, oldest first.
func (s *Server) LiveTokens(userName string) []TokenInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := s.liveTokensLocked(userName)
	out := make([]TokenInfo, len(live))
	for i, t := range live {
		out[i] = t.info()
	}
	return out
}

func (s *Server) liveTokensLocked(userName string) []*token {
	now := s.clock.Now()
	var out []*token
	for _, t := range s.tokens {
		if t.userName == userName && !t.oauth && t.live(now) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.Before(out[j].created)
		}
		return out[i].seq < out[j].seq
	})
	return out
}

// MintedValues returns every token value ever issued or created, in order,
// so tests can scan output for leaked secrets.
func (s *Server) MintedValues() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.minted...)
}

// TokenIDForValue returns the id of the token with this value, whether or not
// it is still live.
func (s *Server) TokenIDForValue(value string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byValue[value]
	if !ok {
		return "", false
	}
	return t.id, true
}

func (s *Server) mintLocked(userName, comment string, created, expiry time.Time) *token {
	return s.mintValueLocked(userName, comment, "dapi"+randomHex(16), created, expiry)
}

func (s *Server) mintValueLocked(userName, comment, value string, created, expiry time.Time) *token {
	s.tokenSeq++
	t := &token{
		id:       randomHex(32),
		value:    value,
		userName: userName,
		comment:  comment,
		created:  created,
		expiry:   expiry,
		seq:      s.tokenSeq,
	}
	s.tokens[t.id] = t
	s.byValue[t.value] = t
	s.minted = append(s.minted, t.value)
	return t
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// tokenInfoJSON is the wire form of a token's metadata.
type tokenInfoJSON struct {
	TokenID           string   `json:"token_id"`
	CreationTime      int64    `json:"creation_time"`
	ExpiryTime        int64    `json:"expiry_time"` // -1: never expires
	Comment           string   `json:"comment"`
	CreatedByUsername string   `json:"created_by_username,omitempty"`
	Scopes            []string `json:"scopes,omitempty"`
}

func (t *token) wire() tokenInfoJSON {
	expiry := int64(-1)
	if !t.expiry.IsZero() {
		expiry = t.expiry.UnixMilli()
	}
	return tokenInfoJSON{
		TokenID:      t.id,
		CreationTime: t.created.UnixMilli(),
		ExpiryTime:   expiry,
		Comment:      t.comment,
		Scopes:       t.scopes,
	}
}

func (s *Server) handleMe(w http.ResponseWriter, _ *http.Request, caller *token) {
	s.mu.Lock()
	u, ok := s.users[caller.userName]
	if !ok {
		u = s.addUserLocked(caller.userName, caller.userName)
	}
	body := map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":          u.id,
		"userName":    u.userName,
		"displayName": u.displayName,
		"emails":      []map[string]any{{"value": u.userName, "primary": true, "type": "work"}},
		"active":      true,
	}
	s.mu.Unlock()
	WriteJSON(w, http.StatusOK, body)
}

// maxLifetimeSeconds keeps now+lifetime inside time.Duration's range.
const maxLifetimeSeconds = math.MaxInt64 / int64(time.Second)

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request, caller *token) {
	var req struct {
		LifetimeSeconds *int64   `json:"lifetime_seconds"`
		Comment         string   `json:"comment"`
		Scopes          []string `json:"scopes"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	// The real workspace mints a 2-year token when lifetime_seconds is
	// missing (the SDK omits 0); refusing it makes such bugs visible.
	if req.LifetimeSeconds == nil || *req.LifetimeSeconds <= 0 {
		WriteError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE",
			"lifetime_seconds must be a positive number of seconds (the fake refuses the implicit 2-year lifetime)")
		return
	}
	if *req.LifetimeSeconds > maxLifetimeSeconds {
		WriteError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "lifetime_seconds is too large")
		return
	}
	lifetime := time.Duration(*req.LifetimeSeconds) * time.Second

	s.mu.Lock()
	if n := len(s.liveTokensLocked(caller.userName)); n >= s.maxLiveTokens {
		s.mu.Unlock()
		WriteError(w, http.StatusBadRequest, "QUOTA_EXCEEDED",
			fmt.Sprintf("Cannot create more than %d tokens for user %s", s.maxLiveTokens, caller.userName))
		return
	}
	now := s.clock.Now()
	t := s.mintLocked(caller.userName, req.Comment, now, now.Add(lifetime))
	if len(req.Scopes) > 0 {
		t.scopes = append([]string(nil), req.Scopes...)
	}
	resp := struct {
		TokenValue string        `json:"token_value"`
		TokenInfo  tokenInfoJSON `json:"token_info"`
	}{t.value, t.wire()}
	s.mu.Unlock()
	WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) handleTokenDelete(w http.ResponseWriter, r *http.Request, caller *token) {
	var req struct {
		TokenID string `json:"token_id"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.TokenID == "" {
		WriteError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "token_id is required")
		return
	}
	s.mu.Lock()
	t, ok := s.tokens[req.TokenID]
	// Another user's token is reported as missing, not forbidden, so ids of
	// other users' tokens cannot be probed.
	found := ok && t.userName == caller.userName && !t.oauth && t.live(s.clock.Now())
	if found {
		t.deleted = true
	}
	s.mu.Unlock()
	if !found {
		WriteError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST",
			fmt.Sprintf("Token with id %s does not exist", req.TokenID))
		return
	}
	WriteJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) handleTokenList(w http.ResponseWriter, _ *http.Request, caller *token) {
	s.mu.Lock()
	live := s.liveTokensLocked(caller.userName)
	infos := make([]tokenInfoJSON, len(live))
	for i, t := range live {
		infos[i] = t.wire()
		infos[i].CreatedByUsername = t.userName
	}
	s.mu.Unlock()
	WriteJSON(w, http.StatusOK, struct {
		TokenInfos []tokenInfoJSON `json:"token_infos"`
	}{infos})
}

// decodeBody decodes a JSON request body into v, answering 400
// MALFORMED_REQUEST when it is not valid JSON.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(r.Body).Decode(v)
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		WriteError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE",
			fmt.Sprintf("Invalid value for field %s: expected %s", typeErr.Field, typeErr.Type))
		return false
	}
	// The decoder's message is not echoed: it could quote request bytes.
	WriteError(w, http.StatusBadRequest, "MALFORMED_REQUEST", "Could not parse request body as JSON")
	return false
}
