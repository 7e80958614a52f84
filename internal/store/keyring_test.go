package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/coda-cli/coda/internal/store/keyringtest"
)

const secret2 = "dapi0123456789abcdefSECOND"

// counting wraps a backend and records its calls.
type counting struct {
	KeyringBackend
	mu    sync.Mutex
	calls []string // "get ACCOUNT", "set ACCOUNT", "delete ACCOUNT"
}

func (c *counting) rec(op, account string) {
	c.mu.Lock()
	c.calls = append(c.calls, op+" "+account)
	c.mu.Unlock()
}

func (c *counting) Set(s, a, v string) error { c.rec("set", a); return c.KeyringBackend.Set(s, a, v) }
func (c *counting) Get(s, a string) (string, error) {
	c.rec("get", a)
	return c.KeyringBackend.Get(s, a)
}
func (c *counting) Delete(s, a string) error {
	c.rec("delete", a)
	return c.KeyringBackend.Delete(s, a)
}

func (c *counting) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// mockStore is a FileStore over go-keyring's own mock (MockInit), reached
// the way coda reaches the real keyring: through go-keyring's functions.
func mockStore(t *testing.T) *FileStore {
	t.Helper()
	gokeyring.MockInit()
	t.Cleanup(func() { gokeyring.MockInitWithError(errors.New("mock keyring used after its test")) })
	t.Cleanup(SetKeyringBackend(GoKeyring{}, 0))
	return NewFileStore(t.TempDir())
}

// withBackend is a FileStore over b with the given call bound.
func withBackend(dir string, b KeyringBackend, timeout time.Duration) *FileStore {
	return NewFileStoreWithKeyring(dir, b, timeout)
}

// keyringLogin is a FileStore in dir over b whose profile "default" keeps
// its token (secret, id tok-1) in the keyring.
func keyringLogin(t *testing.T, dir string, b KeyringBackend) *FileStore {
	t.Helper()
	s := withBackend(dir, b, time.Second)
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = keyringProfile(secret, "tok-1")
		return nil
	})
	return s
}

func keyringProfile(token, id string) *Profile {
	p := sampleProfile()
	p.Token, p.TokenID, p.Storage = token, id, StorageKeyring
	return p
}

func installID(t *testing.T, s *FileStore) string {
	t.Helper()
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	return st.InstallationID
}

func TestKeyringTokenLeavesTheFile(t *testing.T) {
	s := mockStore(t)
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = keyringProfile(secret, "tok-1")
		st.Profiles["plain"] = &Profile{Host: "https://h2", Token: secret2, TokenID: "tok-9", Storage: StorageFile}
		return nil
	})
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("the keyring token is in the file:\n%s", raw)
	}
	if !bytes.Contains(raw, []byte(secret2)) || !bytes.Contains(raw, []byte(`"storage": "keyring"`)) || !bytes.Contains(raw, []byte(`"version": 3`)) {
		t.Fatalf("file:\n%s", raw)
	}
	inst := installID(t, s)
	if got, err := gokeyring.Get(KeyringService, inst+"/default/tok-1"); err != nil || got != secret {
		t.Fatalf("keyring entry = %v, %v", got != "", err)
	}

	// Another store (another process) sees a sealed token and reads it
	// on demand.
	other := NewFileStore(s.dir)
	st, err := other.Load()
	if err != nil {
		t.Fatal(err)
	}
	p := st.Profile("default")
	if p.Token != "" || !p.HasToken() || !p.InKeyring() || !p.Live(t0) {
		t.Fatalf("sealed profile: token set %v, HasToken %v", p.Token != "", p.HasToken())
	}
	for _, shown := range []string{fmt.Sprint(p), fmt.Sprintf("%#v", st), p.String()} {
		if !strings.Contains(shown, "Token:<in keyring>") {
			t.Errorf("printed sealed profile: %s", shown)
		}
	}
	if err := p.Unseal(); err != nil || p.Token != secret {
		t.Fatalf("Unseal: %v (token right: %v)", err, p.Token == secret)
	}
	if err := st.Profile("plain").Unseal(); err != nil || st.Profile("plain").Token != secret2 {
		t.Fatalf("file profile: %v", err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "p", *p)
	if strings.Contains(buf.String(), secret) || !strings.Contains(buf.String(), "has_token=true") {
		t.Errorf("slog: %s", buf.String())
	}
}

