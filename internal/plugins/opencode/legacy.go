package opencode

import (
	"errors"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// legacyRecord reads the sidecar of coda before pluginkit.Record, version 1,
// for the config at config:
//
//	{
//	  "version": 1,
//	  "profile": "default",
//	  "tokenFile": "/home/u/.local/state/coda/tokens/opencode-default",
//	  "createdConfig": false,
//	  "originals": {"model": {"value": "anthropic/claude-sonnet-4-5"}, "small_model": {}}
//	}
//
// An entry without "value" was absent.
func legacyRecord(raw []byte, config string) (*pluginkit.Record, error) {
	side, err := jsonedit.Parse(raw)
	if err != nil {
		return nil, errors.New("not valid JSON")
	}
	rec := pluginkit.NewRecord()
	for fact, key := range map[string]string{factProfile: "profile", factTokenFile: "tokenFile"} {
		if v, _ := side.Get(key); v != nil {
			s, ok := v.(string)
			if !ok {
				return nil, errors.New(key + " is not a string")
			}
			rec.SetFact(fact, s)
		}
	}
	created, _ := side.Get("createdConfig")
	f := rec.AddFile(config, created == true)
	for _, k := range ownedTop {
		e, _ := side.GetPath("originals", k)
		var v any
		ok := false
		if obj, isObj := e.(*jsonedit.Object); isObj {
			v, ok = obj.Get("value")
		}
		f.KeepJSON(pluginkit.Key{k}, v, ok)
	}
	return rec, nil
}
