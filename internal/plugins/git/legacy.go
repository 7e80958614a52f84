package git

import (
	"encoding/json"
	"errors"

	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// legacyRecord reads the sidecar of coda before pluginkit.Record, version 1:
//
//	{"version": 1, "file": "/home/u/.gitconfig", "created_file": true,
//	 "keys": {"user.name": {"value": "Alice", "previous": "Bob"}}}
//
// "value" is what coda set; "previous" the value --force replaced (absent:
// there was none).
func legacyRecord(raw []byte) (*pluginkit.Record, error) {
	var v1 struct {
		File        string `json:"file"`
		CreatedFile bool   `json:"created_file"`
		Keys        map[string]*struct {
			Value    string  `json:"value"`
			Previous *string `json:"previous"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &v1); err != nil || v1.File == "" || v1.Keys == nil {
		return nil, errors.New("not a record")
	}
	rec := pluginkit.NewRecord()
	f := rec.AddFile(v1.File, v1.CreatedFile)
	for _, key := range Keys {
		if k := v1.Keys[key]; k != nil {
			prev := ""
			if k.Previous != nil {
				prev = *k.Previous
			}
			f.Keep(recordKey(key), prev, k.Previous != nil).Wrote = k.Value
		}
	}
	return rec, nil
}
