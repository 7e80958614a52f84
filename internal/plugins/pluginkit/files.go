package pluginkit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/coda-cli/coda/pkg/configurator"
)

// ReadOptional returns a file's content: nil when it does not exist, and
// a non-nil (perhaps empty) slice when it does, so that an empty file is
// told apart from a missing one. An error is os's own.
func ReadOptional(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// ReadShown is ReadOptional with an error that names the file once, as
// Display shows it: "cannot read ~/.gemini/.env: permission denied".
func ReadShown(env configurator.Env, path string) ([]byte, error) {
	data, err := ReadOptional(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path, once, as Display shows it
		}
		return nil, fmt.Errorf("cannot read %s: %w", Display(env, path), err)
	}
	return data, nil
}

// Malformed is the error for a user's file that coda cannot parse: it
// names the file (as Display shows it), says what is wrong with it and
// what to do, in one line, and never quotes the content.
//
//	~/.codex/config.toml is not valid TOML (line 3:1: ...): fix it or move it aside, then run coda setup again
//
// problem reads after the file name ("is not valid TOML"); detail, when
// not empty, is shown in parentheses.
func Malformed(env configurator.Env, path, problem, detail string) error {
	if detail != "" {
		problem += " (" + detail + ")"
	}
	return fmt.Errorf("%s %s: fix it or move it aside, then run coda setup again", Display(env, path), problem)
}
