package pluginkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// ParseJSON parses a user's JSON file in the dialect its tool reads, so
// that coda refuses only what the tool itself would refuse: comments and
// trailing commas where the tool takes them survive the merge. An error
// names the file, says what to do, is one line and never quotes the
// content.
func ParseJSON(env configurator.Env, path string, data []byte, d jsonedit.Dialect) (*jsonedit.Object, error) {
	obj, err := jsonedit.ParseDialect(data, d)
	if err == nil {
		return obj, nil
	}
	msg := strings.TrimPrefix(err.Error(), "jsonedit: ")
	if found, ok := strings.CutPrefix(msg, "top-level value must be an object, "); ok {
		return nil, Malformed(env, path, "is not a JSON object", found)
	}
	return nil, Malformed(env, path, "is not valid JSON", strings.TrimPrefix(msg, "invalid JSON at "))
}

// SameJSON reports whether two documents hold the same values in the same
// order, whatever their layout and comments.
func SameJSON(a, b *jsonedit.Object) bool { return jsonedit.Equal(a, b) }

// CloneJSON deep-copies a document.
func CloneJSON(o *jsonedit.Object) *jsonedit.Object { return o.Clone() }

// JSONChange plans a JSON file that was raw (nil: missing) and parsed as
// before, to hold after: the file keeps its bytes when its values do not
// change, and an existing file gets a backup.
func JSONChange(path string, raw []byte, before, after *jsonedit.Object, perm os.FileMode) configurator.Change {
	data := raw
	if raw == nil || !SameJSON(before, after) {
		data = jsonedit.Marshal(after)
	}
	return configurator.Change{Path: path, Old: raw, New: data, Perm: perm, Backup: raw != nil}
}

// ForeignProvider returns the id of a provider in doc's object providers,
// other than own, whose base URL (the string at key base in its entry)
// points at one of refs (PointsAt): a provider for the workspace that the
// user set up without coda. "" when there is none.
func ForeignProvider(doc *jsonedit.Object, providers, own, base string, refs ...string) string {
	v, _ := doc.Get(providers)
	obj, ok := v.(*jsonedit.Object)
	if !ok {
		return ""
	}
	for _, id := range obj.Keys() {
		u, _ := obj.GetPath(id, base)
		if s, ok := u.(string); ok && id != own && PointsAt(s, refs...) {
			return id
		}
	}
	return ""
}

// OnlySchema reports whether nothing but "$schema": url is left in o: a
// file coda created that holds nothing else may go on remove.
func OnlySchema(o *jsonedit.Object, url string) bool {
	for _, k := range o.Keys() {
		if v, _ := o.Get(k); k != "$schema" || v != url {
			return false
		}
	}
	return true
}

// JSONText is a value of a jsonedit document as one line of JSON text, the
// way a Record keeps the original of a JSON key: numbers by their text.
func JSONText(v any) string {
	o := jsonedit.New()
	o.Set("v", v)
	var b bytes.Buffer
	if err := json.Compact(&b, jsonedit.Marshal(o)); err != nil {
		panic("pluginkit: jsonedit wrote invalid JSON: " + err.Error())
	}
	return strings.TrimSuffix(strings.TrimPrefix(b.String(), `{"v":`), "}")
}

// ParseJSONText parses what JSONText wrote back into a jsonedit value.
func ParseJSONText(text string) (any, error) {
	if !json.Valid([]byte(text)) {
		return nil, errors.New("not one JSON value")
	}
	o, err := jsonedit.Parse([]byte(`{"v":` + text + `}`))
	if err != nil {
		return nil, errors.New("not one JSON value")
	}
	v, _ := o.Get("v")
	return v, nil
}

// KeepJSON records the original of a key of a JSON file: v, a jsonedit
// value, when present.
func (f *FileRecord) KeepJSON(key Key, v any, present bool) *KeyRecord {
	if !present {
		return f.Keep(key, "", false)
	}
	return f.Keep(key, JSONText(v), true)
}

// OriginalJSON returns the original of a key of a JSON file as a jsonedit
// value; false when it was absent (or is not JSON, which CheckJSON
// refuses when the record is read).
func (f *FileRecord) OriginalJSON(key ...string) (any, bool) {
	text, ok := f.Original(key...)
	if !ok {
		return nil, false
	}
	v, err := ParseJSONText(text)
	return v, err == nil
}

// CheckAllJSON refuses a record in which the originals of any file are not
// JSON: the RecordFormat.Check of a plugin whose every file is JSON.
func CheckAllJSON(r *Record) error {
	for _, f := range r.Files {
		if err := f.CheckJSON(); err != nil {
			return err
		}
	}
	return nil
}

// CheckJSON refuses a record of a JSON file whose originals are not JSON.
// (nil checks nothing).
func (f *FileRecord) CheckJSON() error {
	if f == nil {
		return nil
	}
	for _, k := range f.Keys {
		if k.Original != nil {
			if _, err := ParseJSONText(*k.Original); err != nil {
				return fmt.Errorf("the original of %s in %s is not JSON", strings.Join(k.Key, "."), filepath.Base(f.Path))
			}
		}
	}
	return nil
}
