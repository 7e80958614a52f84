package pluginkit

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/pkg/configurator"
)

var linePos = regexp.MustCompile(`line \d+(:\d+)?`)

// ParseJSON parses a user's JSON file with jsonedit. An error names the
// file, says what to do, is one line and never quotes the content; a file
// with comments is refused, since merging would lose them.
func ParseJSON(env configurator.Env, path string, data []byte) (*jsonedit.Object, error) {
	obj, err := jsonedit.Parse(data)
	if err == nil {
		return obj, nil
	}
	msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "jsonedit: "), "\n", " ")
	if errors.Is(err, jsonedit.ErrComments) {
		where := linePos.FindString(msg)
		if where == "" {
			where = "somewhere"
		}
		return nil, fmt.Errorf("%s has comments (%s), which coda would lose when it merges its settings: remove them or move the file aside, then run coda setup again", Display(env, path), where)
	}
	return nil, Malformed(env, path, "is not valid JSON", msg)
}

// SameJSON reports whether two documents encode identically.
func SameJSON(a, b *jsonedit.Object) bool {
	return string(jsonedit.Marshal(a)) == string(jsonedit.Marshal(b))
}

// CloneJSON deep-copies a document.
func CloneJSON(o *jsonedit.Object) *jsonedit.Object {
	c, err := jsonedit.Parse(jsonedit.Marshal(o))
	if err != nil {
		panic("jsonedit round trip: " + err.Error())
	}
	return c
}

// JSONChange plans a JSON file that was raw (nil: missing) and parsed as
// before, to hold after: the file keeps its bytes when nothing but the
// formatting would change, and an existing file gets a backup.
func JSONChange(path string, raw []byte, before, after *jsonedit.Object, perm os.FileMode) configurator.Change {
	data := raw
	if raw == nil || !SameJSON(before, after) {
		data = jsonedit.Marshal(after)
	}
	return configurator.Change{Path: path, Old: raw, New: data, Perm: perm, Backup: raw != nil}
}
