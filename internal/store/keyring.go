package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/coda-cli/coda/internal/redact"
)

// KeyringService is the service name of coda's entries in the system
// keyring. Each entry's account is "INSTALLATION/PROFILE/TOKEN_ID".
const KeyringService = "coda"

// KeyringTimeout bounds every keyring call. The Secret Service can block
// for good on a headless machine or over ssh (a D-Bus that answers, a
// keyring daemon that waits for an unlock prompt nobody sees); coda then
// fails or falls back rather than hang an agent's credential helper.
const KeyringTimeout = 3 * time.Second

// maxStuck is how many timed-out calls may still be blocked in the
// keyring before coda stops starting new ones: a watcher or a proxy whose
// keyring hangs must not pile up a goroutine per request.
const maxStuck = 2

// ErrKeyringTimeout is a keyring call that did not answer in time.
var ErrKeyringTimeout = errors.New("no answer in time")

// ErrKeyringNotFound is the keyring's answer for an entry it does not
// hold; backends return it (go-keyring's own ErrNotFound counts too).
var ErrKeyringNotFound = gokeyring.ErrNotFound

// KeyringBackend is what coda needs of a system keyring: go-keyring's
// calls. Get of a missing entry returns ErrKeyringNotFound.
type KeyringBackend interface {
	Set(service, account, secret string) error
	Get(service, account string) (string, error)
	Delete(service, account string) error
}

// GoKeyring is go-keyring's functions as they are: the Secret Service
// over D-Bus on Linux and the BSDs, the login Keychain on macOS (through
// /usr/bin/security, the secret on its stdin), the Credential Manager on
// Windows; or, after go-keyring's MockInit, its in-memory mock, which is
// how tests use it.
type GoKeyring struct{}

func (GoKeyring) Set(service, account, secret string) error {
	return gokeyring.Set(service, account, secret)
}

func (GoKeyring) Get(service, account string) (string, error) {
	return gokeyring.Get(service, account)
}

func (GoKeyring) Delete(service, account string) error {
	return gokeyring.Delete(service, account)
}

// systemKeyring is coda's keyring: GoKeyring, once a D-Bus session is
// known to exist where the Secret Service needs one (sessionBus).
type systemKeyring struct{}

func (systemKeyring) Set(service, account, secret string) error {
	if err := sessionBus(); err != nil {
		return err
	}
	return GoKeyring{}.Set(service, account, secret)
}

func (systemKeyring) Get(service, account string) (string, error) {
	if err := sessionBus(); err != nil {
		return "", err
	}
	return GoKeyring{}.Get(service, account)
}

func (systemKeyring) Delete(service, account string) error {
	if err := sessionBus(); err != nil {
		return err
	}
	return GoKeyring{}.Delete(service, account)
}

// The keyring of the FileStores created from now on.
var defaults = struct {
	sync.Mutex
	backend KeyringBackend
	timeout time.Duration
}{backend: systemKeyring{}}

// SetKeyringBackend makes the FileStores created afterwards use b, with
// calls bounded by timeout (0: KeyringTimeout), and returns what restores
// the previous one. It exists for tests that run whole coda processes
// (the testscript binary, the benchmarks' build): coda never calls it, and
// no flag or variable of coda's reaches it.
func SetKeyringBackend(b KeyringBackend, timeout time.Duration) (restore func()) {
	defaults.Lock()
	defer defaults.Unlock()
	prevB, prevT := defaults.backend, defaults.timeout
	defaults.backend, defaults.timeout = b, timeout
	return func() {
		defaults.Lock()
		defer defaults.Unlock()
		defaults.backend, defaults.timeout = prevB, prevT
	}
}

// NewFileStoreWithKeyring is NewFileStore over the keyring b, each call
// bounded by timeout (0: KeyringTimeout). Tests use it; coda's own stores
// come from NewFileStore.
func NewFileStoreWithKeyring(dir string, b KeyringBackend, timeout time.Duration) *FileStore {
	s := NewFileStore(dir)
	s.kr = newKeyring(b, timeout)
	return s
}

// newKeyring is the keyring over b, each call bounded by timeout (0:
// KeyringTimeout).
func newKeyring(b KeyringBackend, timeout time.Duration) *keyring {
	if timeout <= 0 {
		timeout = KeyringTimeout
	}
	return &keyring{backend: b, timeout: timeout, cache: map[string]string{}}
}