// A file without keyring profiles stays version 2, which an older coda
// reads.
func TestFileOnlyStoreStaysVersion2(t *testing.T) {
	s := mockStore(t)
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = keyringProfile(secret, "tok-1")
		return nil
	})
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = &Profile{Host: "https://h", Token: secret2, TokenID: "tok-2", Storage: StorageFile}
		return nil
	})
	raw, _ := os.ReadFile(s.Path())
	if !bytes.Contains(raw, []byte(`"version": 2`)) {
		t.Fatalf("file:\n%s", raw)
	}
}

// Entries follow the file: written before it names them, deleted once no
// current or pending token of the file is theirs.
func TestKeyringEntriesFollowTheFile(t *testing.T) {
	dir := t.TempDir()
	kr := &counting{KeyringBackend: keyringtest.File{Path: dir + "/keyring.json"}}
	s := keyringLogin(t, dir+"/coda", kr)
	inst := installID(t, s)
	acct := func(id string) string { return inst + "/default/" + id }
	entries := func() []string {
		t.Helper()
		got, err := keyringtest.File{Path: dir + "/keyring.json"}.Accounts(KeyringService)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if got := entries(); !slices.Equal(got, []string{acct("tok-1")}) {
		t.Fatalf("after login: %v", got)
	}

	var old Profile
	steps := []struct {
		name string
		fn   func(*State) error
		want []string
	}{
		{"an update that leaves the token alone", func(st *State) error {
			st.Profile("default").Settings = map[string]string{"k": "v"}
			return nil
		}, []string{acct("tok-1")}},
		{"a rotation keeps the pending token's entry", func(st *State) error {
			p := st.Profile("default")
			if err := p.Unseal(); err != nil {
				return err
			}
			old = *p
			p.Pending = []Pending{{TokenID: "tok-1"}}
			p.Token, p.TokenID = secret2, "tok-2"
			return nil
		}, []string{acct("tok-1"), acct("tok-2")}},
		{"a rollback finds the old token again", func(st *State) error {
			*st.Profile("default") = old
			st.Profile("default").Pending = []Pending{{TokenID: "tok-2"}}
			return nil
		}, []string{acct("tok-1"), acct("tok-2")}},
		{"dropping the pending token deletes its entry", func(st *State) error {
			st.Profile("default").Pending = nil
			return nil
		}, []string{acct("tok-1")}},
		{"moving the profile to the file deletes every entry", func(st *State) error {
			p := st.Profile("default")
			if err := p.Unseal(); err != nil {
				return err
			}
			p.Storage = StorageFile
			return nil
		}, nil},
	}
	for _, step := range steps {
		mustUpdate(t, s, step.fn)
		if got := entries(); !slices.Equal(got, step.want) {
			t.Fatalf("%s: entries %v, want %v", step.name, got, step.want)
		}
		st, err := NewFileStore(s.dir).Load()
		if err != nil {
			t.Fatal(err)
		}
		// Every step leaves a token that a fresh reader gets.
		p := st.Profile("default")
		p.sealed = nil
		if p.InKeyring() {
			if p.Token != "" {
				t.Fatalf("%s: token in the file", step.name)
			}
			got, err := withBackend(s.dir, kr, time.Second).keyring().get(acct(p.TokenID))
			if err != nil || got == "" {
				t.Fatalf("%s: current entry: %v", step.name, err)
			}
		} else if p.Token == "" {
			t.Fatalf("%s: file profile without its token", step.name)
		}
	}

	// Forgetting the profile deletes its entries.
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = keyringProfile(secret, "tok-3")
		return nil
	})
	mustUpdate(t, s, func(st *State) error { delete(st.Profiles, "default"); return nil })
	if got := entries(); len(got) != 0 {
		t.Fatalf("after forgetting the profile: %v", got)
	}
}

