package gemini

import (
	"errors"
	"strings"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// legacyRecord reads the sidecar of coda before pluginkit.Record, version 1,
// for the files at p:
//
//	{
//	  "version": 1,
//	  "created": {"settings": false, "trustedFolders": true, "env": false},
//	  "settings": {"security.auth.selectedType": {"value": "oauth-personal"}, "model.name": {}},
//	  "trustedFolders": {"/home/u": {}},
//	  "env": {"GEMINI_API_KEY": {"value": "..."}, ...}
//	}
//
// An entry without "value" was absent.
func legacyRecord(raw []byte, p paths) (*pluginkit.Record, error) {
	side, err := jsonedit.Parse(raw)
	if err != nil {
		return nil, errors.New("not valid JSON")
	}
	value := func(section, key string) (any, bool) {
		e, _ := side.GetPath(section, key)
		if obj, ok := e.(*jsonedit.Object); ok {
			return obj.Get("value")
		}
		return nil, false
	}
	created := func(file string) bool { v, _ := side.GetPath("created", file); return v == true }
	rec := pluginkit.NewRecord()
	settings := rec.AddFile(p.settings, created("settings"))
	for _, path := range settingsKeys {
		v, ok := value("settings", strings.Join(path, "."))
		settings.KeepJSON(path, v, ok)
	}
	trusted := rec.AddFile(p.trusted, created("trustedFolders"))
	if folders, ok := objectAt(side, "trustedFolders"); ok {
		for _, home := range folders.Keys() {
			v, ok := value("trustedFolders", home)
			trusted.KeepJSON(pluginkit.Key{home}, v, ok)
		}
	}
	envs := rec.AddFile(p.env, created("env"))
	for _, k := range envKeys {
		v, ok := value("env", k)
		s, isString := v.(string)
		envs.Keep(pluginkit.Key{k}, s, ok && isString)
	}
	return rec, nil
}

func objectAt(o *jsonedit.Object, key string) (*jsonedit.Object, bool) {
	v, _ := o.Get(key)
	obj, ok := v.(*jsonedit.Object)
	return obj, ok
}
