// Package keyringtest holds fake system keyrings for tests: File, which
// separate coda processes share (the testscript suite, the benchmarks'
// build of coda), and Failing and Hanging, which stand for a keyring out
// of reach and one that never answers. They satisfy store.KeyringBackend.
//
// Only tests and the benchmarks import this package; coda itself never
// does, so no fake can reach a user's binary.
package keyringtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
	gokeyring "github.com/zalando/go-keyring"
)

// ErrNotFound is what Get answers for a missing entry: go-keyring's own.
var ErrNotFound = gokeyring.ErrNotFound

// File is a keyring kept in a JSON file (0600), so that entries one coda
// process stores are there for the next. Calls lock Path + ".lock".
type File struct{ Path string }

type fileData map[string]string // service + "\x00" + account -> secret

func key(service, account string) string { return service + "\x00" + account }

func (f File) update(fn func(fileData) error) error {
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return err
	}
	l := flock.New(f.Path + ".lock")
	if err := l.Lock(); err != nil {
		return err
	}
	defer l.Unlock()
	d, err := f.read()
	if err != nil {
		return err
	}
	if err := fn(d); err != nil {
		return err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	tmp := f.Path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f.Path)
}

func (f File) read() (fileData, error) {
	raw, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileData{}, nil
	}
	if err != nil {
		return nil, err
	}
	d := fileData{}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("fake keyring %s: %w", f.Path, err)
	}
	return d, nil
}

func (f File) Set(service, account, secret string) error {
	return f.update(func(d fileData) error { d[key(service, account)] = secret; return nil })
}

func (f File) Get(service, account string) (string, error) {
	l := flock.New(f.Path + ".lock")
	if err := l.RLock(); err != nil {
		return "", err
	}
	defer l.Unlock()
	d, err := f.read()
	if err != nil {
		return "", err
	}
	v, ok := d[key(service, account)]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

func (f File) Delete(service, account string) error {
	return f.update(func(d fileData) error {
		if _, ok := d[key(service, account)]; !ok {
			return ErrNotFound
		}
		delete(d, key(service, account))
		return nil
	})
}

// Accounts lists the accounts File holds for service, for assertions.
func (f File) Accounts(service string) ([]string, error) {
	d, err := f.read()
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range d {
		if s, a, _ := strings.Cut(k, "\x00"); s == service {
			out = append(out, a)
		}
	}
	return out, nil
}

// Failing answers every call with Err, as a keyring out of reach does.
type Failing struct{ Err error }

func (f Failing) Set(string, string, string) error   { return f.Err }
func (f Failing) Get(string, string) (string, error) { return "", f.Err }
func (f Failing) Delete(string, string) error        { return f.Err }

// Hanging never answers until Release is closed (a nil Release: never),
// as a Secret Service waiting on an unlock prompt nobody sees.
type Hanging struct{ Release <-chan struct{} }

func (h Hanging) wait() error {
	<-h.Release
	return errors.New("released")
}

func (h Hanging) Set(string, string, string) error   { return h.wait() }
func (h Hanging) Get(string, string) (string, error) { return "", h.wait() }
func (h Hanging) Delete(string, string) error        { return h.wait() }

// Backend is the methods the fakes share (store.KeyringBackend's).
type Backend interface {
	Set(service, account, secret string) error
	Get(service, account string) (string, error)
	Delete(service, account string) error
}

// Parse builds a fake from a spec, for test binaries that take it from
// their environment: "file:PATH", "error" (unreachable, like a machine
// without a D-Bus session) or "hang". An empty spec is "error".
func Parse(spec string) (Backend, time.Duration, error) {
	switch {
	case spec == "" || spec == "error":
		return Failing{Err: errors.New("org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files")}, 0, nil
	case spec == "hang":
		// A short bound keeps the suite fast; the production bound is
		// store.KeyringTimeout, checked by the store's unit tests.
		return Hanging{}, 300 * time.Millisecond, nil
	case strings.HasPrefix(spec, "file:"):
		return File{Path: strings.TrimPrefix(spec, "file:")}, 0, nil
	}
	return nil, 0, fmt.Errorf("unknown fake keyring %q (want file:PATH, error or hang)", spec)
}
