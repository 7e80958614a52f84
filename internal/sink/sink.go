// Package sink delivers coda's token to a tool that reads it literally. A
// sink names the one file (and, inside it, the one key) that holds the
// token; writing it reads and rewrites that file alone, atomically and
// 0600, without parsing anything else the tool reads. Rotation and revoke
// reach tools only through sinks: a comment in an unrelated settings file
// can never stop a token from being delivered.
//
// Sinks are declared by the configurator plugins when coda setup plans a
// tool, recorded in the profile, and written by the lifecycle engine.
package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"

	"github.com/coda-cli/coda/internal/atomicfile"
	"github.com/coda-cli/coda/internal/merge/dotenv"
	"github.com/coda-cli/coda/internal/merge/iniedit"
)

// Format is how the token sits in its file.
type Format string

const (
	// FormatFile: the whole file is the token and a newline; without a
	// token the file is removed.
	FormatFile Format = "file"
	// FormatDotenv: one KEY=value line of a .env file; without a token
	// the key is removed.
	FormatDotenv Format = "dotenv"
	// FormatINI: one key of one section of an INI file
	// (~/.databrickscfg); without a token the key is removed.
	FormatINI Format = "ini"
)

// Spec is one place a tool reads coda's token from.
type Spec struct {
	Plugin  string `json:"plugin"`
	Path    string `json:"path"`
	Format  Format `json:"format"`
	Section string `json:"section,omitempty"`
	Key     string `json:"key,omitempty"`
}

// String names the sink for messages: plugin, file and key, never a value.
func (s Spec) String() string {
	where := s.Path
	switch {
	case s.Format == FormatINI:
		where += " [" + s.Section + "] " + s.Key
	case s.Key != "":
		where += " " + s.Key
	}
	return s.Plugin + ": " + where
}

// Check reports a spec that cannot be written.
func (s Spec) Check() error {
	switch {
	case s.Plugin == "":
		return errors.New("sink without a plugin name")
	case !filepath.IsAbs(s.Path):
		return fmt.Errorf("%s: the path must be absolute", s)
	}
	switch s.Format {
	case FormatFile:
		return nil
	case FormatDotenv:
		if s.Key != "" {
			return nil
		}
	case FormatINI:
		if s.Key != "" && s.Section != "" {
			return nil
		}
	default:
		return fmt.Errorf("%s: unknown format %q", s, s.Format)
	}
	return fmt.Errorf("%s: format %s needs a key (and an INI section)", s, s.Format)
}

// WriteFunc replaces a file atomically; tests inject faults through it.
type WriteFunc func(path string, data []byte, perm os.FileMode) error

// AtomicWrite is the production WriteFunc.
func AtomicWrite(path string, data []byte, perm os.FileMode) error {
	return atomicfile.Write(path, data, perm, nil)
}

// Writer writes and reads sinks. Its zero value writes with AtomicWrite and
// takes no lock.
type Writer struct {
	// LockDir, when set, holds the lock that serialises every write to the
	// tools' files across processes (shared with coda setup).
	LockDir string
	Write   WriteFunc
}

// Put makes s hold token; an empty token takes it out.
func (w Writer) Put(s Spec, token string) error {
	if err := s.Check(); err != nil {
		return err
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%s: the token holds a control character; run coda login again", s)
	}
	unlock, err := LockConfigs(w.LockDir)
	if err != nil {
		return err
	}
	defer unlock()
	old, err := readFile(s.Path)
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	data, remove, err := render(s, old, token)
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	switch {
	case remove && old == nil:
		return nil
	case remove:
		if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", s, err)
		}
		return nil
	case old != nil && string(old) == string(data):
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	write := w.Write
	if write == nil {
		write = AtomicWrite
	}
	if err := write(s.Path, data, 0o600); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	return nil
}

// Get returns the token s holds ("" when none).
func (w Writer) Get(s Spec) (string, error) {
	if err := s.Check(); err != nil {
		return "", err
	}
	data, err := readFile(s.Path)
	if err != nil || data == nil {
		return "", err
	}
	switch s.Format {
	case FormatFile:
		return strings.TrimSpace(string(data)), nil
	case FormatDotenv:
		doc, err := dotenv.Parse(data)
		if err != nil {
			return "", fmt.Errorf("%s: %w", s, err)
		}
		v, _ := doc.Get(s.Key)
		return v, nil
	default:
		doc, err := iniedit.Parse(data)
		if err != nil {
			return "", fmt.Errorf("%s: %w", s, err)
		}
		v, _ := doc.Get(s.Section, s.Key)
		return v, nil
	}
}

// render is the new content of s's file; remove means the file goes.
func render(s Spec, old []byte, token string) (data []byte, remove bool, err error) {
	switch s.Format {
	case FormatFile:
		if token == "" {
			return nil, true, nil
		}
		return []byte(token + "\n"), false, nil
	case FormatDotenv:
		doc, err := dotenv.Parse(old)
		if err != nil {
			return nil, false, fmt.Errorf("not a valid .env file (%v): fix it, then run coda rotate", err)
		}
		if token == "" {
			doc.Delete(s.Key)
		} else if err := doc.Set(s.Key, token); err != nil {
			return nil, false, err
		}
		return doc.Bytes(), false, nil
	default:
		doc, err := iniedit.Parse(old)
		if err != nil {
			return nil, false, fmt.Errorf("not a valid INI file (%v): fix it, then run coda rotate", err)
		}
		if token == "" {
			doc.Delete(s.Section, s.Key)
		} else if err := doc.Set(s.Section, s.Key, token); err != nil {
			return nil, false, err
		}
		return doc.Bytes(), false, nil
	}
}

// readFile returns nil for a missing file and a clear error for a
// directory where the file should be.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if info, serr := os.Stat(path); serr == nil && info.IsDir() {
			return nil, errors.New("is a directory, not a file: move it away, then run coda rotate")
		}
		return nil, err
	}
	return data, nil
}

// LockConfigs takes the cross-process lock that serialises writes to the
// tools' files (coda setup and every sink); dir "" takes none.
func LockConfigs(dir string) (unlock func(), err error) {
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	fl := flock.New(filepath.Join(dir, "configs.lock"), flock.SetPermissions(0o600))
	if err := fl.Lock(); err != nil {
		return nil, fmt.Errorf("lock coda's config writes: %w", err)
	}
	return func() { _ = fl.Unlock() }, nil
}
