package claude

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
)

// record is the sidecar: what the user's files held, before coda's first
// apply, under the keys coda owns. It is written with the configs and
// deleted by remove.
//
//	{
//	  "version": 1,
//	  "settings.json": {"created": false, "envCreated": true, "original": {"apiKeyHelper": "..."}},
//	  ".claude.json": {"created": false, "original": {"hasCompletedOnboarding": false}}
//	}
//
// A key missing from "original" was absent; its value is kept exactly
// (numbers by their text) with jsonedit.
type record struct {
	settings section
	claude   section
}

type section struct {
	created    bool // coda created the file: delete it when nothing else is left
	envCreated bool // settings.json: coda created the env object
	original   *jsonedit.Object
	// unknown: nothing is known about this file's originals (no sidecar);
	// remove leaves it alone.
	unknown bool
}

const (
	recSettings = "settings.json"
	recClaude   = ".claude.json"
)

// record returns the originals to keep: the sidecar's when there is one,
// else the files' current values (coda's first apply). replaced lists the
// user's values coda is about to overwrite, for a note.
func (s *state) record(d desired) (rec *record, replaced []string) {
	if s.rec != nil {
		r := *s.rec
		// A file deleted since coda configured it is created afresh.
		if !s.settings.exists() {
			r.settings = section{created: true, envCreated: true, original: jsonedit.New()}
		}
		if !s.claude.exists() {
			r.claude = section{created: true, original: jsonedit.New()}
		}
		return &r, nil
	}
	rec = &record{}
	settings := s.settings.obj
	envObj := envObject(settings)
	rec.settings = section{created: !s.settings.exists(), envCreated: envObj == nil, original: jsonedit.New()}
	// Without a sidecar, settings that already run coda's helper were
	// written by coda (its state was lost): nothing of the user's to keep.
	if !s.helperIsCoda(d) {
		if v, ok := settings.Get(keyHelper); ok {
			rec.settings.original.Set(keyHelper, v)
			replaced = append(replaced, keyHelper)
		}
		if envObj != nil {
			orig := jsonedit.New()
			for _, kv := range d.env {
				if v, ok := envObj.Get(kv[0]); ok {
					orig.Set(kv[0], v)
					if v != kv[1] {
						replaced = append(replaced, "env."+kv[0])
					}
				}
			}
			if orig.Len() > 0 {
				rec.settings.original.Set(keyEnv, orig)
			}
		}
	}
	rec.claude = section{created: !s.claude.exists(), original: jsonedit.New()}
	if v, ok := s.claude.obj.Get(keyOnboarding); ok {
		rec.claude.original.Set(keyOnboarding, v)
	}
	return rec, replaced
}

func (r *record) marshal() []byte {
	o := jsonedit.New()
	o.Set("version", sidecarFormat)
	st := jsonedit.New()
	st.Set("created", r.settings.created)
	st.Set("envCreated", r.settings.envCreated)
	st.Set("original", r.settings.original)
	o.Set(recSettings, st)
	cl := jsonedit.New()
	cl.Set("created", r.claude.created)
	cl.Set("original", r.claude.original)
	o.Set(recClaude, cl)
	return jsonedit.Marshal(o)
}

func parseRecord(raw []byte) (*record, error) {
	o, err := jsonedit.Parse(raw)
	if err != nil {
		return nil, err
	}
	if v, _ := o.Get("version"); v != json.Number(fmt.Sprint(sidecarFormat)) {
		return nil, errors.New("unknown version")
	}
	r := &record{}
	for _, sec := range []struct {
		key  string
		dst  *section
		bool []string
	}{
		{recSettings, &r.settings, []string{"created", "envCreated"}},
		{recClaude, &r.claude, []string{"created"}},
	} {
		v, _ := o.Get(sec.key)
		so, ok := v.(*jsonedit.Object)
		if !ok {
			return nil, fmt.Errorf("no %s section", sec.key)
		}
		flags := map[string]bool{}
		for _, k := range sec.bool {
			b, ok := mustGet(so, k).(bool)
			if !ok {
				return nil, fmt.Errorf("%s.%s is not a boolean", sec.key, k)
			}
			flags[k] = b
		}
		orig, ok := mustGet(so, "original").(*jsonedit.Object)
		if !ok {
			return nil, fmt.Errorf("%s.original is not an object", sec.key)
		}
		if v, ok := orig.Get(keyEnv); ok {
			if _, isObj := v.(*jsonedit.Object); !isObj {
				return nil, fmt.Errorf("%s.original.env is not an object", sec.key)
			}
		}
		*sec.dst = section{created: flags["created"], envCreated: flags["envCreated"], original: orig}
	}
	for _, k := range r.settings.original.Keys() {
		if !slices.Contains([]string{keyHelper, keyEnv}, k) {
			return nil, fmt.Errorf("unexpected key in %s.original", recSettings)
		}
	}
	return r, nil
}

func mustGet(o *jsonedit.Object, k string) any {
	v, _ := o.Get(k)
	return v
}
