// Package store keeps coda's credentials: one short-lived Databricks token per
// profile, in a versioned JSON file that is only ever replaced atomically and
// only modified under a cross-process lock.
//
// A profile's token value lives in that file or, when coda login chose the
// system keyring (Profile.Storage), in the keyring, one entry per token;
// the file stays the one record of everything else. StorageKeyring gives
// the rules; every keyring call is bounded by KeyringTimeout.
package store

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/sink"
)

// FormatVersion is the newest credentials file format this coda reads and
// writes. Bump it whenever an older coda would lose or misread data by
// rewriting a newer file: older versions refuse newer files instead of
// dropping fields. Version 3 adds tokens kept in the system keyring
// (Profile.Storage); a file without such a profile is still written as
// version 2.
const FormatVersion = 3

// Version 1 files (before the typed policy and tool records) are read and
// upgraded on the next write: their setup.plugins setting becomes Tools.
const legacyPluginsSetting = "setup.plugins"

// FileName is the credentials file's name inside the config dir.
const FileName = "credentials.json"

// Pending is an old token waiting to be deleted.
type Pending struct {
	TokenID     string    `json:"token_id"`
	DeleteAfter time.Time `json:"delete_after"`
	ExpiresAt   time.Time `json:"expires_at"`
	Attempts    int       `json:"attempts,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	// HeldBy says which tool may still hold the token when a delivery of
	// its successor failed: coda does not delete it until every sink holds
	// the successor, or it expires.
	HeldBy string `json:"held_by,omitempty"`
	// Host is set for a token of the workspace the profile was logged in
	// to before (coda login to another host could not delete it): coda
	// holds no credential there any more, so it waits for its expiry.
	Host string `json:"host,omitempty"`
}

// ProxyConfig is a profile's proxy settings.
type ProxyConfig struct {
	// Mode is auto (tools that cannot pick up a new token by themselves),
	// all (every agent) or off; empty means auto.
	Mode string `json:"mode,omitempty"`
	// Port on 127.0.0.1, chosen when a tool first needs the proxy.
	Port int `json:"port,omitempty"`
	// Env is set once coda env has printed the proxy's address for tools
	// configured through the environment: the watcher then serves the
	// proxy even when no set-up agent goes through it.
	Env bool `json:"env,omitempty"`
}

// Tool is a plugin coda set up for a profile.
type Tool struct {
	Plugin string `json:"plugin"`
	// Refresh is how often the tool's credential helper re-runs coda token
	// (0 for tools without a helper): the grace must stay well above it.
	Refresh policy.Duration `json:"helper_refresh,omitempty"`
	// Sinks are the places the tool reads a literal token from.
	Sinks []sink.Spec `json:"sinks,omitempty"`
	// Proxied tools reach the workspace through the profile's proxy with
	// its local key: nothing of theirs rotates.
	Proxied bool `json:"proxied,omitempty"`
}

// Profile is one workspace's credentials. Its fmt and slog forms redact the
// token, so a profile can be logged or printed with %v without leaking it.
type Profile struct {
	Host  string `json:"host"`
	User  string `json:"user"`
	Token string `json:"token"`
	// Storage is where the token lives: StorageFile (Token, in this
	// file) or StorageKeyring (the system keyring; Token is empty in the
	// file and filled in by Unseal). coda login pins it; empty in
	// profiles logged in before coda had a keyring, which keep theirs in
	// the file.
	Storage      string    `json:"storage,omitempty"`
	TokenID      string    `json:"token_id"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	LastRotation time.Time `json:"last_rotation,omitzero"`
	Pending      []Pending `json:"pending,omitempty"`
	// ClockSkew is the workspace's clock minus this machine's, measured at
	// the last create; CreatedAt and ExpiresAt are in this machine's clock.
	ClockSkew policy.Duration `json:"clock_skew,omitempty"`
	// Policy holds the timing values the user chose for the profile; the
	// others derive from the lifetime (policy.Settings.Policy).
	Policy policy.Settings `json:"policy,omitzero"`
	// Proxy is the profile's loopback credential proxy (coda setup
	// --proxy): which tools go through it and its port, kept across
	// restarts so the tools' configs stay valid.
	Proxy ProxyConfig `json:"proxy,omitzero"`
	// Tools are the plugins coda set up for this profile, in setup order.
	Tools    []Tool            `json:"tools,omitempty"`
	Settings map[string]string `json:"settings,omitempty"` // non-secret plugin settings (endpoint, models, options)

	// sealed is set by the store for a token still in the keyring.
	sealed *sealedToken
}

