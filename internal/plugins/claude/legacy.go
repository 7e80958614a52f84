package claude

import (
	"errors"
	"fmt"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// legacyRecord reads the sidecar of coda before pluginkit.Record, version 1,
// for the files at p:
//
//	{
//	  "version": 1,
//	  "settings.json": {"created": false, "envCreated": true, "original": {"apiKeyHelper": "..."}},
//	  ".claude.json": {"created": false, "original": {"hasCompletedOnboarding": false}}
//	}
//
// A key missing from "original" was absent.
func legacyRecord(raw []byte, p paths) (*pluginkit.Record, error) {
	o, err := jsonedit.Parse(raw)
	if err != nil {
		return nil, errors.New("not valid JSON")
	}
	rec := pluginkit.NewRecord()
	for _, file := range []struct{ name, path string }{{"settings.json", p.settings}, {".claude.json", p.claudeJSON}} {
		v, _ := o.Get(file.name)
		sec, ok := v.(*jsonedit.Object)
		if !ok {
			return nil, fmt.Errorf("no %s section", file.name)
		}
		get := func(k string) any { v, _ := sec.Get(k); return v }
		created, ok := get("created").(bool)
		orig, isObj := get("original").(*jsonedit.Object)
		if !ok || !isObj {
			return nil, fmt.Errorf("%s is not a record", file.name)
		}
		f := rec.AddFile(file.path, created)
		if file.path == p.claudeJSON {
			v, ok := orig.Get(keyOnboarding)
			f.KeepJSON(pluginkit.Key{keyOnboarding}, v, ok)
			continue
		}
		envCreated, _ := get("envCreated").(bool)
		f.AddParent(pluginkit.Key{keyEnv}, envCreated)
		v, ok = orig.Get(keyHelper)
		f.KeepJSON(pluginkit.Key{keyHelper}, v, ok)
		env := jsonedit.New()
		if v, ok := orig.Get(keyEnv); ok {
			if env, ok = v.(*jsonedit.Object); !ok {
				return nil, errors.New("settings.json.original.env is not an object")
			}
		}
		for _, k := range EnvKeys {
			v, ok := env.Get(k)
			f.KeepJSON(pluginkit.Key{keyEnv, k}, v, ok)
		}
	}
	return rec, nil
}
