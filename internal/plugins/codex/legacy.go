package codex

import (
	"encoding/json"
	"errors"

	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// legacyRecord reads the sidecar of coda before pluginkit.Record, version 1,
// for config.toml at path:
//
//	{"version": 1, "created": false, "original": {"model": "\"o3\""}}
//
// A key missing from "original" was absent.
func legacyRecord(raw []byte, path string) (*pluginkit.Record, error) {
	var v1 struct {
		Created  bool              `json:"created"`
		Original map[string]string `json:"original"`
	}
	if err := json.Unmarshal(raw, &v1); err != nil {
		return nil, errors.New("not a record")
	}
	rec := pluginkit.NewRecord()
	f := rec.AddFile(path, v1.Created)
	for _, k := range RootKeys {
		lit, ok := v1.Original[k]
		f.Keep(pluginkit.Key{k}, lit, ok)
	}
	return rec, nil
}
