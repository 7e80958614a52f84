package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"github.com/coda-cli/coda/internal/store"
)

// tagPrefix starts the comment of every token coda mints. The rest names
// the installation, the profile and the store, so coda on another machine,
// another profile on this one, or a copy of this config dir never touches
// tokens that are not its own.
const tagPrefix = "coda:"

// Tag identifies the tokens of one installation, profile and store.
type Tag struct {
	InstallationID string
	Profile        string
	// Store changes when the config dir is copied to another path or
	// machine (a synced or restored ~/.config/coda keeps the installation
	// id): a token of another store is never an orphan of this one. Empty
	// in tokens minted before coda tagged the store.
	Store string
}

// Comment is the token comment that carries the tag.
func (t Tag) Comment() string {
	c := tagPrefix + " install=" + t.InstallationID + " profile=" + t.Profile
	if t.Store != "" {
		c += " store=" + t.Store
	}
	return c
}

// tag is the tag of profile's tokens in this engine's store.
func (e *Engine) tag(st *store.State, profile string) Tag {
	return Tag{InstallationID: st.InstallationID, Profile: profile, Store: StoreID(st.InstallationID, e.Store.Path())}
}

// StoreID names one copy of a store: the installation id, the store's
// absolute path and the machine (its machine id, else its host name),
// hashed to 8 hex characters.
func StoreID(installationID, path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	h := sha256.Sum256([]byte(installationID + "\x00" + path + "\x00" + machineID()))
	return hex.EncodeToString(h[:4])
}

func machineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return strings.TrimSpace(string(b))
		}
	}
	h, _ := os.Hostname()
	return h
}

// ParseTag reads a token comment; ok is false for tokens coda did not mint.
func ParseTag(comment string) (t Tag, ok bool) {
	rest, found := strings.CutPrefix(comment, tagPrefix)
	if !found {
		return Tag{}, false
	}
	for _, field := range strings.Fields(rest) {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "install":
			t.InstallationID = v
		case "profile":
			t.Profile = v
		case "store":
			t.Store = v
		}
	}
	return t, t.InstallationID != "" && t.Profile != ""
}

// IsCodaComment reports whether a comment carries any coda tag.
func IsCodaComment(comment string) bool { return strings.HasPrefix(comment, tagPrefix) }
