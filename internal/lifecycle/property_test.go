package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// The watcher's promise, checked over random policies, suspends and helper
// calls on a fake clock: while it runs and the machine is awake, the
// current token never has less than 30 seconds left, every sink holds a
// live token, and a helper is never handed a token with less than 30
// seconds left. In-memory store, workspace and sinks keep a run at a few
// milliseconds; the file store, the SDK client and the file sinks are
// covered by the other tests.
func TestWatchPropertyTokensStayAlive(t *testing.T) {
	runs := 300
	if testing.Short() {
		runs = 50
	}
	for i := range runs {
		seed := uint64(i) + 1
		t.Run(strconv.Itoa(i), func(t *testing.T) { propertyRun(t, seed) })
	}
}

// randomSettings picks a valid policy, leaving some values to derive.
func randomSettings(r *rand.Rand) policy.Settings {
	for {
		var s policy.Settings
		lifetime := time.Minute + time.Duration(r.Int64N(int64(2*time.Hour)))
		lifetime = lifetime.Truncate(time.Second)
		s.Lifetime = policy.D(lifetime)
		if r.IntN(2) == 0 {
			s.Interval = policy.D(time.Second + time.Duration(r.Int64N(int64(lifetime-time.Second))).Truncate(time.Second))
		}
		if r.IntN(2) == 0 {
			s.Grace = policy.D(time.Duration(r.Int64N(int64(lifetime / 2))).Truncate(time.Second))
		}
		if r.IntN(2) == 0 {
			s.MinTTL = policy.D(policy.ExpiringWindow + time.Duration(r.Int64N(int64(lifetime/2))).Truncate(time.Second))
		}
		if s.Policy().Validate() == nil {
			return s
		}
	}
}

func propertyRun(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 42))
	settings := randomSettings(r)
	pol := settings.Policy()
	clk := clock.NewFake(t0)
	ws := newMemWorkspace(clk)
	// Some workspaces cap token lifetimes below what coda asks for, and
	// the token at login may come from another policy: the watcher must
	// rotate by the real expiry, not by the interval alone.
	if r.IntN(3) == 0 {
		ws.maxLifetime = pol.Margin() + time.Minute + time.Duration(r.Int64N(int64(pol.LifetimeD())))
	}
	st := newMemStore()
	sinks := &memSinks{held: map[string]string{}}

	// Log in: a token of the policy's lifetime, one to three sinks.
	first := ws.mint(time.Minute + time.Duration(r.Int64N(int64(2*time.Hour))))
	var specs []sink.Spec
	for j := range 1 + r.IntN(3) {
		specs = append(specs, sink.Spec{Plugin: "tool" + strconv.Itoa(j), Path: fmt.Sprintf("/sinks/%d", j), Format: sink.FormatFile})
		sinks.held[specs[j].Path] = first.Value
	}
	_ = st.Update(context.Background(), func(s *store.State) error {
		s.Profiles["default"] = &store.Profile{Host: "https://w", User: alice, Token: first.Value, TokenID: first.ID,
			CreatedAt: first.Created, ExpiresAt: first.Expiry, Policy: settings,
			Tools: []store.Tool{{Plugin: "tools", Sinks: specs}}}
		return nil
	})
	e := &Engine{Store: st, Clients: ws.client, Clock: clk, Sinks: sinks,
		Jitter: func(time.Duration) time.Duration { return 0 }, DeleteAttempts: 1, DeleteBackoff: time.Millisecond}

	// Up to 12 hours of fake time, or 25 rotations.
	end := t0.Add(12 * time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var (
		suspendedUntil time.Time // awake checks hold once a rotation follows the last suspend
		failure        string
		wakes, helpers int
	)
	check := func(when string) {
		p := st.profile("default")
		now := clk.Now()
		if !p.CreatedAt.After(suspendedUntil) && !suspendedUntil.IsZero() {
			return // not rotated since the machine woke up: the watcher is catching up
		}
		if left := p.ExpiresAt.Sub(now); left < policy.ExpiringWindow {
			failure = fmt.Sprintf("%s at +%s: the current token has %s left", when, now.Sub(t0), left)
		}
		for _, s := range specs {
			if !ws.live(sinks.get(s.Path)) {
				failure = fmt.Sprintf("%s at +%s: %s holds a dead token", when, now.Sub(t0), s)
			}
		}
	}
	clk.OnSleep = func(time.Duration) {
		wakes++
		check("wake")
		switch n := r.IntN(100); {
		case n < 2: // the laptop sleeps
			d := time.Duration(r.Int64N(int64(pol.LifetimeD()) * 2))
			clk.Advance(d)
			suspendedUntil = clk.Now()
		case n < 20: // an agent's helper asks for a token
			helpers++
			tok, err := e.EnsureFresh(ctx, "default", nil)
			if err == nil && ws.remaining(tok.Token) < policy.ExpiringWindow && st.profile("default").CreatedAt.After(suspendedUntil) {
				failure = fmt.Sprintf("helper at +%s got a token with %s left", clk.Now().Sub(t0), ws.remaining(tok.Token))
			}
		}
		if failure != "" || clk.Now().After(end) || ws.minted() > 25 {
			cancel()
		}
	}
	err := e.Watch(ctx, WatchRequest{Profile: "default"})
	if failure != "" {
		t.Fatalf("policy %+v: %s", pol, failure)
	}
	// The watcher stops on the cancel, or with exit 4 when a suspend
	// outlived the token; nothing else.
	if err != nil && (exit.CodeOf(err) != exit.Auth || st.profile("default").ExpiresAt.After(suspendedUntil)) {
		t.Fatalf("policy %+v: Watch = %v (token expires +%s, last suspend ended +%s)", pol, err,
			st.profile("default").ExpiresAt.Sub(t0), suspendedUntil.Sub(t0))
	}
	if wakes == 0 {
		t.Fatal("the watcher never slept")
	}
}

