package gemini

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// readOptional returns a file's content, or nil when it does not exist.
func readOptional(env configurator.Env, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", display(env, path), unwrapPath(err))
	}
	if data == nil {
		data = []byte{} // exists but empty: distinct from missing
	}
	return data, nil
}

// unwrapPath drops the path os.PathError repeats, so messages name the
// file once, as display shows it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// display shows path as ~/... when it lies under HOME.
func display(env configurator.Env, path string) string {
	if env.Home != "" {
		if rel, err := filepath.Rel(env.Home, path); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return "~/" + filepath.ToSlash(rel)
		}
	}
	return path
}

var linePos = regexp.MustCompile(`line \d+(:\d+)?`)

// parseJSON parses a user's JSON file; an error names the file, says what
// to do, is one line, and never quotes the content.
func parseJSON(env configurator.Env, path string, data []byte) (*jsonedit.Object, error) {
	obj, err := jsonedit.Parse(data)
	if err == nil {
		return obj, nil
	}
	name := display(env, path)
	msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "jsonedit: "), "\n", " ")
	if errors.Is(err, jsonedit.ErrComments) {
		where := linePos.FindString(msg)
		if where == "" {
			where = "somewhere"
		}
		return nil, fmt.Errorf("%s has comments (%s), which coda would lose when it merges its settings: remove them or move the file aside, then run coda setup again", name, where)
	}
	return nil, fmt.Errorf("%s is not valid JSON (%s): fix it or move it aside, then run coda setup again", name, msg)
}

// sameJSON reports whether two documents encode identically.
func sameJSON(a, b *jsonedit.Object) bool {
	return string(jsonedit.Marshal(a)) == string(jsonedit.Marshal(b))
}

// reparse deep-copies a document.
func reparse(o *jsonedit.Object) *jsonedit.Object {
	c, err := jsonedit.Parse(jsonedit.Marshal(o))
	if err != nil {
		panic("jsonedit round trip: " + err.Error())
	}
	return c
}

// privateDirs gives the directory of every file the plan writes a secret
// into mode 0700 before WriteChanges runs: it creates a missing one so,
// and tightens one that exists with a looser mode (WriteChanges keeps the
// mode of a directory that exists, and creates directories in the order
// of the changes, so a non-secret file planned first would create it
// 0755). HOME itself is never changed.
func privateDirs(env configurator.Env, p configurator.Plan) error {
	for _, c := range p.Changes {
		if !c.Secret || c.New == nil || !c.Changed() {
			continue
		}
		dir := filepath.Dir(c.Path)
		if filepath.Clean(dir) == filepath.Clean(env.Home) {
			continue
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", display(env, dir), unwrapPath(err))
		}
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() || info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(dir, info.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("make %s private: %w", display(env, dir), unwrapPath(err))
		}
	}
	return nil
}

// hasControl reports whether s holds a character that would break a line
// or a header (a token never does).
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
