package pluginkit

import (
	"encoding/json"
	"path/filepath"

	"github.com/coda-cli/coda/pkg/configurator"
)

// Sidecar is the file in which a plugin keeps its record of the user's
// previous values (and of what it created), so that remove restores them:
// STATEDIR/plugins/NAME.json. A plan writes it together with the configs,
// first, so that a failed config write still leaves the originals known;
// a remove plan deletes it last. Its format is the plugin's.
type Sidecar struct {
	Path string
	// Raw is the content on disk, the Old of the sidecar's Change: nil
	// when there is no sidecar.
	Raw []byte
}

// SidecarPath is plugin's sidecar: STATEDIR/plugins/PLUGIN.json.
func SidecarPath(env configurator.Env, plugin string) string {
	return filepath.Join(env.StateDir, "plugins", plugin+".json")
}

// LoadSidecar reads plugin's sidecar; a missing one has Raw nil. An error
// is os's own.
func LoadSidecar(env configurator.Env, plugin string) (Sidecar, error) {
	s := Sidecar{Path: SidecarPath(env, plugin)}
	var err error
	s.Raw, err = ReadOptional(s.Path)
	return s, err
}

// Exists reports whether the sidecar was on disk.
func (s Sidecar) Exists() bool { return s.Raw != nil }

// Write is the Change that writes data into the sidecar (nil data deletes
// it): 0600, and secret, since a record may hold a token of the user's.
func (s Sidecar) Write(data []byte) configurator.Change {
	return configurator.Change{Path: s.Path, Old: s.Raw, New: data, Perm: configurator.SecretPerm, Secret: true}
}

// Remove is the Change that deletes the sidecar.
func (s Sidecar) Remove() configurator.Change { return s.Write(nil) }

// EncodeJSON encodes a record the way coda writes its JSON records:
// indented by two spaces, ending in a newline.
func EncodeJSON(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