// keyring runs every call with a timeout and remembers the tokens it has
// read or written. A token id's value never changes, and every account
// names one token id, so a remembered value is never stale: a watcher or
// a proxy reads each token from the keyring once.
type keyring struct {
	backend KeyringBackend
	timeout time.Duration
	stuck   atomic.Int32

	mu    sync.Mutex
	cache map[string]string
}

// KeyringError is a keyring call that failed or timed out. It never holds
// a secret: the keyring's errors name services and D-Bus objects.
type KeyringError struct {
	Op  string // set, get, delete
	Err error
	// Timeout is the bound that passed, when Err is ErrKeyringTimeout.
	Timeout time.Duration
}

func (e *KeyringError) Error() string {
	msg := redact.Line(redact.Secrets(e.Err.Error()), 200)
	if errors.Is(e.Err, ErrKeyringTimeout) && e.Timeout > 0 {
		msg = "no answer within " + e.Timeout.String()
	}
	return fmt.Sprintf("system keyring %s: %s", e.Op, msg)
}

func (e *KeyringError) Unwrap() error { return e.Err }

// call runs fn in a goroutine and waits at most k.timeout. A call that
// times out keeps running (go-keyring cannot be cancelled) and counts as
// stuck until it returns.
func (k *keyring) call(op string, fn func() error) error {
	if k.stuck.Load() >= maxStuck {
		return &KeyringError{Op: op, Err: ErrKeyringTimeout, Timeout: k.timeout}
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return &KeyringError{Op: op, Err: err}
		}
		return nil
	case <-timer.C:
		k.stuck.Add(1)
		go func() {
			<-done
			k.stuck.Add(-1)
		}()
		return &KeyringError{Op: op, Err: ErrKeyringTimeout, Timeout: k.timeout}
	}
}

func (k *keyring) rawGet(account string) (string, error) {
	var v string
	err := k.call("get", func() error {
		var err error
		v, err = k.backend.Get(KeyringService, account)
		return err
	})
	return v, err
}

// get reads an entry, from the cache when this process has seen it.
func (k *keyring) get(account string) (string, error) {
	k.mu.Lock()
	v, ok := k.cache[account]
	k.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := k.rawGet(account)
	if err != nil {
		return "", err
	}
	if v == "" {
		// An empty secret is no token: treat it as missing, never hand
		// out an empty bearer.
		return "", &KeyringError{Op: "get", Err: ErrKeyringNotFound}
	}
	k.remember(account, v)
	return v, nil
}

func (k *keyring) set(account, secret string) error {
	err := k.call("set", func() error { return k.backend.Set(KeyringService, account, secret) })
	if err == nil {
		k.remember(account, secret)
	}
	return err
}

// delete removes an entry; one that is already gone is no error.
func (k *keyring) delete(account string) error {
	k.mu.Lock()
	delete(k.cache, account)
	k.mu.Unlock()
	err := k.call("delete", func() error { return k.backend.Delete(KeyringService, account) })
	if errors.Is(err, ErrKeyringNotFound) {
		return nil
	}
	return err
}

func (k *keyring) remember(account, secret string) {
	k.mu.Lock()
	k.cache[account] = secret
	k.mu.Unlock()
}

// probe stores, reads back and deletes a throwaway entry under a random
// account, bypassing the cache: the keyring is usable only if all three
// work here and now.
func (k *keyring) probe() error {
	var b [16]byte
	_, _ = rand.Read(b[:])
	account := "probe-" + hex.EncodeToString(b[:4])
	value := hex.EncodeToString(b[4:])
	if err := k.call("set", func() error { return k.backend.Set(KeyringService, account, value) }); err != nil {
		return err
	}
	got, err := k.rawGet(account)
	derr := k.call("delete", func() error { return k.backend.Delete(KeyringService, account) })
	switch {
	case err != nil:
		return err
	case got != value:
		return &KeyringError{Op: "get", Err: errors.New("read back something other than what was stored")}
	case derr != nil:
		return derr
	}
	return nil
}

// ProbeKeyring reports whether the system keyring works here: it stores,
// reads back and deletes a throwaway entry, each call bounded by
// KeyringTimeout. coda login runs it before choosing where a profile's
// token lives.
func (s *FileStore) ProbeKeyring() error { return s.keyring().probe() }

func (s *FileStore) keyring() *keyring {
	s.krOnce.Do(func() {
		if s.kr == nil {
			defaults.Lock()
			defer defaults.Unlock()
			s.kr = newKeyring(defaults.backend, defaults.timeout)
		}
	})
	return s.kr
}
