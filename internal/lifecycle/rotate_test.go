package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"context"
	"errors"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/sink"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// ---------------------------------------------------------------------------
// Harness: a fake workspace and a Rotator sharing one fake clock, a file
// store in a temp dir, and the real SDK client.

const alice = "alice@example.com"

// t0 has no sub-millisecond part: the workspace sends times in milliseconds.
var t0 = time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)

type env struct {
	t      *testing.T
	clk    *clock.Fake
	srv    *fakeworkspace.Server
	dir    string
	st     *store.FileStore
	r      *Engine
	events *eventLog
	patID  string // the user's own PAT, which coda must never touch
	pat    string
	sinks  *recConsumer // profiles logged in after use get its sink
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	srv := fakeworkspace.New(fakeworkspace.Options{
		Clock:        clk,
		OnUnexpected: func(msg string) { t.Errorf("%s", msg) },
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddUser(alice, "Alice Example")
	pat, patID := srv.IssuePAT(alice, "laptop", 0)
	dir := filepath.Join(t.TempDir(), "coda") // coda makes it 0700, whatever the umask
	e := &env{
		t:      t,
		clk:    clk,
		srv:    srv,
		dir:    dir,
		st:     store.NewFileStore(dir),
		events: &eventLog{},
		pat:    pat,
		patID:  patID,
	}
	e.r = &Engine{
		Store:          e.st,
		Clients:        workspace.NewSDKClient,
		Clock:          clk,
		Events:         e.events.add,
		Jitter:         func(time.Duration) time.Duration { return 0 },
		DeleteAttempts: 3,
		DeleteBackoff:  time.Millisecond,
	}
	return e
}

// installID returns the store's installation id, assigning one if needed
// (as coda login does).
func (e *env) installID() string {
	e.t.Helper()
	var id string
	if err := e.st.Update(context.Background(), func(s *store.State) error { id = s.InstallationID; return nil }); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// patClient is an SDK client authenticated with the user's PAT.
func (e *env) patClient() workspace.Client {
	e.t.Helper()
	c, err := workspace.NewSDKClient(e.srv.URL(), e.pat)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// mint creates a token with the user's PAT and the given comment, as coda
// on another machine or another profile would.
func (e *env) mint(lifetime time.Duration, comment string) workspace.NewToken {
	e.t.Helper()
	tok, err := e.patClient().CreateToken(context.Background(), lifetime, comment)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// login does what coda login does: mint a tagged token with the pasted PAT
// and store it as the profile's token. It forgets the requests it made.
func (e *env) login(profile string, lifetime time.Duration) store.Profile {
	e.t.Helper()
	tag := e.tagOf(profile)
	tok := e.mint(lifetime, tag.Comment())
	p := store.Profile{
		Host: e.srv.URL(), User: alice,
		Token: tok.Value, TokenID: tok.ID,
		CreatedAt: tok.Created, ExpiresAt: tok.Expiry,
	}
	if e.sinks != nil {
		p.Tools = []store.Tool{{Plugin: e.sinks.name, Sinks: []sink.Spec{e.sinks.sinkFor(e.dir, profile)}}}
	}
	if err := e.st.Update(context.Background(), func(s *store.State) error {
		cp := p
		s.Profiles[profile] = &cp
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	// Count only what the code under test asks for.
	e.srv.ResetRequests()
	return p
}

func (e *env) profile(name string) store.Profile {
	e.t.Helper()
	st, err := e.st.Load()
	if err != nil {
		e.t.Fatal(err)
	}
	p := st.Profile(name)
	if p == nil {
		e.t.Fatalf("profile %q missing from the store", name)
	}
	return *p
}

func (e *env) live(id string) bool {
	for _, ti := range e.srv.LiveTokens(alice) {
		if ti.ID == id {
			return true
		}
	}
	return false
}

// liveTagged returns the ids of live tokens carrying exactly this tag.
// tagOf is the tag of profile's tokens in the test's store.
func (e *env) tagOf(profile string) Tag {
	return Tag{InstallationID: e.installID(), Profile: profile, Store: StoreID(e.installID(), e.st.Path())}
}

func (e *env) liveTagged(tag Tag) []string {
	var ids []string
	for _, ti := range e.srv.LiveTokens(alice) {
		if got, ok := ParseTag(ti.Comment); ok && got == tag {
			ids = append(ids, ti.ID)
		}
	}
	return ids
}

func (e *env) liveComment(id string) (string, bool) {
	for _, ti := range e.srv.LiveTokens(alice) {
		if ti.ID == id {
			return ti.Comment, true
		}
	}
	return "", false
}

// requests returns the recorded requests for method and path.
func (e *env) requests(method, path string) []fakeworkspace.Request {
	var out []fakeworkspace.Request
	for _, r := range e.srv.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) creates() []fakeworkspace.Request {
	return e.requests(http.MethodPost, fakeworkspace.PathTokenCreate)
}

func (e *env) deletes() []fakeworkspace.Request {
	return e.requests(http.MethodPost, fakeworkspace.PathTokenDelete)
}

// pol is a policy with min-ttl 5m.
func pol(lifetime, interval, grace time.Duration) policy.Policy {
	return policy.Policy{Lifetime: policy.Duration(lifetime), Interval: policy.Duration(interval),
		Grace: policy.Duration(grace), MinTTL: policy.Duration(5 * time.Minute)}
}

// fixed is a Timing that puts p in force and stores it.
func fixed(p policy.Policy) Timing {
	return func(policy.Settings) (policy.Policy, policy.Settings, error) {
		return p, policy.Settings{Lifetime: &p.Lifetime, Interval: &p.Interval, Grace: &p.Grace, MinTTL: &p.MinTTL}, nil
	}
}

// opts is a one-shot rotation of 15-minute tokens with the given grace.
func opts(profile string, grace time.Duration) RotateRequest {
	return RotateRequest{Profile: profile, Timing: fixed(pol(15*time.Minute, time.Minute, grace))}
}

// eventLog records events; Events may be called from any goroutine.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *eventLog) of(kind string) []Event {
	var out []Event
	for _, e := range l.all() {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (l *eventLog) kinds() []string {
	var out []string
	for _, e := range l.all() {
		out = append(out, e.Kind)
	}
	return out
}

// recConsumer is a SinkWriter over real files that records every
// delivery of a new token; onRotated runs inside Put, before the write. Profiles get its
// sink through env.use.
type recConsumer struct {
	name      string
	onRotated func(ctx context.Context, profile string, p store.Profile) error

	st       store.Store
	mu       sync.Mutex
	profiles []string
	rotated  []store.Profile
	revoked  int
}

// sinkFor is the test sink of profile: a token file named after it.
func (c *recConsumer) sinkFor(dir, profile string) sink.Spec {
	return sink.Spec{Plugin: c.name, Path: filepath.Join(dir, "sinks", c.name+"-"+profile+".token"), Format: sink.FormatFile}
}

func (c *recConsumer) Put(s sink.Spec, token string) error {
	profile := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(s.Path), c.name+"-"), ".token")
	if token == "" {
		c.mu.Lock()
		c.revoked++
		c.mu.Unlock()
		return sink.Writer{}.Put(s, token)
	}
	if got, _ := c.Get(s); got == token {
		return nil // delivered before: a re-check at a deletion pass
	}
	st, err := c.st.Load()
	if err != nil {
		return err
	}
	p := *st.Profile(profile)
	c.mu.Lock()
	c.profiles = append(c.profiles, profile)
	c.rotated = append(c.rotated, p)
	c.mu.Unlock()
	if c.onRotated != nil {
		if err := c.onRotated(context.Background(), profile, p); err != nil {
			return err
		}
	}
	return sink.Writer{}.Put(s, token)
}

func (c *recConsumer) Get(s sink.Spec) (string, error) { return sink.Writer{}.Get(s) }

func (c *recConsumer) calls() []store.Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.rotated)
}

// use makes c the engine's sink writer and gives every profile its sink.
func (e *env) use(c *recConsumer) {
	e.t.Helper()
	c.st = e.st
	e.r.Sinks = c
	e.sinks = c
	if err := e.st.Update(context.Background(), func(s *store.State) error {
		for _, name := range s.ProfileNames() {
			s.Profile(name).Tools = []store.Tool{{Plugin: c.name, Sinks: []sink.Spec{c.sinkFor(e.dir, name)}}}
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// hookClient wraps the real SDK client to act right before or after a real
// create: the only way to reach paths that depend on what happens while the
// create is in flight or between its answer and the store write.
type hookClient struct {
	workspace.Client
	beforeCreate func()
	afterCreate  func(*workspace.NewToken)
}

func (h hookClient) CreateToken(ctx context.Context, lifetime time.Duration, comment string) (workspace.NewToken, error) {
	if h.beforeCreate != nil {
		h.beforeCreate()
	}
	tok, err := h.Client.CreateToken(ctx, lifetime, comment)
	if err == nil && h.afterCreate != nil {
		h.afterCreate(&tok)
	}
	return tok, err
}

func withCreateHook(f func(*workspace.NewToken)) workspace.Factory {
	return withHooks(nil, f)
}

func withHooks(before func(), after func(*workspace.NewToken)) workspace.Factory {
	return func(host, token string) (workspace.Client, error) {
		c, err := workspace.NewSDKClient(host, token)
		if err != nil {
			return nil, err
		}
		return hookClient{Client: c, beforeCreate: before, afterCreate: after}, nil
	}
}

func pendingIDs(ps []store.Pending) []string {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.TokenID)
	}
	return ids
}

// ---------------------------------------------------------------------------
// Rotate

func TestRotateStoresNewTokenAndKeepsOldPending(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	now := e.clk.Now()

	type seen struct{ oldLive, newLive, newStored bool }
	var during []seen
	c := &recConsumer{name: "rec", onRotated: func(_ context.Context, _ string, p store.Profile) error {
		// The consumer must get the new token while the old one still
		// works, and after the new one is safely stored.
		during = append(during, seen{oldLive: e.live(old.TokenID), newLive: e.live(p.TokenID),
			newStored: e.profile("default").TokenID == p.TokenID})
		return nil
	}}
	e.use(c)

	res, err := e.r.Rotate(context.Background(), opts("default", 2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	p := e.profile("default")
	if p.TokenID == old.TokenID || p.Token == old.Token || p.Token == "" {
		t.Fatalf("stored token not replaced: %v", p)
	}
	if res.Skipped || res.TokenID != p.TokenID || !res.ExpiresAt.Equal(now.Add(15*time.Minute)) {
		t.Errorf("result = %+v, stored %v", res, p)
	}
	if !p.CreatedAt.Equal(now) || !p.ExpiresAt.Equal(now.Add(15*time.Minute)) || !p.LastRotation.Equal(now) {
		t.Errorf("times: created %s expires %s last rotation %s, want %s / +15m / %s", p.CreatedAt, p.ExpiresAt, p.LastRotation, now, now)
	}
	if p.Host != old.Host || p.User != old.User {
		t.Errorf("host/user changed: %v", p)
	}
	if id, ok := e.srv.TokenIDForValue(p.Token); !ok || id != p.TokenID {
		t.Errorf("stored value belongs to %q (known %v), stored id %q", id, ok, p.TokenID)
	}
	if !e.live(p.TokenID) {
		t.Error("new token is not live on the server")
	}
	if !e.live(old.TokenID) {
		t.Error("old token deleted before its grace ended")
	}
	wantPending := []store.Pending{{TokenID: old.TokenID, DeleteAfter: now.Add(2 * time.Minute), ExpiresAt: old.ExpiresAt}}
	if !slices.EqualFunc(p.Pending, wantPending, pendingEqual) {
		t.Errorf("pending = %+v, want %+v", p.Pending, wantPending)
	}
	if !slices.EqualFunc(res.Pending, wantPending, pendingEqual) || len(res.Deleted) != 0 || len(res.OrphansDeleted) != 0 || len(res.Warnings) != 0 {
		t.Errorf("result = %+v", res)
	}
	tag := e.tagOf("default")
	if comment, ok := e.liveComment(p.TokenID); !ok || comment != tag.Comment() {
		t.Errorf("new token comment = %q, want %q", comment, tag.Comment())
	}

	calls := c.calls()
	if len(calls) != 1 || c.profiles[0] != "default" {
		t.Fatalf("consumer calls = %v for %v", calls, c.profiles)
	}
	if calls[0].Token != p.Token || calls[0].TokenID != p.TokenID || calls[0].Host != old.Host ||
		!calls[0].ExpiresAt.Equal(p.ExpiresAt) {
		t.Errorf("consumer got %v, want the new token %v", calls[0], p)
	}
	if during[0] != (seen{oldLive: true, newLive: true, newStored: true}) {
		t.Errorf("while the consumer ran: %+v, want old and new live and new stored", during[0])
	}
	if c.revoked != 0 {
		t.Errorf("TokenRevoked called %d times during a rotation", c.revoked)
	}

	// The create is authenticated by the old token, the verification list
	// by the new one.
	creates := e.creates()
	if len(creates) != 1 || creates[0].TokenID != old.TokenID || creates[0].Status != http.StatusOK {
		t.Errorf("create requests = %+v", creates)
	}
	lists := e.requests(http.MethodGet, fakeworkspace.PathTokenList)
	if len(lists) != 1 || lists[0].TokenID != p.TokenID {
		t.Errorf("list requests = %+v, want one with the new token %s", lists, p.TokenID)
	}
	if len(e.deletes()) != 0 {
		t.Errorf("delete requests during the grace: %+v", e.deletes())
	}
	rot := e.events.of(EventRotated)
	if len(rot) != 1 || rot[0].TokenID != p.TokenID || rot[0].Profile != "default" || !rot[0].Time.Equal(now) ||
		strings.Contains(rot[0].Message, old.TokenID) {
		t.Errorf("rotated events = %+v", rot)
	}
}

func pendingEqual(a, b store.Pending) bool {
	return a.TokenID == b.TokenID && a.DeleteAfter.Equal(b.DeleteAfter) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.Attempts == b.Attempts && a.LastError == b.LastError
}

func TestRotateGraceZeroDeletesOldAtOnce(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	var oldLiveInConsumer []bool
	e.use(&recConsumer{name: "rec", onRotated: func(context.Context, string, store.Profile) error {
		oldLiveInConsumer = append(oldLiveInConsumer, e.live(old.TokenID))
		return nil
	}})

	res, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(oldLiveInConsumer, []bool{true}) {
		t.Errorf("old token live while the consumer ran: %v, want [true] (consumers first, then delete)", oldLiveInConsumer)
	}
	if !slices.Equal(res.Deleted, []string{old.TokenID}) || len(res.Pending) != 0 {
		t.Errorf("deleted %v pending %+v, want old deleted and nothing pending", res.Deleted, res.Pending)
	}
	p := e.profile("default")
	if len(p.Pending) != 0 {
		t.Errorf("stored pending = %+v", p.Pending)
	}
	tag := e.tagOf("default")
	if live := e.liveTagged(tag); !slices.Equal(live, []string{p.TokenID}) {
		t.Errorf("live coda tokens = %v, want only the new %s", live, p.TokenID)
	}
	if !e.live(e.patID) {
		t.Error("the user's PAT was deleted")
	}
	dels := e.deletes()
	if len(dels) != 1 || dels[0].TokenID != p.TokenID {
		t.Errorf("delete requests = %+v, want one authenticated by the new token", dels)
	}
	if ev := e.events.of(EventDeleted); len(ev) != 1 || ev[0].TokenID != old.TokenID {
		t.Errorf("deleted events = %+v", ev)
	}
}

func TestRotateGraceKeepsOldUntilDue(t *testing.T) {
	e := newEnv(t)
	a := e.login("default", 15*time.Minute)
	ctx := context.Background()
	grace := 2 * time.Minute

	e.clk.Advance(time.Minute) // t0+1m: A pending until t0+3m
	if _, err := e.r.Rotate(ctx, opts("default", grace)); err != nil {
		t.Fatal(err)
	}
	b := e.profile("default")

	e.clk.Advance(time.Minute) // t0+2m: A not due yet; B pending until t0+4m
	res, err := e.r.Rotate(ctx, opts("default", grace))
	if err != nil {
		t.Fatal(err)
	}
	c := e.profile("default")
	if len(res.Deleted) != 0 || !slices.Equal(pendingIDs(c.Pending), []string{a.TokenID, b.TokenID}) {
		t.Fatalf("at t0+2m deleted %v pending %v, want nothing deleted and A, B pending", res.Deleted, pendingIDs(c.Pending))
	}
	if !e.live(a.TokenID) || !e.live(b.TokenID) {
		t.Fatal("a token was deleted during its grace")
	}
	if n := len(e.deletes()); n != 0 {
		t.Fatalf("%d delete requests before any grace ended", n)
	}

	e.clk.Advance(time.Minute) // t0+3m: A due (exactly at DeleteAfter), B not
	res, err = e.r.Rotate(ctx, opts("default", grace))
	if err != nil {
		t.Fatal(err)
	}
	d := e.profile("default")
	if !slices.Equal(res.Deleted, []string{a.TokenID}) {
		t.Errorf("deleted %v, want [A]", res.Deleted)
	}
	if !slices.Equal(pendingIDs(d.Pending), []string{b.TokenID, c.TokenID}) || !slices.Equal(pendingIDs(res.Pending), pendingIDs(d.Pending)) {
		t.Errorf("pending %v (result %v), want B, C", pendingIDs(d.Pending), pendingIDs(res.Pending))
	}
	if e.live(a.TokenID) || !e.live(b.TokenID) || !e.live(c.TokenID) || !e.live(d.TokenID) {
		t.Errorf("live: A %v B %v C %v D %v, want only A gone", e.live(a.TokenID), e.live(b.TokenID), e.live(c.TokenID), e.live(d.TokenID))
	}
}

func TestRotateMinRemaining(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	ctx := context.Background()
	o := opts("default", 0)
	o.MinRemaining = 5 * time.Minute
	e.srv.ResetRequests()

	for _, at := range []time.Duration{time.Minute, 10 * time.Minute} { // 14m and exactly 5m left
		e.clk.Set(t0.Add(at))
		res, err := e.r.Rotate(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Skipped || res.TokenID != old.TokenID || !res.ExpiresAt.Equal(old.ExpiresAt) {
			t.Errorf("at t0+%s: result %+v, want skipped with the old token", at, res)
		}
		if reqs := e.srv.Requests(); len(reqs) != 0 {
			t.Fatalf("at t0+%s: requests %+v while enough lifetime remains", at, reqs)
		}
		if p := e.profile("default"); p.TokenID != old.TokenID || !p.LastRotation.IsZero() {
			t.Errorf("store changed by a skipped rotation: %v", p)
		}
	}

	e.clk.Set(t0.Add(10*time.Minute + time.Second)) // 4m59s left
	res, err := e.r.Rotate(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.TokenID == old.TokenID || len(e.creates()) != 1 {
		t.Errorf("below MinRemaining: result %+v, %d creates; want a rotation", res, len(e.creates()))
	}
	if p := e.profile("default"); p.TokenID != res.TokenID {
		t.Errorf("stored %s, result %s", p.TokenID, res.TokenID)
	}
}

// Concurrent `coda token` calls check MinRemaining under the profile lock,
// so only one of them rotates.
func TestRotateMinRemainingConcurrentRotatesOnce(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	e.clk.Advance(11 * time.Minute)
	o := opts("default", 2*time.Minute)
	o.MinRemaining = 5 * time.Minute

	const n = 4
	results := make([]*RotateResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		// Separate Rotators over separate FileStores on one dir, like
		// separate processes.
		r := *e.r
		r.Store = store.NewFileStore(e.dir)
		wg.Go(func() { results[i], errs[i] = r.Rotate(context.Background(), o) })
	}
	wg.Wait()
	rotated := 0
	final := e.profile("default")
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("rotation %d: %v", i, errs[i])
		}
		if !results[i].Skipped {
			rotated++
		}
		if results[i].TokenID != final.TokenID {
			t.Errorf("rotation %d reports %s, stored %s", i, results[i].TokenID, final.TokenID)
		}
	}
	if rotated != 1 || len(e.creates()) != 1 {
		t.Errorf("%d rotations, %d creates; want exactly one", rotated, len(e.creates()))
	}
}

func TestRotateLostCreateResponseSweepsOrphan(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	install := e.installID()
	ours := e.tagOf("default")
	// Tokens that look like coda's but belong to someone else.
	otherInstall := e.mint(15*time.Minute, Tag{InstallationID: "0123456789abcdef", Profile: "default"}.Comment())
	otherProfile := e.mint(15*time.Minute, e.tagOf("work").Comment())
	untagged := e.mint(15*time.Minute, "coda: install="+install) // no profile: not a coda tag
	_, notebookID := e.srv.IssuePAT(alice, "notebook job", time.Hour)
	foreign := []string{e.patID, otherInstall.ID, otherProfile.ID, untagged.ID, notebookID}

	e.clk.Advance(10 * time.Minute)
	c := &recConsumer{name: "rec"}
	e.use(c)
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 1, Status: 500, AfterHandler: true})

	_, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err == nil {
		t.Fatal("Rotate succeeded although the create answer was lost")
	}
	if workspace.KindOf(err) != workspace.KindTransient || exit.CodeOf(err) == exit.Auth {
		t.Errorf("error %v: kind %v code %d, want a transient, non-auth error", err, workspace.KindOf(err), exit.CodeOf(err))
	}
	p := e.profile("default")
	if p.TokenID != old.TokenID || p.Token != old.Token || len(p.Pending) != 0 || !p.LastRotation.IsZero() {
		t.Fatalf("store changed by a failed rotation: %v", p)
	}
	if len(c.calls()) != 0 {
		t.Errorf("consumer told about a token that was never stored: %v", c.calls())
	}
	var orphan string
	for _, id := range e.liveTagged(ours) {
		if id != old.TokenID {
			if orphan != "" {
				t.Fatalf("more than one orphan: %v", e.liveTagged(ours))
			}
			orphan = id
		}
	}
	if orphan == "" {
		t.Fatal("the lost create left no token on the server; the fault did not work")
	}

	res, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.OrphansDeleted, []string{orphan}) {
		t.Errorf("orphans deleted %v, want [%s]", res.OrphansDeleted, orphan)
	}
	if !slices.Equal(res.Deleted, []string{old.TokenID}) {
		t.Errorf("deleted %v, want the old token", res.Deleted)
	}
	now := e.profile("default")
	if live := e.liveTagged(ours); !slices.Equal(live, []string{now.TokenID}) {
		t.Errorf("live tokens of this profile = %v, want only %s", live, now.TokenID)
	}
	for _, id := range foreign {
		if !e.live(id) {
			t.Errorf("token %s of someone else was swept", id)
		}
	}
	if ev := e.events.of(EventOrphanDeleted); len(ev) != 1 || ev[0].TokenID != orphan {
		t.Errorf("orphan events = %+v", ev)
	}

	// A later rotation finds nothing more to sweep.
	res, err = e.r.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.OrphansDeleted) != 0 {
		t.Errorf("swept %v, want nothing", res.OrphansDeleted)
	}
	for _, id := range foreign {
		if !e.live(id) {
			t.Errorf("token %s of someone else was swept", id)
		}
	}
}

func TestRotateDeleteFailureStaysPending(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	e.r.DeleteAttempts = 3
	e.r.DeleteBackoff = 10 * time.Millisecond
	var sleeps []time.Duration
	e.clk.OnSleep = func(d time.Duration) { sleeps = append(sleeps, d) }
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Times: 3, Status: 500})

	res, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatalf("a failed delete failed the rotation: %v", err)
	}
	mid := e.profile("default")
	if mid.TokenID == old.TokenID || res.TokenID != mid.TokenID {
		t.Fatalf("rotation did not happen: %v", mid)
	}
	if len(res.Deleted) != 0 {
		t.Errorf("deleted %v although every delete failed", res.Deleted)
	}
	for name, ps := range map[string][]store.Pending{"stored": mid.Pending, "result": res.Pending} {
		if len(ps) != 1 || ps[0].TokenID != old.TokenID || ps[0].Attempts != 3 || !strings.Contains(ps[0].LastError, "500") {
			t.Errorf("%s pending = %+v, want the old token with 3 attempts and the 500", name, ps)
		}
	}
	dels := e.deletes()
	if len(dels) != 3 {
		t.Errorf("%d delete requests, want 3", len(dels))
	}
	for _, d := range dels {
		if d.Status != 500 {
			t.Errorf("delete answered %d", d.Status)
		}
	}
	if !slices.Equal(sleeps, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}) {
		t.Errorf("delete backoff sleeps = %v, want [10ms 20ms]", sleeps)
	}
	if !e.live(old.TokenID) {
		t.Error("old token gone although its deletes failed")
	}
	if ev := e.events.of(EventDeleteFailed); len(ev) != 1 || ev[0].TokenID != old.TokenID {
		t.Errorf("delete_failed events = %+v", ev)
	}

	res, err = e.r.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, []string{old.TokenID, mid.TokenID}) || len(res.Pending) != 0 {
		t.Errorf("second rotation deleted %v pending %+v, want both old tokens gone", res.Deleted, res.Pending)
	}
	if p := e.profile("default"); len(p.Pending) != 0 {
		t.Errorf("stored pending = %+v", p.Pending)
	}
	if e.live(old.TokenID) || e.live(mid.TokenID) {
		t.Error("old tokens still live")
	}
}

