package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/store/keyringtest"
	"github.com/coda-cli/coda/internal/workspace"
)

// keyringEnv is an env whose store keeps tokens in go-keyring's mock.
func keyringEnv(t *testing.T) *env {
	t.Helper()
	gokeyring.MockInit()
	t.Cleanup(func() { gokeyring.MockInitWithError(errors.New("mock keyring used after its test")) })
	t.Cleanup(store.SetKeyringBackend(store.GoKeyring{}, 0))
	return newEnv(t)
}

// reopen is the engine of another coda process over the same config dir.
func (e *env) reopen() *Engine {
	r := *e.r
	r.Store = store.NewFileStore(e.dir)
	return &r
}

// The whole lifecycle of a profile whose token lives in the keyring: the
// file never holds a token, every reader gets the current one, and the
// keyring keeps an entry only while the file names its token.
func TestKeyringLifecycle(t *testing.T) {
	e := keyringEnv(t)
	ctx := context.Background()
	timing := fixed(pol(15*time.Minute, 10*time.Minute, 0))
	res, err := e.r.Login(ctx, LoginRequest{Profile: "default", Host: e.srv.URL(), PAT: e.pat, Timing: timing, Storage: store.StorageKeyring})
	if err != nil || res.Storage != store.StorageKeyring {
		t.Fatalf("Login = %+v, %v", res, err)
	}
	inst := e.installID()
	entry := func(id string) (string, error) { return gokeyring.Get(store.KeyringService, inst+"/default/"+id) }
	noTokenInFile := func(step string) {
		t.Helper()
		raw, err := os.ReadFile(e.st.Path())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range e.srv.MintedValues() {
			if v != e.pat && bytes.Contains(raw, []byte(v)) {
				t.Fatalf("%s: a coda token is in credentials.json", step)
			}
		}
	}
	noTokenInFile("login")
	first, err := entry(res.TokenID)
	if err != nil {
		t.Fatalf("login's keyring entry: %v", err)
	}
	e.srv.ResetRequests()

	// Another process hands out the token from the keyring, with no
	// request.
	fresh, err := e.reopen().EnsureFresh(ctx, "default", timing)
	if err != nil || fresh.Token != first || fresh.TokenID != res.TokenID || len(e.srv.Requests()) != 0 {
		t.Fatalf("EnsureFresh = %v (token right %v), %d requests", err, fresh != nil && fresh.Token == first, len(e.srv.Requests()))
	}

	// A rotation with no grace replaces the token and deletes the old
	// one, here and in the keyring.
	rot, err := e.reopen().Rotate(ctx, RotateRequest{Profile: "default", Timing: timing})
	if err != nil {
		t.Fatal(err)
	}
	noTokenInFile("rotate")
	if _, err := entry(res.TokenID); !errors.Is(err, gokeyring.ErrNotFound) || e.live(res.TokenID) {
		t.Fatalf("old token: entry err %v, live %v", err, e.live(res.TokenID))
	}
	second, err := entry(rot.TokenID)
	if err != nil || second == first {
		t.Fatalf("new entry: %v", err)
	}
	if f, err := e.reopen().EnsureFresh(ctx, "default", timing); err != nil || f.Token != second {
		t.Fatalf("after the rotation: %v", err)
	}
	// The workspace accepts what the keyring holds.
	c, _ := workspace.NewSDKClient(e.srv.URL(), second)
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("the keyring's token is refused: %v", err)
	}

	// A credential helper's rotation (create only) keeps the old entry
	// while its token is pending.
	e.clk.Advance(11 * time.Minute)
	f, err := e.reopen().EnsureFresh(ctx, "default", timing)
	if err != nil || !f.Rotated {
		t.Fatalf("EnsureFresh near expiry = %+v, %v", f, err)
	}
	if _, err := entry(rot.TokenID); err != nil {
		t.Fatalf("the pending token's entry is gone: %v", err)
	}
	if got, _ := entry(f.TokenID); got != f.Token {
		t.Fatal("the helper's new token is not the keyring's")
	}

	// Revoke deletes every token and every entry.
	if _, err := e.reopen().Revoke(ctx, "default", false); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{rot.TokenID, f.TokenID} {
		if _, err := entry(id); !errors.Is(err, gokeyring.ErrNotFound) || e.live(id) {
			t.Errorf("after revoke, %s: entry err %v, live %v", id, err, e.live(id))
		}
	}
}

