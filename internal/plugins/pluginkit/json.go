package pluginkit

import (
	"os"
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
