package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/coda-cli/coda/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
)

// Store is the credentials store.
//
// Lock order: a caller may call Update while holding LockProfile, never the
// reverse, and fn must not call Update (the store lock is per open file, so a
// nested Update in the same process waits for itself until ctx is done).
type Store interface {
	// Load returns a snapshot without taking the lock (renames make reads
	// consistent). A missing file gives an empty State with Version
	// FormatVersion, no profiles and an empty InstallationID.
	Load() (*State, error)
	// Update loads the state under the cross-process lock, runs fn, and if fn
	// returns nil writes the result atomically. An empty installation id is
	// assigned (16 hex chars) before fn runs. A corrupt or newer-version file
	// makes Update fail before fn runs, leaving the file untouched. ctx only
	// bounds the wait for the lock: once fn has run its result is written.
	Update(ctx context.Context, fn func(*State) error) error
	// LockProfile takes the per-profile operation lock (held across a whole
	// rotation, including network calls), waiting until ctx is done.
	LockProfile(ctx context.Context, profile string) (unlock func(), err error)
	// Path is the credentials file's path.
	Path() string
}

var _ Store = (*FileStore)(nil)

const (
	dirPerm      = 0o700
	filePerm     = 0o600
	locksDirName = "locks"
	storeLock    = "store.lock"
)

// FileStore is a Store backed by files in coda's config dir. Its zero value is
// not usable; create it with NewFileStore. It holds no open files between
// calls, so any number of FileStores (in any number of processes) may share a
// dir: the flock(2) locks exclude each other.
type FileStore struct {
	dir string

	// beforeRename, when set (tests only), runs on each temp file just before
	// it is renamed into place; an error aborts the write.
	beforeRename func(tmpPath string) error
}

// NewFileStore returns a store in dir, coda's config dir. Nothing is created
// until the first write or lock.
func NewFileStore(dir string) *FileStore { return &FileStore{dir: dir} }

// Path is the credentials file's path.
func (s *FileStore) Path() string { return filepath.Join(s.dir, FileName) }

func (s *FileStore) locksDir() string { return filepath.Join(s.dir, locksDirName) }

func (s *FileStore) lockPath(name string) string { return filepath.Join(s.locksDir(), name) }

// Load returns a snapshot of the credentials without locking.
func (s *FileStore) Load() (*State, error) {
	st, _, err := s.read()
	return st, err
}

// Update runs fn on the current state under the store lock and saves the
// result if fn succeeds.
func (s *FileStore) Update(ctx context.Context, fn func(*State) error) error {
	if err := s.ensureDirs(); err != nil {
		return err
	}
	unlock, err := lockContext(ctx, s.lockPath(storeLock))
	if err != nil {
		return fmt.Errorf("waiting for the credentials lock: %w", err)
	}
	defer unlock()

	st, old, err := s.read()
	if err != nil {
		return err
	}
	if st.InstallationID == "" {
		st.InstallationID = newInstallationID()
	}
	if err := fn(st); err != nil {
		return err
	}
	data, err := encode(st)
	if err != nil {
		return err
	}
	if old != nil && bytes.Equal(data, old) {
		// Nothing changed: skip the write (and its fsyncs) but still make
		// sure a hand-copied file is not left readable by others.
		return tightenFile(s.Path())
	}
	return writeFileAtomic(s.dir, FileName, data, s.beforeRename)
}

// read loads and parses the credentials file. raw is nil when the file does
// not exist.
func (s *FileStore) read() (st *State, raw []byte, err error) {
	path := s.Path()
	raw, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return emptyState(), nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading credentials: %w", err)
	}
	st, err = decode(path, raw)
	if err != nil {
		return nil, nil, err
	}
	return st, raw, nil
}

// decode parses a credentials file. The version is checked before the full
// decode so a newer format gives a VersionError even if its shape changed.
func decode(path string, raw []byte) (*State, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, &CorruptError{Path: path, Err: errors.New("file is empty")}
	}
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, &CorruptError{Path: path, Err: sanitizeDecodeError(err)}
	}
	switch {
	case head.Version == nil:
		return nil, &CorruptError{Path: path, Err: errors.New("no format version")}
	case *head.Version > FormatVersion:
		return nil, &VersionError{Path: path, Version: *head.Version}
	case *head.Version < 1:
		return nil, &CorruptError{Path: path, Err: fmt.Errorf("invalid format version %d", *head.Version)}
	}
	// Unknown fields are tolerated (and dropped on the next write): a newer
	// coda that needs them kept must bump FormatVersion.
	st := emptyState()
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, &CorruptError{Path: path, Err: sanitizeDecodeError(err)}
	}
	normalize(st)
	return st, nil
}

// normalize fixes what JSON can express but callers should not have to check:
// a null profiles map and null profile entries (which carry no data).
func normalize(st *State) {
	if st.Profiles == nil {
		st.Profiles = map[string]*Profile{}
	}
	for name, p := range st.Profiles {
		if p == nil {
			delete(st.Profiles, name)
			continue
		}
		p.upgrade()
	}
}

// encode renders the state as indented JSON with a trailing newline. Struct
// fields keep declaration order and map keys are sorted, so output is stable.
func encode(st *State) ([]byte, error) {
	st.Version = FormatVersion
	normalize(st)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		// Encoding plain strings and times cannot fail in practice; the
		// message never includes values either way.
		return nil, fmt.Errorf("encoding credentials: %w", err)
	}
	return buf.Bytes(), nil
}

func newInstallationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it crashes instead.
	return hex.EncodeToString(b[:])
}

// ensureDirs creates the config and locks dirs with 0700.
func (s *FileStore) ensureDirs() error {
	if err := ensurePrivateDir(s.dir); err != nil {
		return err
	}
	return ensurePrivateDir(s.locksDir())
}

// ensurePrivateDir creates dir (0700) if missing, and tightens an existing dir
// that grants group or other access, since it holds credentials.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("creating config dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking config dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("config dir %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, dirPerm); err != nil {
			return fmt.Errorf("restricting permissions of config dir: %w", err)
		}
	}
	return nil
}

// tightenFile drops group/other access from an existing file.
func tightenFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("checking credentials file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, filePerm); err != nil {
			return fmt.Errorf("restricting permissions of credentials file: %w", err)
		}
	}
	return nil
}

// writeFileAtomic replaces dir/name with data (0600) atomically.
func writeFileAtomic(dir, name string, data []byte, beforeRename func(string) error) error {
	return atomicfile.Write(filepath.Join(dir, name), data, filePerm, beforeRename)
}

// lockContext (flock_unix.go, flock_other.go) takes the file locks.

// DefaultDir is coda's config dir: $CODA_CONFIG_DIR, else
// $XDG_CONFIG_HOME/coda, else ~/.config/coda. A relative XDG_CONFIG_HOME is
// ignored, as the XDG spec requires.
func DefaultDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("CODA_CONFIG_DIR"); d != "" {
		return filepath.Clean(d), nil
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "coda"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the config dir: set CODA_CONFIG_DIR or HOME: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".config", "coda"), nil
}