// A keyring out of reach later (cron, no D-Bus) stops the profile with an
// error that names the fix, before any request; one that hangs does too,
// within the bound.
func TestKeyringOutOfReachLater(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backend store.KeyringBackend
		timeout time.Duration
		want    []string
	}{
		{"unreachable", keyringtest.Failing{Err: errors.New("dbus: DBUS_SESSION_BUS_ADDRESS not set")}, 0,
			[]string{"profile default keeps its token in the system keyring, which coda cannot read here", "coda login --storage file"}},
		{"hanging", keyringtest.Hanging{}, 100 * time.Millisecond,
			[]string{"no answer within 100ms", "coda login --storage file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := keyringEnv(t)
			ctx := context.Background()
			timing := fixed(pol(15*time.Minute, 10*time.Minute, 2*time.Minute))
			if _, err := e.r.Login(ctx, LoginRequest{Profile: "default", Host: e.srv.URL(), PAT: e.pat, Timing: timing, Storage: store.StorageKeyring}); err != nil {
				t.Fatal(err)
			}
			e.srv.ResetRequests()
			t.Cleanup(store.SetKeyringBackend(tc.backend, tc.timeout))
			for _, step := range []struct {
				name string
				run  func(*Engine) error
			}{
				{"token", func(r *Engine) error { _, err := r.EnsureFresh(ctx, "default", timing); return err }},
				{"rotate", func(r *Engine) error {
					_, err := r.Rotate(ctx, RotateRequest{Profile: "default", Timing: timing})
					return err
				}},
			} {
				start := time.Now()
				err := step.run(e.reopen())
				if err == nil || exit.CodeOf(err) != exit.Error || time.Since(start) > 2*time.Second {
					t.Fatalf("%s = %v (exit %d) after %v", step.name, err, exit.CodeOf(err), time.Since(start))
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: %q lacks %q", step.name, err, w)
					}
				}
			}
			if n := len(e.srv.Requests()); n != 0 {
				t.Errorf("%d requests without a token", n)
			}
		})
	}
}

// A rotation whose new token cannot go into the keyring deletes that
// token and keeps the old one.
func TestKeyringWriteFailsDuringRotation(t *testing.T) {
	e := keyringEnv(t)
	ctx := context.Background()
	timing := fixed(pol(15*time.Minute, 10*time.Minute, 2*time.Minute))
	res, err := e.r.Login(ctx, LoginRequest{Profile: "default", Host: e.srv.URL(), PAT: e.pat, Timing: timing, Storage: store.StorageKeyring})
	if err != nil {
		t.Fatal(err)
	}
	r := e.reopen()
	if _, err := r.EnsureFresh(ctx, "default", timing); err != nil { // reads the token into this process
		t.Fatal(err)
	}
	gokeyring.MockInitWithError(errors.New("org.freedesktop.Secret.Error.IsLocked"))
	_, err = r.Rotate(ctx, RotateRequest{Profile: "default", Timing: timing})
	if err == nil || !strings.Contains(err.Error(), "cannot store here") || !strings.Contains(err.Error(), "IsLocked") {
		t.Fatalf("Rotate = %v", err)
	}
	if p := e.profile("default"); p.TokenID != res.TokenID || !e.live(res.TokenID) || len(e.srv.LiveTokens(alice)) != 2 {
		t.Fatalf("after the failed rotation: current %s (want %s), %d live tokens (the PAT and the old one)", p.TokenID, res.TokenID, len(e.srv.LiveTokens(alice)))
	}
}

// staleFirst hands out one snapshot taken earlier, then the store's own.
type staleFirst struct {
	*store.FileStore
	stale *store.State
}

func (s *staleFirst) Load() (*store.State, error) {
	if st := s.stale; st != nil {
		s.stale = nil
		return st, nil
	}
	return s.FileStore.Load()
}

// A reader that read the file just before a rotation with no grace finds
// the old token's entry gone: it reads the file again and hands out the
// new token, not "log in again".
func TestKeyringReaderRacingARotation(t *testing.T) {
	e := keyringEnv(t)
	ctx := context.Background()
	timing := fixed(pol(15*time.Minute, 10*time.Minute, 0))
	if _, err := e.r.Login(ctx, LoginRequest{Profile: "default", Host: e.srv.URL(), PAT: e.pat, Timing: timing, Storage: store.StorageKeyring}); err != nil {
		t.Fatal(err)
	}
	reader := store.NewFileStore(e.dir)
	before, err := reader.Load() // the old token, sealed
	if err != nil {
		t.Fatal(err)
	}
	rot, err := e.reopen().Rotate(ctx, RotateRequest{Profile: "default", Timing: timing})
	if err != nil {
		t.Fatal(err)
	}
	r := e.reopen()
	r.Store = &staleFirst{FileStore: reader, stale: before}
	f, err := r.EnsureFresh(ctx, "default", timing)
	if err != nil || f.TokenID != rot.TokenID {
		t.Fatalf("EnsureFresh = %+v, %v; want the rotated token %s", f, err, rot.TokenID)
	}
}
