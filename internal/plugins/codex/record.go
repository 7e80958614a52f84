package codex

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// record is the sidecar: the user's top-level model and model_provider
// before coda's first apply, as TOML literals exactly as written, and
// whether coda created config.toml.
//
//	{"version": 1, "created": false, "original": {"model": "\"o3\""}}
//
// A key missing from "original" was absent.
type record struct {
	created  bool
	original map[string]string // key → TOML literal
}

const recordVersion = 1

type recordJSON struct {
	Version  int               `json:"version"`
	Created  bool              `json:"created"`
	Original map[string]string `json:"original"`
}

func (r *record) marshal() []byte {
	b, err := pluginkit.EncodeJSON(recordJSON{Version: recordVersion, Created: r.created, Original: r.original})
	if err != nil {
		panic(err) // strings and a bool always encode
	}
	return b
}

func parseRecord(raw []byte) (*record, error) {
	var rj recordJSON
	if err := json.Unmarshal(raw, &rj); err != nil {
		return nil, fmt.Errorf("not valid JSON")
	}
	if rj.Version != recordVersion {
		return nil, fmt.Errorf("unknown version %d", rj.Version)
	}
	for k, lit := range rj.Original {
		if !slices.Contains(RootKeys, k) {
			return nil, fmt.Errorf("unexpected key in original")
		}
		if decode(lit) == nil {
			return nil, fmt.Errorf("original %s is not a TOML value", k)
		}
	}
	if rj.Original == nil {
		rj.Original = map[string]string{}
	}
	return &record{created: rj.Created, original: rj.Original}, nil
}

// record returns the originals to keep: the sidecar's, or, on coda's first
// apply, the file's current root keys. replaced names the user's values
// coda is about to overwrite, for a note.
func (s *state) record(d desired) (rec *record, replaced []string) {
	if s.rec != nil {
		if !s.exists() { // deleted since: coda creates it afresh
			return &record{created: true, original: map[string]string{}}, nil
		}
		return s.rec, nil
	}
	rec = &record{created: !s.exists(), original: map[string]string{}}
	// Without a sidecar, a config that already holds coda's table was
	// configured by coda (its state was lost): its root keys are coda's.
	if s.hasCodaTable() {
		return rec, nil
	}
	ours := map[string]string{keyModel: d.model, keyProvider: ProviderID}
	for _, k := range RootKeys {
		if v, ok := s.doc.RootKey(k); ok {
			rec.original[k] = v
			if decode(v) != ours[k] {
				replaced = append(replaced, k)
			}
		}
	}
	return rec, replaced
}