// memWorkspace is the workspace's token API in memory, on the fake clock:
// unknown, deleted and expired tokens are refused as the real one does.
type memWorkspace struct {
	clk         clock.Clock
	maxLifetime time.Duration // 0: none
	mu          sync.Mutex
	tokens      map[string]*memToken // by value
	n           int
}

type memToken struct {
	info    workspace.TokenInfo
	deleted bool
}

func newMemWorkspace(clk clock.Clock) *memWorkspace {
	return &memWorkspace{clk: clk, tokens: map[string]*memToken{}}
}

func (w *memWorkspace) mint(lifetime time.Duration) workspace.NewToken {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	now := w.clk.Now()
	if w.maxLifetime > 0 {
		lifetime = min(lifetime, w.maxLifetime)
	}
	info := workspace.TokenInfo{ID: fmt.Sprintf("id-%04d", w.n), Comment: "t", Created: now, Expiry: now.Add(lifetime)}
	value := fmt.Sprintf("dapi-prop-%04d", w.n)
	w.tokens[value] = &memToken{info: info}
	return workspace.NewToken{TokenInfo: info, Value: value}
}

func (w *memWorkspace) minted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *memWorkspace) remaining(value string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.tokens[value]
	if t == nil || t.deleted {
		return 0
	}
	return t.info.Expiry.Sub(w.clk.Now())
}

func (w *memWorkspace) live(value string) bool { return w.remaining(value) > 0 }

func (w *memWorkspace) client(host, token string) (workspace.Client, error) {
	return memClient{w: w, token: token}, nil
}

type memClient struct {
	w     *memWorkspace
	token string
}

var errInvalid = &workspace.Error{Kind: workspace.KindInvalidToken, StatusCode: 403, Message: "Invalid access token."}

func (c memClient) auth() error {
	if !c.w.live(c.token) {
		return errInvalid
	}
	return nil
}

func (c memClient) Me(context.Context) (workspace.User, error) {
	return workspace.User{UserName: alice}, c.auth()
}

func (c memClient) CreateToken(_ context.Context, lifetime time.Duration, comment string) (workspace.NewToken, error) {
	if err := c.auth(); err != nil {
		return workspace.NewToken{}, err
	}
	return c.w.mint(lifetime), nil
}

func (c memClient) DeleteToken(_ context.Context, id string) error {
	if err := c.auth(); err != nil {
		return err
	}
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	for _, t := range c.w.tokens {
		if t.info.ID == id {
			t.deleted = true
		}
	}
	return nil
}

func (c memClient) ListTokens(context.Context) ([]workspace.TokenInfo, error) {
	if err := c.auth(); err != nil {
		return nil, err
	}
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	var out []workspace.TokenInfo
	for _, t := range c.w.tokens {
		if !t.deleted && t.info.Expiry.After(c.w.clk.Now()) {
			out = append(out, t.info)
		}
	}
	return out, nil
}

func (c memClient) ServingEndpoints(context.Context) ([]string, error) { return nil, c.auth() }

func (c memClient) Probe(context.Context, string, string, string) (int, string, error) {
	return 0, "", errors.New("not in the property test")
}

// memStore is store.Store in memory: the same copy-on-load and
// update-under-lock contract, without the fsyncs.
type memStore struct {
	mu    sync.Mutex
	data  []byte
	locks sync.Map // profile → chan struct{}
}

func newMemStore() *memStore {
	s := &memStore{}
	s.data, _ = json.Marshal(&store.State{Version: store.FormatVersion, InstallationID: "00112233aabbccdd", Profiles: map[string]*store.Profile{}})
	return s
}

func (s *memStore) Load() (*store.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st store.State
	err := json.Unmarshal(s.data, &st)
	return &st, err
}

func (s *memStore) profile(name string) store.Profile {
	st, _ := s.Load()
	return *st.Profile(name)
}

func (s *memStore) Update(_ context.Context, fn func(*store.State) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st store.State
	if err := json.Unmarshal(s.data, &st); err != nil {
		return err
	}
	if err := fn(&st); err != nil {
		return err
	}
	data, err := json.Marshal(&st)
	if err == nil {
		s.data = data
	}
	return err
}

func (s *memStore) LockProfile(ctx context.Context, profile string) (func(), error) {
	ch, _ := s.locks.LoadOrStore(profile, make(chan struct{}, 1))
	select {
	case ch.(chan struct{}) <- struct{}{}:
		return sync.OnceFunc(func() { <-ch.(chan struct{}) }), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *memStore) Path() string { return "memory" }

// memSinks holds what each sink holds.
type memSinks struct {
	mu   sync.Mutex
	held map[string]string
}

func (m *memSinks) Put(s sink.Spec, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held[s.Path] = token
	return nil
}

func (m *memSinks) Get(s sink.Spec) (string, error) { return m.get(s.Path), nil }

func (m *memSinks) get(path string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held[path]
}
