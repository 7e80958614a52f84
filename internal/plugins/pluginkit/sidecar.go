package pluginkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/coda-cli/coda/pkg/configurator"
)

// Sidecar is the file in which a plugin keeps its Record of the user's
// previous values (and of what it created), so that remove restores them:
// STATEDIR/plugins/NAME.json. A plan writes it together with the configs,
// first, so that a failed config write still leaves the originals known;
// a remove plan deletes it last.
type Sidecar struct {
	Path string
	// Raw is the content on disk, the Old of the sidecar's Change: nil
	// when there is no sidecar.
	Raw []byte
	// loaded is the record read from Raw, encoded as Save would write it.
	loaded []byte
}

// SidecarPath is plugin's sidecar: STATEDIR/plugins/PLUGIN.json.
func SidecarPath(env configurator.Env, plugin string) string {
	return filepath.Join(env.StateDir, "plugins", plugin+".json")
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

// Save is the Change that writes rec into the sidecar, or deletes it when
// rec records nothing. A record the same as the one loaded keeps the
// file's bytes, so that a sidecar of the older layout stays (and reads the
// same) until something in it changes.
func (s Sidecar) Save(rec *Record) configurator.Change {
	if rec.Empty() {
		return s.Remove()
	}
	data := rec.encode()
	if s.loaded != nil && bytes.Equal(data, s.loaded) {
		data = s.Raw
	}
	return s.Write(data)
}

// RecordFormat is how a plugin reads its sidecar.
type RecordFormat struct {
	// Plugin names the sidecar: STATEDIR/plugins/PLUGIN.json.
	Plugin string
	// Legacy converts a sidecar of version 1, the plugin's own layout
	// before Record, written by an older coda.
	Legacy func(raw []byte) (*Record, error)
	// Check, when set, refuses a record whose values the plugin cannot
	// restore. Its error says what is wrong without quoting any value.
	Check func(*Record) error
}

// LoadRecord reads a plugin's record: nil, with a Sidecar whose Raw is nil,
// when there is none. A record coda cannot read is an error of one line
// that names the file and says to move it aside; it never quotes the
// record, which may hold a token.
func LoadRecord(env configurator.Env, format RecordFormat) (*Record, Sidecar, error) {
	s := Sidecar{Path: SidecarPath(env, format.Plugin)}
	var err error
	if s.Raw, err = ReadShown(env, s.Path); err != nil || s.Raw == nil {
		return nil, s, err
	}
	rec, err := parseRecord(s.Raw, format)
	if err != nil {
		return nil, s, fmt.Errorf("coda's record of your original settings, %s, is damaged (%v): move it aside, then run coda setup again", Display(env, s.Path), err)
	}
	s.loaded = rec.encode()
	return rec, s, nil
}

func parseRecord(raw []byte, format RecordFormat) (*Record, error) {
	var head struct {
		Version json.Number `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, errors.New("not a JSON object with a version")
	}
	var rec *Record
	switch head.Version {
	case "2":
		rec = &Record{}
		if err := json.Unmarshal(raw, rec); err != nil {
			return nil, errors.New("not a record of version 2")
		}
	case "1":
		if format.Legacy == nil {
			return nil, errors.New("unknown version 1")
		}
		var err error
		if rec, err = format.Legacy(raw); err != nil {
			return nil, fmt.Errorf("version 1: %w", err)
		}
		rec.Version = RecordVersion
	default:
		return nil, errors.New("unknown version")
	}
	if err := rec.check(); err != nil {
		return nil, err
	}
	if format.Check != nil {
		if err := format.Check(rec); err != nil {
			return nil, err
		}
	}
	return rec, nil
}