// Reading a keyring token costs one keyring call per process, and a token
// this process stored costs none.
func TestKeyringReadsAreCached(t *testing.T) {
	dir := t.TempDir()
	kr := &counting{KeyringBackend: keyringtest.File{Path: dir + "/keyring.json"}}
	s := keyringLogin(t, dir+"/coda", kr)
	kr.take()
	for range 3 {
		st, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Profile("default").Unseal(); err != nil {
			t.Fatal(err)
		}
	}
	if got := kr.take(); len(got) != 0 {
		t.Fatalf("reads of a token this store wrote: %v", got)
	}
	fresh := withBackend(s.dir, kr, time.Second)
	for range 3 {
		st, _ := fresh.Load()
		if err := st.Profile("default").Unseal(); err != nil || st.Profile("default").Token != secret {
			t.Fatal(err)
		}
	}
	if got := kr.take(); len(got) != 1 || !strings.HasPrefix(got[0], "get ") {
		t.Fatalf("a fresh store's reads: %v, want one get", got)
	}
}

// A keyring out of reach stops only the profiles whose token is there:
// Load and updates that leave the keyring token alone make no call.
func TestUnreachableKeyringStopsOnlyItsProfiles(t *testing.T) {
	dir := t.TempDir()
	good := withBackend(dir, keyringtest.File{Path: dir + "/keyring.json"}, time.Second)
	mustUpdate(t, good, func(st *State) error {
		st.Profiles["desk"] = keyringProfile(secret, "tok-1")
		st.Profiles["cron"] = &Profile{Host: "https://h", Token: secret2, TokenID: "tok-2", Storage: StorageFile}
		return nil
	})
	down := &counting{KeyringBackend: keyringtest.Failing{Err: errors.New("org.freedesktop.DBus.Error.NoServer")}}
	s := withBackend(dir, down, time.Second)
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Profile("cron").Unseal(); err != nil || st.Profile("cron").Token != secret2 {
		t.Fatalf("file profile: %v", err)
	}
	mustUpdate(t, s, func(st *State) error {
		st.Profile("cron").LastRotation = t0
		st.Profile("desk").LastRotation = t0
		return nil
	})
	if got := down.take(); len(got) != 0 {
		t.Fatalf("keyring calls without a keyring token read: %v", got)
	}

	err = st.Profile("desk").Unseal()
	var kpe *KeyringProfileError
	if !errors.As(err, &kpe) || kpe.ExitCode() != 1 || st.Profile("desk").Token != "" {
		t.Fatalf("Unseal = %v", err)
	}
	for _, want := range []string{"profile desk keeps its token in the system keyring, which coda cannot read here", "NoServer", "coda login -p desk --storage file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	// A rotation that cannot store its token fails and leaves the file.
	before, _ := os.ReadFile(s.Path())
	err = s.Update(context.Background(), func(st *State) error {
		p := st.Profile("desk")
		p.Token, p.TokenID = secret2, "tok-3"
		return nil
	})
	if !errors.As(err, &kpe) || kpe.Op != "store" || !strings.Contains(err.Error(), "cannot store here") {
		t.Fatalf("Update = %v", err)
	}
	if after, _ := os.ReadFile(s.Path()); !bytes.Equal(before, after) {
		t.Error("a failed keyring write changed the file")
	}
}

func TestMissingKeyringEntryMeansLogIn(t *testing.T) {
	s := mockStore(t)
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["work"] = keyringProfile(secret, "tok-1")
		return nil
	})
	if err := gokeyring.Delete(KeyringService, installID(t, s)+"/work/tok-1"); err != nil {
		t.Fatal(err)
	}
	st, _ := NewFileStore(s.dir).Load()
	err := st.Profile("work").Unseal()
	var kpe *KeyringProfileError
	if !errors.As(err, &kpe) || kpe.ExitCode() != 4 || !errors.Is(err, ErrKeyringNotFound) ||
		err.Error() != "the token of profile work is missing from the system keyring (removed outside coda?); run: coda login -p work" {
		t.Fatalf("Unseal = %v", err)
	}
}

