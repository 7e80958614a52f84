package workspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/databricks/databricks-sdk-go/credentials/u2m/cache"
	"golang.org/x/oauth2"

	"github.com/coda-cli/coda/internal/atomicfile"
)

// tokenCacheVersion is the only format of the Databricks CLI's token cache
// coda reads:
//
//	{"version": 1, "tokens": {"KEY": {"access_token": "...", "token_type": "Bearer",
//	  "refresh_token": "...", "expiry": "RFC 3339"}}}
//
// KEY is the profile name for a `databricks auth login --profile NAME`; the
// CLI's default (legacy) storage mirrors each entry under the host URL too.
const tokenCacheVersion = 1

// tokenCacheFile is the Databricks CLI's token cache file as the SDK's
// u2m cache.TokenCache. Store replaces one entry and keeps every other
// entry and field as it is, writing atomically with mode 0600.
type tokenCacheFile struct {
	path string
	// hostKey is the profile's host entry, updated with the profile's own
	// entry when it mirrors it (same refresh token), as the CLI writes both.
	hostKey string
}

// cacheFile is the file's envelope; Rest keeps fields coda does not know.
type cacheFile struct {
	Version int                        `json:"version"`
	Tokens  map[string]json.RawMessage `json:"tokens"`
}

func (c *tokenCacheFile) load() (cacheFile, map[string]json.RawMessage, error) {
	var f cacheFile
	raw, err := os.ReadFile(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil, cache.ErrNotFound
	}
	if err != nil {
		return f, nil, fmt.Errorf("read the Databricks CLI's token cache: %w", err)
	}
	var all map[string]json.RawMessage
	// Never quote the file: it holds tokens.
	if json.Unmarshal(raw, &all) != nil || json.Unmarshal(raw, &f) != nil {
		return f, nil, fmt.Errorf("%s is not the Databricks CLI's token cache (JSON)", c.path)
	}
	if f.Version != tokenCacheVersion {
		return f, nil, fmt.Errorf("%s is version %d of the Databricks CLI's token cache; coda reads version %d", c.path, f.Version, tokenCacheVersion)
	}
	return f, all, nil
}

// Lookup implements cache.TokenCache.
func (c *tokenCacheFile) Lookup(key string) (*oauth2.Token, error) {
	f, _, err := c.load()
	if err != nil {
		return nil, err
	}
	raw, ok := f.Tokens[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, cache.ErrNotFound
	}
	var t oauth2.Token
	if json.Unmarshal(raw, &t) != nil {
		return nil, fmt.Errorf("the entry for %s in %s is not an OAuth token", key, c.path)
	}
	return &t, nil
}

// Store implements cache.TokenCache: it saves a refreshed token.
func (c *tokenCacheFile) Store(key string, t *oauth2.Token) error {
	f, all, err := c.load()
	if err != nil {
		return err
	}
	if t == nil {
		return errors.New("coda never deletes an entry of the Databricks CLI's token cache")
	}
	entry, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if c.hostKey != "" && c.hostKey != key && sameRefresh(f.Tokens[key], f.Tokens[c.hostKey]) {
		f.Tokens[c.hostKey] = entry
	}
	if f.Tokens == nil {
		f.Tokens = map[string]json.RawMessage{}
	}
	f.Tokens[key] = entry
	tokens, err := json.Marshal(f.Tokens)
	if err != nil {
		return err
	}
	all["tokens"] = tokens
	out, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(c.path, out, 0o600, nil)
}

// sameRefresh reports whether two entries hold the same refresh token.
func sameRefresh(a, b json.RawMessage) bool {
	var x, y struct {
		Refresh string `json:"refresh_token"`
	}
	return a != nil && b != nil && json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil &&
		x.Refresh != "" && x.Refresh == y.Refresh
}
