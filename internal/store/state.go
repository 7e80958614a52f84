// Package store keeps coda's credentials: one short-lived Databricks token per
// profile, in a versioned JSON file that is only ever replaced atomically and
// only modified under a cross-process lock.
package store

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"
)

// FormatVersion is the credentials file format this coda reads and writes.
// Bump it whenever an older coda would lose or misread data by rewriting a
// newer file: older versions refuse newer files instead of dropping fields.
const FormatVersion = 1

// FileName is the credentials file's name inside the config dir.
const FileName = "credentials.json"

// Pending is an old token waiting to be deleted.
type Pending struct {
	TokenID     string    `json:"token_id"`
	DeleteAfter time.Time `json:"delete_after"`
	ExpiresAt   time.Time `json:"expires_at"`
	Attempts    int       `json:"attempts,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
}

// Profile is one workspace's credentials. Its fmt and slog forms redact the
// token, so a profile can be logged or printed with %v without leaking it.
type Profile struct {
	Host         string            `json:"host"`
	User         string            `json:"user"`
	Token        string            `json:"token"`
	TokenID      string            `json:"token_id"`
	CreatedAt    time.Time         `json:"created_at"`
	ExpiresAt    time.Time         `json:"expires_at"`
	LastRotation time.Time         `json:"last_rotation,omitzero"`
	Pending      []Pending         `json:"pending,omitempty"`
	Settings     map[string]string `json:"settings,omitempty"` // non-secret per-profile cache for later features
}

// HasToken reports whether the profile holds a token. Nil-safe so callers can
// write st.Profile(name).HasToken().
func (p *Profile) HasToken() bool { return p != nil && p.Token != "" }

// Live reports whether the profile holds a token that has not expired at now.
func (p *Profile) Live(now time.Time) bool {
	return p.HasToken() && now.Before(p.ExpiresAt)
}

// Remaining is the token's remaining lifetime at now, never negative; zero
// when there is no token or it has expired.
func (p *Profile) Remaining(now time.Time) time.Duration {
	if !p.HasToken() {
		return 0
	}
	return max(p.ExpiresAt.Sub(now), 0)
}

// redacted is the printable form of a profile: everything but the token.
func (p Profile) redacted() string {
	tok := "<none>"
	if p.Token != "" {
		tok = "<redacted>"
	}
	return fmt.Sprintf("Profile{Host:%s User:%s Token:%s TokenID:%s CreatedAt:%s ExpiresAt:%s LastRotation:%s Pending:%d}",
		p.Host, p.User, tok, p.TokenID,
		fmtTime(p.CreatedAt), fmtTime(p.ExpiresAt), fmtTime(p.LastRotation), len(p.Pending))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// String returns a description of the profile without the token.
func (p Profile) String() string { return p.redacted() }

// GoString keeps %#v from dumping the token.
func (p Profile) GoString() string { return p.redacted() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, ...) print the
// redacted form, including when the profile is nested inside a State.
func (p Profile) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprint(f, p.redacted())
}

// LogValue keeps slog from reflecting over the struct and logging the token.
func (p Profile) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", p.Host),
		slog.String("user", p.User),
		slog.String("token_id", p.TokenID),
		slog.Bool("has_token", p.Token != ""),
		slog.Time("expires_at", p.ExpiresAt),
		slog.Int("pending", len(p.Pending)),
	)
}

// State is the whole credentials file.
type State struct {
	Version        int                 `json:"version"`
	InstallationID string              `json:"installation_id"`
	Profiles       map[string]*Profile `json:"profiles"`
}

// Profile returns the named profile, or nil if absent.
func (s *State) Profile(name string) *Profile {
	if s == nil {
		return nil
	}
	return s.Profiles[name]
}

// ProfileNames returns the profile names, sorted.
func (s *State) ProfileNames() []string {
	if s == nil {
		return []string{}
	}
	return slices.Sorted(maps.Keys(s.Profiles))
}

func emptyState() *State {
	return &State{Version: FormatVersion, Profiles: map[string]*Profile{}}
}