// go-keyring's mock set to fail, as a machine without a Secret Service.
func TestKeyringErrorsFromTheLibraryMock(t *testing.T) {
	s := mockStore(t)
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = keyringProfile(secret, "tok-1")
		return nil
	})
	gokeyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files"))
	other := NewFileStore(s.dir)
	if err := other.ProbeKeyring(); err == nil || !strings.Contains(err.Error(), "system keyring set: The name org.freedesktop.secrets") {
		t.Fatalf("probe = %v", err)
	}
	st, _ := other.Load()
	if err := st.Profile("default").Unseal(); err == nil || !strings.Contains(err.Error(), "cannot read here (system keyring get: The name") {
		t.Fatalf("Unseal = %v", err)
	}
}

// Every call is bounded: a keyring that never answers costs the timeout,
// and once calls are stuck in it, new ones fail at once.
func TestHangingKeyringTimesOut(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	dir := t.TempDir()
	keyringLogin(t, dir, keyringtest.File{Path: dir + "/keyring.json"})
	hang := &counting{KeyringBackend: keyringtest.Hanging{Release: release}}
	const bound = 50 * time.Millisecond
	s := withBackend(dir, hang, bound)

	start := time.Now()
	err := s.ProbeKeyring()
	if took := time.Since(start); took < bound || took > bound+time.Second {
		t.Errorf("probe took %v, want about %v", took, bound)
	}
	if !errors.Is(err, ErrKeyringTimeout) || !strings.Contains(err.Error(), "system keyring set: no answer within 50ms") {
		t.Fatalf("probe = %v", err)
	}
	st, _ := s.Load()
	start = time.Now()
	err = st.Profile("default").Unseal()
	if !errors.Is(err, ErrKeyringTimeout) || time.Since(start) > bound+time.Second {
		t.Fatalf("Unseal = %v after %v", err, time.Since(start))
	}
	// Two calls are stuck now: the next one fails without a new call.
	hang.take()
	start = time.Now()
	if err := st.Profile("default").Unseal(); !errors.Is(err, ErrKeyringTimeout) || time.Since(start) >= bound {
		t.Fatalf("third call = %v after %v", err, time.Since(start))
	}
	if got := hang.take(); len(got) != 0 {
		t.Errorf("calls made while the keyring is stuck: %v", got)
	}
}

func TestDefaultKeyringTimeout(t *testing.T) {
	if KeyringTimeout != 3*time.Second {
		t.Fatalf("KeyringTimeout = %v", KeyringTimeout)
	}
	if k := NewFileStore(t.TempDir()).keyring(); k.timeout != KeyringTimeout {
		t.Fatalf("a new store's bound = %v", k.timeout)
	}
	restore := SetKeyringBackend(keyringtest.Failing{Err: errors.New("x")}, 0)
	if k := NewFileStore(t.TempDir()).keyring(); k.timeout != KeyringTimeout || k.backend == (systemKeyring{}) {
		t.Fatalf("after SetKeyringBackend: %v %T", k.timeout, k.backend)
	}
	restore()
	if k := NewFileStore(t.TempDir()).keyring(); k.backend != (systemKeyring{}) {
		t.Fatalf("after restore: %T", k.backend)
	}
}

// mangling answers Get with something else than what was stored.
type mangling struct{ KeyringBackend }

func (m mangling) Get(s, a string) (string, error) {
	v, err := m.KeyringBackend.Get(s, a)
	return v + "x", err
}

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	file := keyringtest.File{Path: dir + "/keyring.json"}
	for _, tc := range []struct {
		name    string
		backend KeyringBackend
		want    string // "" for a working keyring
	}{
		{"works", file, ""},
		{"unreachable", keyringtest.Failing{Err: errors.New("no D-Bus")}, "system keyring set: no D-Bus"},
		{"reads back something else", mangling{file}, "read back something other than what was stored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &counting{KeyringBackend: tc.backend}
			err := withBackend(dir, c, time.Second).ProbeKeyring()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("probe = %v, want %q", err, tc.want)
			}
			if left, _ := file.Accounts(KeyringService); len(left) != 0 {
				t.Errorf("the probe left entries: %v", left)
			}
		})
	}
}