// Tool returns the record of plugin, or nil.
func (p *Profile) Tool(plugin string) *Tool {
	if p == nil {
		return nil
	}
	for i := range p.Tools {
		if p.Tools[i].Plugin == plugin {
			return &p.Tools[i]
		}
	}
	return nil
}

// Sinks lists every sink of every tool of the profile.
func (p *Profile) Sinks() []sink.Spec {
	if p == nil {
		return nil
	}
	var out []sink.Spec
	for _, t := range p.Tools {
		out = append(out, t.Sinks...)
	}
	return out
}

// ProxiedTools lists the tools that go through the profile's proxy.
func (p *Profile) ProxiedTools() []string {
	if p == nil {
		return nil
	}
	var names []string
	for _, t := range p.Tools {
		if t.Proxied {
			names = append(names, t.Plugin)
		}
	}
	return names
}

// ServesProxy reports whether anything of the profile goes through its
// proxy: a set-up agent in proxy mode, or tools configured by coda env.
func (p *Profile) ServesProxy() bool {
	return p != nil && (len(p.ProxiedTools()) > 0 || p.Proxy.Env)
}

// ProxyClients names what goes through the profile's proxy, for messages.
func (p *Profile) ProxyClients() []string {
	names := p.ProxiedTools()
	if p != nil && p.Proxy.Env {
		names = append(names, "coda env")
	}
	return names
}

// Helpers lists the tools with a credential helper and the longest refresh
// interval among them.
func (p *Profile) Helpers() (names []string, refresh time.Duration) {
	if p == nil {
		return nil, 0
	}
	for _, t := range p.Tools {
		if t.Refresh > 0 {
			names = append(names, t.Plugin)
			refresh = max(refresh, time.Duration(t.Refresh))
		}
	}
	return names, refresh
}

// HasToken reports whether the profile holds a token, in the file or
// (sealed until Unseal) in the keyring. Nil-safe so callers can write
// st.Profile(name).HasToken().
func (p *Profile) HasToken() bool { return p != nil && (p.Token != "" || p.sealed != nil) }

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
	switch {
	case p.Token != "":
		tok = "<redacted>"
	case p.sealed != nil:
		tok = "<in keyring>"
	}
	return fmt.Sprintf("Profile{Host:%s User:%s Token:%s TokenID:%s CreatedAt:%s ExpiresAt:%s LastRotation:%s Pending:%d Tools:%d}",
		p.Host, p.User, tok, p.TokenID,
		fmtTime(p.CreatedAt), fmtTime(p.ExpiresAt), fmtTime(p.LastRotation), len(p.Pending), len(p.Tools))
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
		slog.Bool("has_token", p.HasToken()),
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

// ProfileFlag is the -p part of a coda command line shown for profile:
// " -p NAME", or "" for the default profile, which needs none.
func ProfileFlag(profile string) string {
	if profile == "" || profile == "default" {
		return ""
	}
	return " -p " + profile
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

// upgrade turns a version 1 profile's plugin list into tool records.
func (p *Profile) upgrade() {
	names := p.Settings[legacyPluginsSetting]
	if names == "" {
		return
	}
	delete(p.Settings, legacyPluginsSetting)
	for _, n := range strings.Split(names, ",") {
		if n != "" && p.Tool(n) == nil {
			p.Tools = append(p.Tools, Tool{Plugin: n})
		}
	}
}

func emptyState() *State {
	return &State{Version: FormatVersion, Profiles: map[string]*Profile{}}
}
