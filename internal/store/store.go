package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/coda-cli/coda/internal/atomicfile"
	"github.com/coda-cli/coda/internal/store/ownercheck"
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
//
// Like ssh with its keys, it refuses (with an *ownercheck.Error naming the
// fix) a config dir, locks dir, credentials file or lock file that another
// user owns. That includes running as root over a user's store (`sudo -E`),
// which would otherwise re-own credentials.json to root and lock the user's
// helpers out. It also refuses a config or locks dir that other users can
// write, and makes one they can only read 0700. On Windows these checks
// pass (see package ownercheck).
type FileStore struct {
	dir string

	// kr holds the tokens of keyring profiles (see StorageKeyring);
	// created on first use with the backend SetKeyringBackend chose.
	kr     *keyring
	krOnce sync.Once

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
	unlock, err := s.lock(ctx, storeLock, "the credentials lock")
	if err != nil {
		return err
	}
	defer unlock()
	// Every writer of the file holds this lock, so no temp file of a write
	// in progress can exist now: any there is left over from a writer that
	// died mid-write, and holds a full token. Best effort: a failure must
	// not stop the update.
	_ = atomicfile.RemoveTemps(s.Path())

	st, old, err := s.read()
	if err != nil {
		return err
	}
	if st.InstallationID == "" {
		st.InstallationID = newInstallationID()
	}
	sealed, refsBefore := sealedAccounts(st), keyringRefs(st)
	if err := fn(st); err != nil {
		return err
	}
	// Keyring tokens go in before the file names them and come out after
	// it no longer does (see StorageKeyring).
	written, err := s.storeSecrets(st, sealed)
	if err == nil {
		err = s.write(st, old)
	}
	if err != nil {
		// Take out the entries this update made, not those the file named.
		s.dropSecrets(slices.DeleteFunc(written, func(a string) bool { return refsBefore[a] }))
		return err
	}
	s.dropSecrets(unreferenced(refsBefore, keyringRefs(st)))
	return nil
}

// write saves st unless it encodes to old, the bytes just read.
func (s *FileStore) write(st *State, old []byte) error {
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
// not exist. A file another user owns is refused, unread.
func (s *FileStore) read() (st *State, raw []byte, err error) {
	path := s.Path()
	raw, err = s.readOwnFile()
	if errors.Is(err, fs.ErrNotExist) {
		return emptyState(), nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	st, err = decode(path, raw)
	if err != nil {
		return nil, nil, err
	}
	s.seal(st)
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
	if err := checkStorage(st); err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
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

// encode renders the state as credentials.json holds it (fileForm:
// keyring tokens left out), as indented JSON with a trailing newline.
// Struct fields keep declaration order and map keys are sorted, so output
// is stable.
func encode(st *State) ([]byte, error) {
	normalize(st)
	file := fileForm(st)
	st.Version = file.Version
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(file); err != nil {
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

// readOwnFile reads the credentials file, refusing one another user owns.
// The owner is checked on the open descriptor, so it is the file that was
// read.
func (s *FileStore) readOwnFile() ([]byte, error) {
	path := s.Path()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		// Unreadable because someone else owns the file (root's, after a
		// sudo run) or the dir (which hides the file): say so, with the
		// fix, rather than "permission denied".
		if oerr := ownercheck.OwnedPath(credentialsWhat, path); oerr != nil {
			return nil, oerr
		}
		if oerr := ownercheck.OwnedPath(configDirWhat, s.dir); oerr != nil {
			return nil, oerr
		}
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	if err := ownercheck.Owned(credentialsWhat, path, fi); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	return raw, nil
}

// Names of the store's paths in ownercheck messages.
const (
	configDirWhat   = "config dir"
	locksDirWhat    = "coda's locks dir"
	credentialsWhat = "credentials file"
	lockFileWhat    = "lock file"
)

// ensureDirs creates the config and locks dirs with 0700, or checks that the
// existing ones are the running user's own and writable by no one else. The
// config dir is checked before the locks dir is created in it.
func (s *FileStore) ensureDirs() error {
	if err := ensurePrivateDir(configDirWhat, s.dir); err != nil {
		return err
	}
	return ensurePrivateDir(locksDirWhat, s.locksDir())
}

// ensurePrivateDir creates dir (0700) if missing. An existing dir must belong
// to the running user and be writable by no one else: otherwise it is
// refused, with the command that fixes it, since someone else may already
// have put files in it. Read or search access for others is taken away
// (0700): every file in the dir is 0600, so such access exposed no secret.
func ensurePrivateDir(what, dir string) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("creating %s: %w", what, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking %s: %w", what, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %s is not a directory", what, dir)
	}
	if err := ownercheck.Unshared(what, dir, fi); err != nil {
		return err
	}
	if ownercheck.ModesMatter() && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, dirPerm); err != nil {
			return fmt.Errorf("restricting permissions of %s: %w", what, err)
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
	if ownercheck.ModesMatter() && fi.Mode().Perm()&0o077 != 0 {
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
//
// On Windows it is %CODA_CONFIG_DIR%, else %AppData%\coda (what
// os.UserConfigDir gives, the home of per-user settings there); XDG
// variables are not read.
func DefaultDir(getenv func(string) string) (string, error) {
	return defaultDir(getenv, runtime.GOOS)
}

// defaultDir is DefaultDir for goos, so both rules are tested everywhere.
func defaultDir(getenv func(string) string, goos string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("CODA_CONFIG_DIR"); d != "" {
		return filepath.Clean(d), nil
	}
	if goos == "windows" {
		// os.UserConfigDir reads the same variable (names ignore case
		// there), but not through getenv.
		appData := getenv("APPDATA")
		if appData == "" {
			return "", errors.New("cannot find the config dir: set CODA_CONFIG_DIR or APPDATA")
		}
		return filepath.Join(appData, "coda"), nil
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
