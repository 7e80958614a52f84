package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// CorruptError means the credentials file could not be parsed. Err carries a
// sanitized description only: parser errors quote file contents, which may be
// a token, so they are never kept.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("credentials file %s is corrupt (%v); move it aside and run coda login", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// VersionError means the credentials file was written by a newer coda.
type VersionError struct {
	Path    string
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("credentials file %s has format version %d, newer than this coda understands (%d); upgrade coda",
		e.Path, e.Version, FormatVersion)
}

// WatcherRunningError means another process holds the profile's watcher lock.
// PID is 0 when the holder's PID could not be read.
type WatcherRunningError struct {
	Profile string
	PID     int
}

func (e *WatcherRunningError) Error() string {
	pid := "unknown"
	if e.PID > 0 {
		pid = fmt.Sprint(e.PID)
	}
	return fmt.Sprintf("another coda rotate --watch (PID %s) is running for profile %s", pid, e.Profile)
}

var profileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateProfileName checks a profile name. Names become parts of lock file
// names, so the charset excludes path separators and leading dots.
func ValidateProfileName(name string) error {
	if name == "" {
		return errors.New("profile name must not be empty")
	}
	if !profileNameRE.MatchString(name) {
		shown := name
		if len(shown) > 80 {
			shown = shown[:80] + "..."
		}
		return fmt.Errorf("invalid profile name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", shown)
	}
	return nil
}

// sanitizeDecodeError turns a JSON decoding error into a description that
// cannot contain file contents. encoding/json's messages quote offending
// characters and values, and time.ParseError quotes the whole string.
func sanitizeDecodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tpe *time.ParseError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON near byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Errorf("field %s has the wrong type, want %s", typ.Field, typ.Type)
		}
		return fmt.Errorf("wrong JSON type, want %s", typ.Type)
	case errors.As(err, &tpe):
		return errors.New("invalid timestamp")
	default:
		return errors.New("unreadable content")
	}
}