// A file write that fails after the token went into the keyring takes the
// new entry out again; entries the file still names stay.
func TestFailedWriteDropsNewEntries(t *testing.T) {
	dir := t.TempDir()
	file := keyringtest.File{Path: dir + "/keyring.json"}
	s := keyringLogin(t, dir+"/coda", file)
	s.beforeRename = func(string) error { return errors.New("disk full") }
	err := s.Update(context.Background(), func(st *State) error {
		p := st.Profile("default")
		p.Pending = []Pending{{TokenID: p.TokenID}}
		p.Token, p.TokenID = secret2, "tok-2"
		return nil
	})
	if err == nil {
		t.Fatal("Update succeeded")
	}
	got, _ := file.Accounts(KeyringService)
	if want := []string{installID(t, s) + "/default/tok-1"}; !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
}

// A keyring profile copied without its token cannot be saved: the file
// would name an entry that may not exist.
func TestUnreadTokenIsNeverSaved(t *testing.T) {
	s := mockStore(t)
	mustUpdate(t, s, func(st *State) error {
		st.Profiles["default"] = keyringProfile(secret, "tok-1")
		return nil
	})
	st, _ := s.Load()
	stale := *st.Profile("default") // sealed, never read
	stale.TokenID = "tok-2"
	before, _ := os.ReadFile(s.Path())
	err := s.Update(context.Background(), func(st *State) error {
		*st.Profile("default") = stale
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "was not read from the system keyring") {
		t.Fatalf("Update = %v", err)
	}
	if after, _ := os.ReadFile(s.Path()); !bytes.Equal(before, after) {
		t.Error("the file changed")
	}
}

func TestUnknownStorageIsCorrupt(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(dir)
	if err := os.WriteFile(s.Path(), []byte(`{"version":3,"profiles":{"a":{"storage":"vault-dapiSECRET"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load()
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "unknown token storage") || strings.Contains(err.Error(), "dapi") {
		t.Fatalf("Load = %v", err)
	}
}

// A keyring profile's token written in the file by hand moves to the
// keyring at the next write.
func TestInlineKeyringTokenMovesToTheKeyring(t *testing.T) {
	s := mockStore(t)
	raw := fmt.Sprintf(`{"version":3,"installation_id":"00112233aabbccdd","profiles":{"default":{"host":"https://h","token":%q,"storage":"keyring","token_id":"tok-1"}}}`, secret)
	if err := os.WriteFile(s.Path(), []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Load()
	if st.Profile("default").Token != secret {
		t.Fatal("the inline token was not read")
	}
	mustUpdate(t, s, func(*State) error { return nil })
	after, _ := os.ReadFile(s.Path())
	if bytes.Contains(after, []byte(secret)) {
		t.Fatalf("the token stayed in the file:\n%s", after)
	}
	if got, err := gokeyring.Get(KeyringService, "00112233aabbccdd/default/tok-1"); err != nil || got != secret {
		t.Fatalf("keyring: %v", err)
	}
}

// BenchmarkUnseal is the in-process cost of reading a profile, with its
// token in the file and in go-keyring's mock (a fresh store each time,
// as each coda token process is).
func BenchmarkUnseal(b *testing.B) {
	for _, storage := range []string{StorageFile, StorageKeyring} {
		b.Run(storage, func(b *testing.B) {
			gokeyring.MockInit()
			b.Cleanup(SetKeyringBackend(GoKeyring{}, 0))
			dir := b.TempDir()
			if err := NewFileStore(dir).Update(context.Background(), func(st *State) error {
				p := keyringProfile(secret, "tok-1")
				p.Storage = storage
				st.Profiles["default"] = p
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				st, err := NewFileStore(dir).Load()
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Profile("default").Unseal(); err != nil || st.Profile("default").Token != secret {
					b.Fatal(err)
				}
			}
		})
	}
}