func TestRotateDeletePermanentErrorIsNotRetried(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Times: 1, Status: 403})

	res, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.deletes()); n != 1 {
		t.Errorf("%d delete requests for a permission error, want 1", n)
	}
	if len(res.Pending) != 1 || res.Pending[0].TokenID != old.TokenID || res.Pending[0].Attempts != 1 ||
		!strings.Contains(res.Pending[0].LastError, "403") {
		t.Errorf("pending = %+v", res.Pending)
	}
}

// An interrupt is not a failed delete: when Ctrl-C cuts the delete short,
// the old token stays pending as it was, with no attempt or error recorded
// (coda status would otherwise report "failed 1 times: context canceled"
// for a request that was never sent). A real failure before the interrupt
// is still recorded.
func TestRotateInterruptedDeleteIsNotAFailure(t *testing.T) {
	t.Run("before any answer", func(t *testing.T) {
		e := newEnv(t)
		old := e.login("default", 15*time.Minute)
		e.clk.Advance(10 * time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		e.use(&recConsumer{name: "rec", onRotated: func(context.Context, string, store.Profile) error {
			cancel()
			return nil
		}})
		res, err := e.r.Rotate(ctx, opts("default", 0))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Pending{{TokenID: old.TokenID, DeleteAfter: e.clk.Now(), ExpiresAt: old.ExpiresAt}}
		if p := e.profile("default"); !slices.EqualFunc(p.Pending, want, pendingEqual) || !slices.EqualFunc(res.Pending, want, pendingEqual) {
			t.Errorf("pending stored %+v, result %+v; want %+v", p.Pending, res.Pending, want)
		}
		if n := len(e.deletes()); n != 0 {
			t.Errorf("%d delete requests after the interrupt", n)
		}
		if n := len(e.events.of(EventDeleteFailed)); n != 0 {
			t.Errorf("%d delete_failed events for an interrupt", n)
		}
		// The next rotation deletes it.
		res, err = e.r.Rotate(context.Background(), opts("default", 0))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(res.Deleted, old.TokenID) || e.live(old.TokenID) {
			t.Errorf("deleted %v", res.Deleted)
		}
	})
	t.Run("after a real failure", func(t *testing.T) {
		e := newEnv(t)
		old := e.login("default", 15*time.Minute)
		e.clk.Advance(10 * time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Times: 1, Status: 500})
		e.clk.OnSleep = func(time.Duration) { cancel() } // Ctrl-C during the delete backoff
		res, err := e.r.Rotate(ctx, opts("default", 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Pending) != 1 || res.Pending[0].TokenID != old.TokenID || res.Pending[0].Attempts != 1 ||
			!strings.Contains(res.Pending[0].LastError, "500") {
			t.Errorf("pending %+v, want the 500 recorded once", res.Pending)
		}
		if n := len(e.deletes()); n != 1 {
			t.Errorf("%d delete requests, want 1", n)
		}
	})
}

func TestRotateVerifyRejectedRollsBack(t *testing.T) {
	e := newEnv(t)
	a := e.login("default", 15*time.Minute)
	ctx := context.Background()
	e.clk.Advance(5 * time.Minute)
	if _, err := e.r.Rotate(ctx, opts("default", 2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	b := e.profile("default") // current; A pending
	c := &recConsumer{name: "rec"}
	e.use(c)

	e.clk.Advance(time.Minute)
	now := e.clk.Now()
	before := e.creates()
	e.srv.AddFault(http.MethodGet, fakeworkspace.PathTokenList, fakeworkspace.Fault{Times: 1, Status: 403, Message: "Invalid access token."})
	_, err := e.r.Rotate(ctx, opts("default", 2*time.Minute))
	if err == nil {
		t.Fatal("Rotate succeeded although the workspace rejected the new token")
	}
	if !strings.Contains(err.Error(), "rejected") || exit.CodeOf(err) == exit.Auth {
		t.Errorf("error %q (code %d)", err, exit.CodeOf(err))
	}
	if len(e.creates()) != len(before)+1 {
		t.Fatalf("no token was created")
	}
	var fresh string
	for _, id := range e.liveTagged(e.tagOf("default")) {
		if id != a.TokenID && id != b.TokenID {
			fresh = id
		}
	}
	if fresh == "" {
		t.Fatal("cannot find the rejected token on the server")
	}

	p := e.profile("default")
	if p.Token != b.Token || p.TokenID != b.TokenID || !p.ExpiresAt.Equal(b.ExpiresAt) || !p.LastRotation.Equal(b.LastRotation) {
		t.Errorf("store not rolled back: %v, want %v", p, b)
	}
	want := []store.Pending{
		b.Pending[0], // A, untouched
		{TokenID: fresh, DeleteAfter: now, ExpiresAt: now.Add(15 * time.Minute)},
	}
	if !slices.EqualFunc(p.Pending, want, pendingEqual) {
		t.Errorf("pending = %+v, want %+v (the current token must not be queued)", p.Pending, want)
	}
	if len(c.calls()) != 0 {
		t.Errorf("consumer given a rejected token: %v", c.calls())
	}

	// The next rotation deletes the rejected token straight away.
	res, err := e.r.Rotate(ctx, opts("default", 2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Deleted, fresh) || e.live(fresh) {
		t.Errorf("deleted %v; rejected token %s live %v", res.Deleted, fresh, e.live(fresh))
	}
}

// A list that fails for another reason is only a warning: the rotation
// stands, and no sweep runs on a listing we do not have.
func TestRotateVerifyUnavailableWarns(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	orphan := e.mint(15*time.Minute, e.tagOf("default").Comment())
	e.clk.Advance(10 * time.Minute)
	e.srv.AddFault(http.MethodGet, fakeworkspace.PathTokenList, fakeworkspace.Fault{Times: 1, Status: 503})

	res, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if p := e.profile("default"); p.TokenID != res.TokenID {
		t.Errorf("stored %s, result %s", p.TokenID, res.TokenID)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "could not verify") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	if len(e.events.of(EventVerifyFailed)) != 1 {
		t.Errorf("events = %v", e.events.kinds())
	}
	if len(res.OrphansDeleted) != 0 || !e.live(orphan.ID) {
		t.Errorf("swept %v without a listing", res.OrphansDeleted)
	}
}

// Defect 1 of the lifecycle issue: a tool that cannot take the new token
// must not lose the old one. The rotation stores the new token, reports
// the sink, and keeps the old token pending (held) even with --grace 0s;
// once the sink takes the token, the next deletion pass deletes it.
func TestRotateSinkFailureKeepsOldToken(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	broken := true
	c := &recConsumer{name: "rec", onRotated: func(context.Context, string, store.Profile) error {
		if broken {
			return errors.New("disk full")
		}
		return nil
	}}
	e.use(c)
	res, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SinkFailures) != 1 || !strings.Contains(res.SinkFailures[0].Error(), "disk full") {
		t.Fatalf("sink failures = %v", res.SinkFailures)
	}
	if len(res.Deleted) != 0 || !e.live(old.TokenID) {
		t.Fatalf("deleted %v (old live %v): the old token was deleted while a tool may hold it", res.Deleted, e.live(old.TokenID))
	}
	p := e.profile("default")
	if len(p.Pending) != 1 || p.Pending[0].TokenID != old.TokenID || !strings.Contains(p.Pending[0].HeldBy, "disk full") {
		t.Fatalf("pending = %+v, want the old token held by the sink", p.Pending)
	}
	if ev := e.events.of(EventSinkFailed); len(ev) != 1 {
		t.Errorf("sink_failed events = %+v", ev)
	}
	if ev := e.events.of(EventDeleteHeld); len(ev) != 1 || ev[0].TokenID != old.TokenID {
		t.Errorf("delete_held events = %+v", ev)
	}

	// The file is fixed: the next pass delivers and deletes.
	broken = false
	deleted, pending, held, err := e.r.DeleteDue(context.Background(), "default")
	if err != nil || len(held) != 0 {
		t.Fatalf("DeleteDue: %v, held %v", err, held)
	}
	if !slices.Equal(deleted, []string{old.TokenID}) || len(pending) != 0 || e.live(old.TokenID) {
		t.Errorf("deleted %v pending %+v old live %v", deleted, pending, e.live(old.TokenID))
	}
	if got, _ := c.Get(c.sinkFor(e.dir, "default")); got != p.Token {
		t.Errorf("the sink does not hold the current token")
	}
}

// An old token that expires while a sink is broken is dropped without a
// request: it cannot be used anyway.
func TestRotateHeldTokenDroppedAtExpiry(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	e.use(&recConsumer{name: "rec", onRotated: func(context.Context, string, store.Profile) error {
		return errors.New("read-only file system")
	}})
	if _, err := e.r.Rotate(context.Background(), opts("default", 0)); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(5 * time.Minute) // the old token has expired
	e.srv.ResetRequests()
	deleted, pending, held, err := e.r.DeleteDue(context.Background(), "default")
	if err != nil || len(held) != 1 || len(deleted) != 0 || len(pending) != 0 {
		t.Fatalf("DeleteDue: deleted %v pending %+v held %v err %v", deleted, pending, held, err)
	}
	if n := len(e.deletes()); n != 0 {
		t.Errorf("%d delete requests for an expired token", n)
	}
	if ev := e.events.of(EventExpiredDropped); len(ev) != 1 || ev[0].TokenID != old.TokenID {
		t.Errorf("expired_dropped events = %+v", ev)
	}
}

func TestRotateDeadToken(t *testing.T) {
	for _, profile := range []string{"default", "work"} {
		t.Run("revoked/"+profile, func(t *testing.T) {
			e := newEnv(t)
			old := e.login(profile, 15*time.Minute)
			e.clk.Advance(10 * time.Minute)
			if !e.srv.RevokeToken(old.TokenID) {
				t.Fatal("revoke failed")
			}
			_, err := e.r.Rotate(context.Background(), opts(profile, 0))
			assertLoginRequired(t, err, profile, "rejected the token")
			if p := e.profile(profile); p.TokenID != old.TokenID || len(p.Pending) != 0 {
				t.Errorf("store changed: %v", p)
			}
			if reqs := e.srv.Requests(); len(reqs) != 1 || reqs[0].Path != fakeworkspace.PathTokenCreate || reqs[0].Status != 403 {
				t.Errorf("requests = %+v, want one rejected create", reqs)
			}
		})
		t.Run("expired/"+profile, func(t *testing.T) {
			e := newEnv(t)
			e.login(profile, 15*time.Minute)
			e.clk.Advance(15 * time.Minute) // exactly at expiry: dead
			e.srv.ResetRequests()
			_, err := e.r.Rotate(context.Background(), opts(profile, 0))
			assertLoginRequired(t, err, profile, "expired at")
			if reqs := e.srv.Requests(); len(reqs) != 0 {
				t.Errorf("requests made with an expired token: %+v", reqs)
			}
		})
	}
	t.Run("not logged in", func(t *testing.T) {
		e := newEnv(t)
		e.login("default", 15*time.Minute)
		e.srv.ResetRequests()
		_, err := e.r.Rotate(context.Background(), opts("work", 0))
		assertLoginRequired(t, err, "work", "not logged in")
		if reqs := e.srv.Requests(); len(reqs) != 0 {
			t.Errorf("requests = %+v", reqs)
		}
	})
}

func assertLoginRequired(t *testing.T, err error, profile, why string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if exit.CodeOf(err) != exit.Auth {
		t.Errorf("exit code %d for %q, want %d", exit.CodeOf(err), err, exit.Auth)
	}
	want := "run: coda login"
	if profile != "default" {
		want += " -p " + profile
	}
	if !strings.HasSuffix(err.Error(), want) || !strings.Contains(err.Error(), why) {
		t.Errorf("error %q, want it to mention %q and end with %q", err, why, want)
	}
}

func TestRotateDropsExpiredPendingWithoutRequest(t *testing.T) {
	e := newEnv(t)
	a := e.login("default", 15*time.Minute)
	ctx := context.Background()
	e.clk.Advance(10 * time.Minute)
	// A grace longer than A's remaining life: A expires (t0+15m) before its
	// delete is due (t0+20m).
	if _, err := e.r.Rotate(ctx, opts("default", 10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	b := e.profile("default")

	e.clk.Set(t0.Add(16 * time.Minute))
	e.srv.ResetRequests()
	deleted, pending, err := deleteDueIDs(e, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 0 || len(pending) != 0 {
		t.Errorf("DeleteDue: deleted %v pending %+v, want A dropped", deleted, pending)
	}
	if dels := e.deletes(); len(dels) != 0 {
		t.Errorf("delete requests for an expired token: %+v", dels)
	}
	if p := e.profile("default"); len(p.Pending) != 0 || p.TokenID != b.TokenID {
		t.Errorf("stored: %v", p)
	}
	if ev := e.events.of(EventExpiredDropped); len(ev) != 1 || ev[0].TokenID != a.TokenID {
		t.Errorf("expired_dropped events = %+v", ev)
	}
}

func TestRotateDropsExpiredPendingDuringRotation(t *testing.T) {
	e := newEnv(t)
	a := e.login("default", 15*time.Minute)
	ctx := context.Background()
	e.clk.Advance(10 * time.Minute)
	if _, err := e.r.Rotate(ctx, opts("default", 10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	b := e.profile("default")
	e.clk.Set(t0.Add(16 * time.Minute))
	e.srv.ResetRequests()
	res, err := e.r.Rotate(ctx, opts("default", 10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.deletes()) != 0 || len(res.Deleted) != 0 {
		t.Errorf("deleted %v with %d requests, want A dropped silently", res.Deleted, len(e.deletes()))
	}
	if !slices.Equal(pendingIDs(res.Pending), []string{b.TokenID}) || slices.Contains(res.OrphansDeleted, a.TokenID) {
		t.Errorf("pending %v orphans %v, want only B pending", pendingIDs(res.Pending), res.OrphansDeleted)
	}
}

func TestDeleteDueUsesCurrentToken(t *testing.T) {
	e := newEnv(t)
	a := e.login("default", 15*time.Minute)
	ctx := context.Background()
	e.clk.Advance(10 * time.Minute)
	if _, err := e.r.Rotate(ctx, opts("default", 2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	b := e.profile("default")

	e.clk.Set(t0.Add(12*time.Minute - time.Millisecond)) // a hair before DeleteAfter
	if deleted, pending, err := deleteDueIDs(e, ctx); err != nil || len(deleted) != 0 || len(pending) != 1 {
		t.Fatalf("early DeleteDue: %v %+v %v", deleted, pending, err)
	}
	if len(e.deletes()) != 0 {
		t.Fatal("delete request before the grace ended")
	}
	e.clk.Set(t0.Add(12 * time.Minute)) // exactly DeleteAfter: due
	deleted, pending, err := deleteDueIDs(e, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []string{a.TokenID}) || len(pending) != 0 || e.live(a.TokenID) {
		t.Errorf("deleted %v pending %+v, A live %v", deleted, pending, e.live(a.TokenID))
	}
	if dels := e.deletes(); len(dels) != 1 || dels[0].TokenID != b.TokenID {
		t.Errorf("delete requests %+v, want one with the current token", dels)
	}
}

// If the profile changes between the create and the store write (another
// coda ignoring the lock, a hand edit), the fresh token would be held by
// no one: it must be deleted again.
func TestRotateProfileChangedDuringRotation(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	var minted string
	e.r.Clients = withCreateHook(func(tok *workspace.NewToken) {
		minted = tok.ID
		if err := e.st.Update(context.Background(), func(s *store.State) error {
			s.Profiles["default"].TokenID = "changed-elsewhere"
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
	_, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err == nil || !strings.Contains(err.Error(), "changed during the rotation") {
		t.Fatalf("err = %v", err)
	}
	if minted == "" || e.live(minted) {
		t.Errorf("the token minted for a changed profile (%q) is still live", minted)
	}
	if !e.live(old.TokenID) {
		t.Error("old token deleted")
	}
	if p := e.profile("default"); p.TokenID != "changed-elsewhere" || len(p.Pending) != 0 {
		t.Errorf("store = %v", p)
	}
}

func TestRotateRefusesTokenWithoutExpiry(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	var minted string
	e.r.Clients = withCreateHook(func(tok *workspace.NewToken) { minted = tok.ID; tok.Expiry = time.Time{} })
	_, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err == nil || !strings.Contains(err.Error(), "without an expiry") {
		t.Fatalf("err = %v", err)
	}
	if minted == "" || e.live(minted) {
		t.Errorf("never-expiring token %q kept", minted)
	}
	if p := e.profile("default"); p.TokenID != old.TokenID {
		t.Errorf("store = %v", p)
	}
}

// Ctrl-C while the create is on the wire: the workspace mints the token
// either way, so the create and the store write must not see the cancel.
func TestRotateInterruptedDuringCreateKeepsToken(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.r.Clients = withHooks(cancel, nil)
	c := &recConsumer{name: "rec"}
	e.use(c)

	res, err := e.r.Rotate(ctx, opts("default", 2*time.Minute))
	if err != nil {
		t.Fatalf("Rotate = %v", err)
	}
	p := e.profile("default")
	if p.TokenID == old.TokenID || p.TokenID != res.TokenID || !e.live(p.TokenID) {
		t.Fatalf("stored %v (result %s): the minted token was not kept", p, res.TokenID)
	}
	if !slices.Equal(pendingIDs(p.Pending), []string{old.TokenID}) {
		t.Errorf("pending = %v", pendingIDs(p.Pending))
	}
	tag := e.tagOf("default")
	if live := e.liveTagged(tag); !slices.Equal(live, []string{old.TokenID, p.TokenID}) {
		t.Errorf("live %v, want exactly the old and the stored token (no orphan)", live)
	}
	if calls := c.calls(); len(calls) != 1 || calls[0].TokenID != p.TokenID {
		t.Errorf("consumer calls %v", calls)
	}
}

// If no client can be built for the new token, it is deleted with the old
// one and nothing is stored.
func TestRotateNewClientFailureDeletesFresh(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	e.r.Clients = func(host, token string) (workspace.Client, error) {
		if token != old.Token {
			return nil, errors.New("no client for you")
		}
		return workspace.NewSDKClient(host, token)
	}
	_, err := e.r.Rotate(context.Background(), opts("default", 0))
	if err == nil || !strings.Contains(err.Error(), "no client for you") {
		t.Fatalf("err = %v", err)
	}
	if p := e.profile("default"); p.TokenID != old.TokenID || len(p.Pending) != 0 {
		t.Errorf("store = %v", p)
	}
	tag := e.tagOf("default")
	if live := e.liveTagged(tag); !slices.Equal(live, []string{old.TokenID}) {
		t.Errorf("live %v, want only the old token", live)
	}
	if dels := e.deletes(); len(dels) != 1 || dels[0].TokenID != old.TokenID {
		t.Errorf("deletes %+v, want one made with the old token", dels)
	}
}

func TestRotateRejectsShortLifetime(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	e.srv.ResetRequests()
	_, err := e.r.Rotate(context.Background(), RotateRequest{Profile: "default", Timing: fixed(pol(59*time.Second, time.Second, 0))})
	if err == nil || !strings.Contains(err.Error(), "lifetime must be between 1m and 24h") || exit.CodeOf(err) != exit.Usage {
		t.Errorf("err = %v", err)
	}
	if len(e.srv.Requests()) != 0 {
		t.Error("requests made")
	}
}

// ---------------------------------------------------------------------------
// Tags, flags and helpers

func TestTagCommentRoundTrip(t *testing.T) {
	for _, tag := range []Tag{
		{InstallationID: "0123456789abcdef", Profile: "default"},
		{InstallationID: "ffffffffffffffff", Profile: "work.prod_2-eu"},
		{InstallationID: "a", Profile: "b"},
	} {
		c := tag.Comment()
		if !strings.HasPrefix(c, "coda:") || !IsCodaComment(c) {
			t.Errorf("Comment() = %q lacks the coda: prefix", c)
		}
		got, ok := ParseTag(c)
		if !ok || got != tag {
			t.Errorf("ParseTag(%q) = %+v, %v; want %+v", c, got, ok, tag)
		}
	}
	if a, b := (Tag{"i1", "p", ""}).Comment(), (Tag{"i2", "p", ""}).Comment(); a == b {
		t.Errorf("different installations share comment %q", a)
	}
}

func TestParseTag(t *testing.T) {
	tests := []struct {
		comment string
		want    Tag
		ok      bool
	}{
		{"coda: install=abc profile=default", Tag{"abc", "default", ""}, true},
		{"coda: profile=default install=abc", Tag{"abc", "default", ""}, true},
		{"coda: install=abc profile=default extra=1", Tag{"abc", "default", ""}, true},
		{"coda:install=abc  profile=work", Tag{"abc", "work", ""}, true},
		{"coda: install=abc profile=work store=0a1b2c3d", Tag{"abc", "work", "0a1b2c3d"}, true},
		{"", Tag{}, false},
		{"laptop", Tag{}, false},
		{"coda:", Tag{}, false},
		{"coda: install=abc", Tag{}, false},
		{"coda: profile=default", Tag{}, false},
		{"coda: install= profile=default", Tag{}, false},
		{"Coda: install=abc profile=default", Tag{}, false},
		{" coda: install=abc profile=default", Tag{}, false},
		{"created by coda: install=abc profile=default", Tag{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseTag(tt.comment)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("ParseTag(%q) = %+v, %v; want %+v, %v", tt.comment, got, ok, tt.want, tt.ok)
		}
	}
	if IsCodaComment("laptop") || !IsCodaComment("coda: anything") {
		t.Error("IsCodaComment misclassifies")
	}
}

func TestLoginRequired(t *testing.T) {
	for profile, want := range map[string]string{
		"":        "gone; run: coda login",
		"default": "gone; run: coda login",
		"work":    "gone; run: coda login -p work",
	} {
		err := LoginRequired(profile, "gone")
		if err.Error() != want || exit.CodeOf(err) != exit.Auth {
			t.Errorf("LoginRequired(%q) = %q (code %d), want %q", profile, err, exit.CodeOf(err), want)
		}
	}
}

// deleteDueIDs runs DeleteDue on the default profile, which has no sinks.
func deleteDueIDs(e *env, ctx context.Context) ([]string, []store.Pending, error) {
	deleted, pending, held, err := e.r.DeleteDue(ctx, "default")
	if len(held) != 0 {
		e.t.Errorf("held by %v", held)
	}
	return deleted, pending, err
}

// The sink fault cases: whatever stops the new token from reaching a
// tool's file, the old token stays alive (held) until it does.
func TestRotateSinkFaultsKeepOldTokenAlive(t *testing.T) {
	failWith := func(err error) sink.WriteFunc {
		return func(string, []byte, os.FileMode) error { return err }
	}
	tests := []struct {
		name  string
		write sink.WriteFunc
		prep  func(t *testing.T, path string)
		want  string
	}{
		{name: "read-only file system", write: failWith(syscall.EROFS), want: "read-only file system"},
		{name: "permission denied", write: failWith(syscall.EACCES), want: "permission denied"},
		{name: "disk full", write: failWith(syscall.ENOSPC), want: "no space left on device"},
		{name: "a directory where the file should be", want: "is a directory, not a file",
			prep: func(t *testing.T, path string) {
				if err := os.MkdirAll(path, 0o700); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			old := e.login("default", 15*time.Minute)
			spec := sink.Spec{Plugin: "tool", Path: filepath.Join(e.dir, "tool", ".env"), Format: sink.FormatDotenv, Key: "API_KEY"}
			if err := e.st.Update(context.Background(), func(s *store.State) error {
				s.Profile("default").Tools = []store.Tool{{Plugin: "tool", Sinks: []sink.Spec{spec}}}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if tt.prep != nil {
				tt.prep(t, spec.Path)
			}
			e.r.Sinks = sink.Writer{Write: tt.write}
			e.clk.Advance(10 * time.Minute)
			res, err := e.r.Rotate(context.Background(), opts("default", 0))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.SinkFailures) != 1 || !strings.Contains(res.SinkFailures[0].Error(), tt.want) ||
				!strings.Contains(res.SinkFailures[0].Error(), spec.Path) {
				t.Fatalf("sink failures = %v, want one naming %s and %q", res.SinkFailures, spec.Path, tt.want)
			}
			if !e.live(old.TokenID) || len(res.Deleted) != 0 {
				t.Fatalf("the old token was deleted (deleted %v)", res.Deleted)
			}
			// Still held at the next pass while the fault lasts ...
			if _, pending, held, err := e.r.DeleteDue(context.Background(), "default"); err != nil || len(held) != 1 ||
				len(pending) != 1 || !e.live(old.TokenID) {
				t.Fatalf("second pass: pending %+v held %v err %v", pending, held, err)
			}
			// ... and deleted once the fault is gone.
			_ = os.RemoveAll(spec.Path)
			e.r.Sinks = sink.Writer{}
			deleted, pending, held, err := e.r.DeleteDue(context.Background(), "default")
			if err != nil || len(held) != 0 || len(pending) != 0 || !slices.Equal(deleted, []string{old.TokenID}) || e.live(old.TokenID) {
				t.Fatalf("after the fix: deleted %v pending %+v held %v err %v", deleted, pending, held, err)
			}
			if got, _ := (sink.Writer{}).Get(spec); got != e.profile("default").Token {
				t.Error("the sink does not hold the current token after the fix")
			}
		})
	}
}

// A config dir copied elsewhere (synced, restored) keeps the installation
// id; its rotations must not take the original's tokens for orphans.
func TestCopiedStoreNeverDeletesTheOriginalsTokens(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	if _, err := e.r.Rotate(context.Background(), opts("default", 0)); err != nil {
		t.Fatal(err) // the original's tokens now carry its store id
	}
	copyDir := filepath.Join(t.TempDir(), "copy")
	if err := os.Mkdir(copyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(e.st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(copyDir, store.FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	if _, err := e.r.Rotate(context.Background(), opts("default", 2*time.Minute)); err != nil {
		t.Fatal(err) // the original moves on: T2 is its current token, the copy's T1 lives on for the grace
	}
	original := e.profile("default")

	copied := *e.r
	copied.Store = store.NewFileStore(copyDir)
	if StoreID(e.installID(), copied.Store.Path()) == StoreID(e.installID(), e.st.Path()) {
		t.Fatal("a copy in another dir has the same store id")
	}
	res, err := copied.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res.OrphansDeleted, original.TokenID) || !e.live(original.TokenID) {
		t.Fatalf("the copy deleted the original's current token %s as an orphan (swept %v)", original.TokenID, res.OrphansDeleted)
	}
	// The copy's own lost creates are still swept.
	orphan := e.mint(15*time.Minute, Tag{InstallationID: e.installID(), Profile: "default", Store: StoreID(e.installID(), copied.Store.Path())}.Comment())
	res, err = copied.Rotate(context.Background(), opts("default", 0))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.OrphansDeleted, orphan.ID) || !e.live(original.TokenID) {
		t.Errorf("swept %v: want the copy's orphan only", res.OrphansDeleted)
	}
}

// A credential helper's rotation (coda token) creates, stores and delivers,
// and nothing else: with every delete failing it still answers at once,
// and the old tokens wait for the watcher or the next coda rotate.
func TestEnsureFreshCreatesAndStoresOnly(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	c := &recConsumer{name: "rec"}
	e.use(c)
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Times: 1000, Status: 503})
	e.clk.Advance(11 * time.Minute) // 4m left, under the default min-ttl of 5m
	tok, err := e.r.EnsureFresh(context.Background(), "default", nil)
	if err != nil || !tok.Rotated || tok.Warning != "" {
		t.Fatalf("EnsureFresh = %+v, %v", tok, err)
	}
	if n, d, l := len(e.creates()), len(e.deletes()), len(e.requests(http.MethodGet, fakeworkspace.PathTokenList)); n != 1 || d != 0 || l != 0 {
		t.Errorf("requests: %d creates, %d deletes, %d lists; want 1, 0, 0", n, d, l)
	}
	p := e.profile("default")
	if p.Token != tok.Token || !slices.Equal(pendingIDs(p.Pending), []string{old.TokenID}) || !e.live(old.TokenID) {
		t.Errorf("stored %v pending %v", p, pendingIDs(p.Pending))
	}
	if got, _ := c.Get(c.sinkFor(e.dir, "default")); got != tok.Token {
		t.Error("the sinks do not hold the helper's new token")
	}
}

// skewedClock is the workspace's clock running d ahead of ours.
type skewedClock struct {
	*clock.Fake
	d time.Duration
}

func (c skewedClock) Now() time.Time { return c.Fake.Now().Add(c.d) }

// newHost is a second workspace on the test's clock (skewed by d), with
// alice and a PAT of hers.
func (e *env) newHost(d time.Duration) (*fakeworkspace.Server, string) {
	e.t.Helper()
	srv := fakeworkspace.New(fakeworkspace.Options{Clock: skewedClock{e.clk, d}, OnUnexpected: func(msg string) { e.t.Errorf("%s", msg) }})
	if err := srv.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(srv.Close)
	srv.AddUser(alice, "Alice Example")
	pat, _ := srv.IssuePAT(alice, "laptop", 0)
	return srv, pat
}

// Logging in to another host first deletes the profile's tokens on the old
// one (current and pending, with its own token); what cannot be deleted
// stays listed, for that host, until it expires. Nothing is forgotten.
func TestLoginToAnotherHostRetiresOldTokens(t *testing.T) {
	for _, failing := range []bool{false, true} {
		t.Run(fmt.Sprintf("deletes fail: %v", failing), func(t *testing.T) {
			e := newEnv(t)
			first := e.login("default", 15*time.Minute)
			if _, err := e.r.Rotate(context.Background(), opts("default", 2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			second := e.profile("default")
			if failing {
				e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Times: 100, Status: 503})
			}
			other, pat := e.newHost(0)
			res, err := e.r.Login(context.Background(), LoginRequest{Profile: "default", Host: other.URL(), PAT: pat})
			if err != nil {
				t.Fatal(err)
			}
			p := e.profile("default")
			if p.Host != other.URL() || p.TokenID != res.TokenID {
				t.Fatalf("stored %v", p)
			}
			var leftOnOld []string
			for _, pe := range p.Pending {
				if pe.Host == e.srv.URL() {
					leftOnOld = append(leftOnOld, pe.TokenID)
				}
			}
			if !failing {
				if e.live(first.TokenID) || e.live(second.TokenID) || len(p.Pending) != 0 {
					t.Errorf("old host: first live %v, second live %v; pending %+v", e.live(first.TokenID), e.live(second.TokenID), p.Pending)
				}
				return
			}
			slices.Sort(leftOnOld)
			want := []string{first.TokenID, second.TokenID}
			slices.Sort(want)
			if !slices.Equal(leftOnOld, want) || !e.live(first.TokenID) || !e.live(second.TokenID) {
				t.Fatalf("kept for the old host %v, want %v", leftOnOld, want)
			}
			// Rotations on the new host never send them there, and they go
			// once they have expired.
			e.clk.Advance(10 * time.Minute)
			if _, err := e.r.Rotate(context.Background(), RotateRequest{Profile: "default", Timing: fixed(pol(15*time.Minute, time.Minute, 0))}); err != nil {
				t.Fatal(err)
			}
			if n := len(e.profile("default").Pending); n != 2 {
				t.Errorf("pending after a rotation on the new host: %+v", e.profile("default").Pending)
			}
			e.clk.Advance(5*time.Minute + time.Second) // the old host's tokens have expired; the new one lives
			if _, pending, _, err := e.r.DeleteDue(context.Background(), "default"); err != nil || len(pending) != 0 {
				t.Errorf("after their expiry: pending %+v, %v", pending, err)
			}
		})
	}
}

// A workspace clock 20 minutes ahead of or behind ours: coda keeps token
// times in its own clock, so the token has its full life, coda token does
// not rotate at every call, and the skew is reported once.
func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{20 * time.Minute, 11 * time.Minute, -20 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			e := newEnv(t)
			srv, pat := e.newHost(skew)
			res, err := e.r.Login(context.Background(), LoginRequest{Profile: "default", Host: srv.URL(), PAT: pat})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExpiresAt.Sub(e.clk.Now()) != 15*time.Minute || res.ClockSkew != skew || !strings.Contains(res.SkewWarning, "the workspace's clock is") {
				t.Fatalf("login: expires in %s, skew %s, warning %q", res.ExpiresAt.Sub(e.clk.Now()), res.ClockSkew, res.SkewWarning)
			}
			for range 5 {
				tok, err := e.r.EnsureFresh(context.Background(), "default", nil)
				if err != nil || tok.Rotated {
					t.Fatalf("coda token: %+v, %v", tok, err)
				}
			}
			if n := len(srv.LiveTokens(alice)); n != 2 { // the PAT and coda's token
				t.Errorf("%d live tokens after 5 helper calls", n)
			}
			p := e.profile("default")
			if time.Duration(p.ClockSkew) != skew {
				t.Errorf("stored skew %s", time.Duration(p.ClockSkew))
			}
			// The watcher plans by our clock: the next rotation is 10m
			// from now, while the token lives.
			if next := NextRotation(&p, policy.Default()); next.Sub(e.clk.Now()) != 10*time.Minute {
				t.Errorf("next rotation in %s", next.Sub(e.clk.Now()))
			}
			e.clk.Advance(10 * time.Minute)
			rot, err := e.r.Rotate(context.Background(), RotateRequest{Profile: "default"})
			if err != nil {
				t.Fatal(err)
			}
			if len(rot.Warnings) != 0 {
				t.Errorf("the skew was reported again: %q", rot.Warnings)
			}
		})
	}
}

// A minted token the workspace answers badly (empty, oversized, with a
// control character, already expired, never expiring) is deleted at once
// and nothing is stored: the old token stays current.
func TestRotateDeletesRejectedMint(t *testing.T) {
	for _, name := range []string{"empty-token-value", "control-token-value", "huge-token-value", "past-expiry", "never-expires", "no-expiry"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			old := e.login("default", 15*time.Minute)
			e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 1, Rewrite: fakeworkspace.Misbehaviours[name]})
			_, err := e.r.Rotate(context.Background(), opts("default", 0))
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Rotate = %v, want a one-line error", err)
			}
			if p := e.profile("default"); p.TokenID != old.TokenID || len(p.Pending) != 0 {
				t.Errorf("stored %v", p)
			}
			if live := e.liveTagged(e.tagOf("default")); !slices.Equal(live, []string{old.TokenID}) {
				t.Errorf("live coda tokens %v, want only the old one", live)
			}
			if !retryable(err) {
				t.Error("the watcher would give up on one bad answer")
			}
		})
	}
}
