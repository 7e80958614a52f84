package lifecycle

import (
	"context"
	"errors"
	"github.com/coda-cli/coda/internal/policy"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/store"
)

// watchOpts is the default schedule: lifetime 15m, interval 10m, grace 2m.
func watchOpts() WatchRequest {
	return WatchRequest{Profile: "default", Timing: fixed(pol(15*time.Minute, 10*time.Minute, 2*time.Minute))}
}

type watchRun struct {
	err    error
	sleeps []time.Duration
}

// watch runs Watch on the fake clock. onSleep runs after each sleep with the
// number of sleeps so far and may cancel the watch. A real-time timeout
// catches a loop that never sleeps.
func (e *env) watch(o WatchRequest, onSleep func(n int, d time.Duration, cancel context.CancelFunc)) watchRun {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var run watchRun
	e.clk.OnSleep = func(d time.Duration) {
		run.sleeps = append(run.sleeps, d)
		if len(run.sleeps) > 100_000 {
			e.t.Errorf("more than 100000 sleeps: the loop does not stop")
			cancel()
			return
		}
		if onSleep != nil {
			onSleep(len(run.sleeps), d, cancel)
		}
	}
	defer func() { e.clk.OnSleep = nil }()
	run.err = e.r.Watch(ctx, o)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		e.t.Fatalf("Watch ran into the real-time timeout (spinning without sleeping?); events: %v", e.events.kinds())
	}
	return run
}

func (e *env) stopAfterRotations(n int) func(int, time.Duration, context.CancelFunc) {
	return func(_ int, _ time.Duration, cancel context.CancelFunc) {
		if len(e.events.of(EventRotated)) >= n {
			cancel()
		}
	}
}

func eventTimes(evs []Event) []time.Duration {
	var out []time.Duration
	for _, e := range evs {
		out = append(out, e.Time.Sub(t0))
	}
	return out
}

func eventIDs(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.TokenID)
	}
	return out
}

func checkSleeps(t *testing.T, sleeps []time.Duration, max time.Duration) {
	t.Helper()
	for i, d := range sleeps {
		if d <= 0 || d > max {
			t.Errorf("sleep %d lasted %s, want in (0, %s]", i, d, max)
		}
	}
}

func TestWatchSchedule(t *testing.T) {
	e := newEnv(t)
	login := e.login("default", 15*time.Minute)
	c := &recConsumer{name: "rec"}
	// Before every rotation after the first, the token replaced two
	// rotations ago must already be gone: deletes run on schedule, not at
	// the next rotation.
	var liveAtRotation []int
	tag := e.tagOf("default")
	c.onRotated = func(context.Context, string, store.Profile) error {
		liveAtRotation = append(liveAtRotation, len(e.liveTagged(tag)))
		return nil
	}
	e.use(c)

	run := e.watch(watchOpts(), e.stopAfterRotations(3))
	if run.err != nil {
		t.Fatal(run.err)
	}

	rot := e.events.of(EventRotated)
	m := time.Minute
	if got := eventTimes(rot); !slices.Equal(got, []time.Duration{10 * m, 20 * m, 30 * m}) {
		t.Fatalf("rotations at %v, want [10m 20m 30m]", got)
	}
	calls := c.calls()
	if len(calls) != 3 {
		t.Fatalf("consumer calls = %d", len(calls))
	}
	for i, p := range calls {
		if p.TokenID != rot[i].TokenID || !p.ExpiresAt.Equal(rot[i].Time.Add(15*m)) || !rot[i].ExpiresAt.Equal(p.ExpiresAt) {
			t.Errorf("rotation %d: consumer got %v, event %+v", i, p, rot[i])
		}
	}
	del := e.events.of(EventDeleted)
	if got := eventTimes(del); !slices.Equal(got, []time.Duration{12 * m, 22 * m}) {
		t.Errorf("deletes at %v, want [12m 22m]", got)
	}
	if got, want := eventIDs(del), []string{login.TokenID, calls[0].TokenID}; !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
	if !slices.Equal(liveAtRotation, []int{2, 2, 2}) {
		t.Errorf("live coda tokens while consumers ran: %v, want 2 each time (old + new)", liveAtRotation)
	}
	if e.live(login.TokenID) || e.live(calls[0].TokenID) || !e.live(calls[1].TokenID) || !e.live(calls[2].TokenID) {
		t.Error("wrong tokens live at the end")
	}
	p := e.profile("default")
	if p.TokenID != calls[2].TokenID || !slices.Equal(pendingIDs(p.Pending), []string{calls[1].TokenID}) {
		t.Errorf("stored %v pending %v", p, pendingIDs(p.Pending))
	}

	checkSleeps(t, run.sleeps, time.Minute)
	// Cancelled during the first sleep after the third rotation.
	if now := e.clk.Now(); !now.Equal(t0.Add(31 * m)) {
		t.Errorf("clock at the end = t0+%s, want t0+31m", now.Sub(t0))
	}
	var slept time.Duration
	for _, d := range run.sleeps {
		slept += d
	}
	if slept != 31*m {
		t.Errorf("slept %s in all, want 31m (no other time passed)", slept)
	}
	kinds := e.events.kinds()
	if kinds[0] != EventStarted || kinds[len(kinds)-1] != EventStopped {
		t.Errorf("events %v, want started first and stopped last", kinds)
	}
	if n := len(e.creates()); n != 3 {
		t.Errorf("%d creates, want 3", n)
	}
	if w := e.events.of(EventWaiting); len(w) == 0 || !w[0].NextAttempt.Equal(t0.Add(10*m)) || w[0].TokenID != login.TokenID {
		t.Errorf("waiting events = %+v", w)
	}
}

func TestWatchHonoursMaxSleep(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	o := watchOpts()
	o.MaxSleep = 7 * time.Second
	run := e.watch(o, e.stopAfterRotations(1))
	if run.err != nil {
		t.Fatal(run.err)
	}
	checkSleeps(t, run.sleeps, 7*time.Second)
	if got := eventTimes(e.events.of(EventRotated)); !slices.Equal(got, []time.Duration{10 * time.Minute}) {
		t.Errorf("rotations at %v", got)
	}
}

func TestWatchRotatesAtOnceWhenOverdue(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	e.clk.Advance(11 * time.Minute)
	sleeps, sleepsBefore := 0, -1
	e.use(&recConsumer{name: "rec", onRotated: func(context.Context, string, store.Profile) error {
		sleepsBefore = sleeps
		return nil
	}})
	stop := e.stopAfterRotations(1)
	run := e.watch(watchOpts(), func(n int, d time.Duration, cancel context.CancelFunc) {
		sleeps = n
		stop(n, d, cancel)
	})
	if run.err != nil {
		t.Fatal(run.err)
	}
	if got := eventTimes(e.events.of(EventRotated)); !slices.Equal(got, []time.Duration{11 * time.Minute}) {
		t.Errorf("rotations at %v, want [11m]", got)
	}
	if sleepsBefore != 0 {
		t.Errorf("%d sleeps before the overdue rotation, want 0", sleepsBefore)
	}
}

func TestWatchSuspend(t *testing.T) {
	t.Run("past expiry", func(t *testing.T) {
		e := newEnv(t)
		e.login("default", 15*time.Minute)
		run := e.watch(watchOpts(), func(n int, _ time.Duration, _ context.CancelFunc) {
			if n == 1 {
				e.clk.Advance(3 * time.Hour)
			}
		})
		assertLoginRequired(t, run.err, "default", "token expired while the machine slept")
		if len(run.sleeps) != 1 {
			t.Errorf("%d sleeps, want 1 (the suspend is noticed on waking)", len(run.sleeps))
		}
		if n := len(e.srv.Requests()); n != 0 {
			t.Errorf("%d requests with an expired token", n)
		}
	})
	t.Run("past due before expiry", func(t *testing.T) {
		e := newEnv(t)
		e.login("default", 15*time.Minute)
		run := e.watch(watchOpts(), func(n int, _ time.Duration, cancel context.CancelFunc) {
			if n == 1 {
				e.clk.Advance(11 * time.Minute) // now t0+12m: due, 3m left
			}
			if len(e.events.of(EventRotated)) > 0 {
				cancel()
			}
		})
		if run.err != nil {
			t.Fatal(run.err)
		}
		if got := eventTimes(e.events.of(EventRotated)); !slices.Equal(got, []time.Duration{12 * time.Minute}) {
			t.Errorf("rotations at %v, want [12m]: at once on waking", got)
		}
		if len(run.sleeps) != 2 {
			t.Errorf("%d sleeps, want 2 (one before the suspend, one after the rotation)", len(run.sleeps))
		}
	})
	t.Run("expired at start", func(t *testing.T) {
		e := newEnv(t)
		e.login("default", 15*time.Minute)
		e.clk.Advance(20 * time.Minute)
		run := e.watch(watchOpts(), nil)
		assertLoginRequired(t, run.err, "default", "expired at")
		if len(run.sleeps) != 0 || len(e.srv.Requests()) != 0 {
			t.Errorf("%d sleeps, %d requests", len(run.sleeps), len(e.srv.Requests()))
		}
	})
	t.Run("not logged in", func(t *testing.T) {
		e := newEnv(t)
		run := e.watch(watchOpts(), nil)
		assertLoginRequired(t, run.err, "default", "not logged in")
	})
}

func TestWatchRetriesTransientFailures(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 3, Status: 503})

	run := e.watch(watchOpts(), e.stopAfterRotations(1))
	if run.err != nil {
		t.Fatal(run.err)
	}
	retries := e.events.of(EventRetry)
	var backoffs []time.Duration
	for _, r := range retries {
		backoffs = append(backoffs, r.RetryIn)
		if !r.NextAttempt.Equal(r.Time.Add(r.RetryIn)) || !strings.Contains(r.Message, "503") {
			t.Errorf("retry event %+v", r)
		}
	}
	if !slices.Equal(backoffs, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}) {
		t.Errorf("backoffs %v, want [1s 2s 4s]", backoffs)
	}
	if got := eventTimes(e.events.of(EventRotated)); !slices.Equal(got, []time.Duration{10*time.Minute + 7*time.Second}) {
		t.Errorf("rotated at %v, want [10m7s]", got)
	}
	var statuses []int
	for _, r := range e.creates() {
		statuses = append(statuses, r.Status)
		if r.TokenID != old.TokenID {
			t.Errorf("create with token %s, want the old one", r.TokenID)
		}
	}
	if !slices.Equal(statuses, []int{503, 503, 503, 200}) {
		t.Errorf("create statuses %v", statuses)
	}
	if p := e.profile("default"); p.TokenID == old.TokenID {
		t.Error("not rotated")
	}
}

func TestWatchBackoffNeverPassesExpiry(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute) // 5m left
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Status: 503})

	run := e.watch(watchOpts(), nil)
	assertLoginRequired(t, run.err, "default", "token expired before it could be rotated")
	if !strings.Contains(run.err.Error(), "503") {
		t.Errorf("error %q does not name the last error", run.err)
	}

	s := time.Second
	var backoffs []time.Duration
	for _, r := range e.events.of(EventRetry) {
		backoffs = append(backoffs, r.RetryIn)
		if !r.NextAttempt.Before(old.ExpiresAt) {
			t.Errorf("retry planned at %s, at or past the expiry %s", r.NextAttempt, old.ExpiresAt)
		}
	}
	// Doubling up to the 1m cap, then clipped to end 1s before the expiry.
	want := []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s, 60 * s, 56 * s}
	if !slices.Equal(backoffs, want) {
		t.Errorf("backoffs %v, want %v", backoffs, want)
	}
	creates := e.creates()
	if len(creates) != len(want)+1 {
		t.Errorf("%d create attempts, want %d", len(creates), len(want)+1)
	}
	for _, r := range creates {
		if r.Status != 503 { // a 403 would mean a try with the dead token
			t.Errorf("create answered %d", r.Status)
		}
	}
	if now := e.clk.Now(); !now.Equal(old.ExpiresAt.Add(-s)) {
		t.Errorf("gave up at expiry%+v, want expiry-1s", now.Sub(old.ExpiresAt))
	}
	checkSleeps(t, run.sleeps, time.Minute)
	if p := e.profile("default"); p.TokenID != old.TokenID || len(p.Pending) != 0 {
		t.Errorf("store = %v", p)
	}
}

func TestWatchBackoffCapAndJitter(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 4, Status: 429})
	var jitterArgs []time.Duration
	e.r.Jitter = func(d time.Duration) time.Duration { jitterArgs = append(jitterArgs, d); return d / 2 }
	o := watchOpts()
	o.BackoffBase = 2 * time.Second
	o.BackoffCap = 5 * time.Second

	run := e.watch(o, e.stopAfterRotations(1))
	if run.err != nil {
		t.Fatal(run.err)
	}
	var backoffs []time.Duration
	for _, r := range e.events.of(EventRetry) {
		backoffs = append(backoffs, r.RetryIn)
	}
	// base 2s, 4s, then capped at 5s; plus jitter of half of half.
	s := time.Second
	if want := []time.Duration{2*s + s/2, 4*s + s, 5*s + 5*s/4, 5*s + 5*s/4}; !slices.Equal(backoffs, want) {
		t.Errorf("backoffs %v, want %v", backoffs, want)
	}
	if want := []time.Duration{s, 2 * s, 5 * s / 2, 5 * s / 2}; !slices.Equal(jitterArgs, want) {
		t.Errorf("jitter asked for %v, want %v", jitterArgs, want)
	}
}

func TestWatchInvalidTokenStopsAtOnce(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	run := e.watch(watchOpts(), func(n int, _ time.Duration, _ context.CancelFunc) {
		if n == 1 && !e.srv.RevokeToken(old.TokenID) {
			t.Error("revoke failed")
		}
	})
	assertLoginRequired(t, run.err, "default", "rejected the token")
	if n := len(e.creates()); n != 1 {
		t.Errorf("%d create attempts, want 1 (no retries for a dead token)", n)
	}
	if n := len(e.events.of(EventRetry)); n != 0 {
		t.Errorf("%d retry events", n)
	}
	if now := e.clk.Now(); !now.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("returned at t0+%s, want at the first rotation (t0+10m)", now.Sub(t0))
	}
}

func TestWatchPauseWhenIdle(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute) // due, 5m left (<= interval: warn)
	var running atomic.Bool
	o := watchOpts()
	o.PauseWhenIdle = true
	o.AgentsRunning = func() (bool, error) { return running.Load(), nil }
	createsWhileIdle := -1

	run := e.watch(o, func(n int, _ time.Duration, cancel context.CancelFunc) {
		if n == 3 {
			createsWhileIdle = len(e.creates())
			running.Store(true)
		}
		if len(e.events.of(EventRotated)) == 1 {
			// The agent exits again: the next due rotation pauses anew.
			running.Store(false)
		}
		if len(e.events.of(EventIdle)) == 2 {
			cancel()
		}
	})
	if run.err != nil {
		t.Fatal(run.err)
	}
	if createsWhileIdle != 0 {
		t.Errorf("%d creates while no agent ran", createsWhileIdle)
	}
	m := time.Minute
	idle := e.events.of(EventIdle)
	if got := eventTimes(idle); !slices.Equal(got, []time.Duration{10 * m, 23 * m}) {
		t.Errorf("idle events at %v, want one per idle period: [10m 23m]", got)
	}
	warn := e.events.of(EventExpiryWarning)
	if got := eventTimes(warn); !slices.Equal(got, []time.Duration{10 * m, 23 * m}) {
		t.Fatalf("expiry warnings at %v, want one per idle period: [10m 23m]", got)
	}
	if warn[0].TokenID != old.TokenID || !warn[0].ExpiresAt.Equal(old.ExpiresAt) || !strings.Contains(warn[0].Message, "5m0s") {
		t.Errorf("first warning %+v, want it to name the old token and 5m", warn[0])
	}
	rot := e.events.of(EventRotated)
	if got := eventTimes(rot); !slices.Equal(got, []time.Duration{13 * m}) {
		t.Errorf("rotated at %v, want [13m] (once the agent runs)", got)
	}
	if warn[1].TokenID != rot[0].TokenID {
		t.Errorf("second warning names %s, want the rotated token %s", warn[1].TokenID, rot[0].TokenID)
	}
	if n := len(e.creates()); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	checkSleeps(t, run.sleeps, time.Minute)
}

func TestWatchPauseWhenIdleUntilExpiry(t *testing.T) {
	e := newEnv(t)
	old := e.login("default", time.Hour)
	o := watchOpts()
	o.Timing = fixed(pol(time.Hour, 10*time.Minute, 2*time.Minute))
	o.PauseWhenIdle = true
	o.AgentsRunning = func() (bool, error) { return false, nil }

	run := e.watch(o, nil)
	assertLoginRequired(t, run.err, "default", "no coding agent was running")
	if n := len(e.creates()); n != 0 {
		t.Errorf("%d creates while idle", n)
	}
	if got := eventTimes(e.events.of(EventIdle)); !slices.Equal(got, []time.Duration{10 * time.Minute}) {
		t.Errorf("idle events at %v, want one at 10m", got)
	}
	// Warned once, when the remaining life first fits in one interval.
	if got := eventTimes(e.events.of(EventExpiryWarning)); !slices.Equal(got, []time.Duration{50 * time.Minute}) {
		t.Errorf("expiry warnings at %v, want one at 50m", got)
	}
	if now := e.clk.Now(); !now.Equal(old.ExpiresAt) {
		t.Errorf("returned at t0+%s, want at the expiry", now.Sub(t0))
	}
}

// TestWatchPauseWhenIdleUnknown: where processes cannot be listed, the
// watcher says so once per failing spell and rotates on schedule instead of
// pausing blind.
func TestWatchPauseWhenIdleUnknown(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	o := watchOpts()
	o.PauseWhenIdle = true
	checks := 0
	o.AgentsRunning = func() (bool, error) {
		checks++
		if checks == 3 { // one check that works, and sees no agent
			return false, nil
		}
		return false, errors.New("no /proc")
	}

	run := e.watch(o, e.stopAfterRotations(3))
	if run.err != nil {
		t.Fatal(run.err)
	}
	m := time.Minute
	unknown := e.events.of(EventIdleUnknown)
	if got := eventTimes(unknown); !slices.Equal(got, []time.Duration{10 * m, 31 * m}) {
		t.Errorf("idle_unknown events at %v, want one per failing spell: [10m 31m]", got)
	}
	if len(unknown) > 0 && !strings.Contains(unknown[0].Message, "no /proc") {
		t.Errorf("idle_unknown message %q does not say why", unknown[0].Message)
	}
	if got := eventTimes(e.events.of(EventRotated)); !slices.Equal(got, []time.Duration{10 * m, 20 * m, 31 * m}) {
		t.Errorf("rotated at %v, want on schedule while blind: [10m 20m 31m]", got)
	}
	if got := eventTimes(e.events.of(EventIdle)); !slices.Equal(got, []time.Duration{30 * m}) {
		t.Errorf("idle events at %v, want [30m] (the one check that worked)", got)
	}
}

func TestWatchInterrupted(t *testing.T) {
	// The interrupt lands inside a consumer, or while the create is on the
	// wire; either way the minted token is stored and Watch ends quietly.
	for _, where := range []string{"consumer", "create"} {
		t.Run(where, func(t *testing.T) {
			e := newEnv(t)
			old := e.login("default", 15*time.Minute)
			e.clk.Advance(10 * time.Minute)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := &recConsumer{name: "first"}
			if where == "consumer" {
				first.onRotated = func(context.Context, string, store.Profile) error {
					cancel() // Ctrl-C while the consumer writes its files
					return nil
				}
			} else {
				e.r.Clients = withHooks(cancel, nil)
			}
			e.use(first)
			guard := 0
			e.clk.OnSleep = func(time.Duration) {
				if guard++; guard > 1000 {
					t.Fatal("watch keeps sleeping after the cancel")
				}
			}
			err := e.r.Watch(ctx, watchOpts())
			if err != nil {
				t.Fatalf("Watch = %v, want nil after an interrupt", err)
			}
			p := e.profile("default")
			if p.TokenID == old.TokenID || !e.live(p.TokenID) {
				t.Fatalf("stored %v, live %v: the new token was not kept", p, e.live(p.TokenID))
			}
			if !slices.Equal(pendingIDs(p.Pending), []string{old.TokenID}) || !e.live(old.TokenID) {
				t.Errorf("pending %v, old live %v", pendingIDs(p.Pending), e.live(old.TokenID))
			}
			if got, _ := first.Get(first.sinkFor(e.dir, "default")); got != p.Token {
				t.Errorf("the sink does not hold the new token after the interrupt")
			}
			if kinds := e.events.kinds(); kinds[len(kinds)-1] != EventStopped {
				t.Errorf("events %v", kinds)
			}
			if n := len(e.creates()); n != 1 {
				t.Errorf("%d creates", n)
			}
			tag := e.tagOf("default")
			if live := e.liveTagged(tag); !slices.Equal(live, []string{old.TokenID, p.TokenID}) {
				t.Errorf("live %v, want the old and the stored token only", live)
			}
		})
	}
}

// Ctrl-C while waiting for the profile lock (a `coda token` holds it) ends
// the watch quietly: an interrupt is not a failure.
func TestWatchInterruptedWaitingForLock(t *testing.T) {
	for _, what := range []string{"rotation", "scheduled delete"} {
		t.Run(what, func(t *testing.T) {
			e := newEnv(t)
			old := e.login("default", 15*time.Minute)
			if what == "scheduled delete" {
				e.clk.Advance(10 * time.Minute)
				if _, err := e.r.Rotate(context.Background(), opts("default", 2*time.Minute)); err != nil {
					t.Fatal(err)
				}
				e.clk.Advance(2 * time.Minute) // the old token's delete is due
			} else {
				e.clk.Advance(10 * time.Minute) // the rotation is due
			}
			e.srv.ResetRequests()
			unlock, err := store.NewFileStore(e.dir).LockProfile(context.Background(), "default")
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				time.Sleep(30 * time.Millisecond)
				cancel()
			}()
			if err := e.r.Watch(ctx, watchOpts()); err != nil {
				t.Fatalf("Watch = %v, want nil after an interrupt", err)
			}
			if reqs := e.srv.Requests(); len(reqs) != 0 {
				t.Errorf("requests %+v without the lock", reqs)
			}
			if n := len(e.events.of(EventDeleteFailed)); n != 0 {
				t.Errorf("%d delete_failed events for an interrupt", n)
			}
			if what == "scheduled delete" && !e.live(old.TokenID) {
				t.Error("deleted without the lock")
			}
		})
	}
}

// A failed scheduled delete is tried again one MaxSleep later, not in a
// tight loop and not only at the next rotation.
func TestWatchRetriesFailedDeleteAfterMaxSleep(t *testing.T) {
	e := newEnv(t)
	login := e.login("default", 15*time.Minute)
	e.r.DeleteAttempts = 3
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Times: 3, Status: 500})

	run := e.watch(watchOpts(), func(_ int, _ time.Duration, cancel context.CancelFunc) {
		if len(e.events.of(EventDeleted)) > 0 {
			cancel()
		}
	})
	if run.err != nil {
		t.Fatal(run.err)
	}
	failed := e.events.of(EventDeleteFailed)
	if got := eventTimes(failed); len(got) != 1 || got[0].Truncate(time.Second) != 12*time.Minute {
		t.Errorf("delete failures at %v, want one at 12m", got)
	}
	del := e.events.of(EventDeleted)
	if got := eventTimes(del); !slices.Equal(got, []time.Duration{13 * time.Minute}) || del[0].TokenID != login.TokenID {
		t.Errorf("deleted at %v (%v), want the login token at 13m", got, eventIDs(del))
	}
	if n := len(e.deletes()); n != 4 {
		t.Errorf("%d delete requests, want 3 failed + 1", n)
	}
	if p := e.profile("default"); len(p.Pending) != 0 {
		t.Errorf("pending = %+v", p.Pending)
	}
}

// A create whose answer is lost is retried, and the rotation that succeeds
// deletes the token the lost answer carried.
func TestWatchLostCreateIsSweptOnRetry(t *testing.T) {
	e := newEnv(t)
	login := e.login("default", 15*time.Minute)
	e.clk.Advance(10 * time.Minute)
	e.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenCreate, fakeworkspace.Fault{Times: 1, Status: 500, AfterHandler: true})
	tag := e.tagOf("default")

	run := e.watch(watchOpts(), e.stopAfterRotations(1))
	if run.err != nil {
		t.Fatal(run.err)
	}
	if n := len(e.events.of(EventRetry)); n != 1 {
		t.Errorf("%d retries, want 1", n)
	}
	orphans := e.events.of(EventOrphanDeleted)
	p := e.profile("default")
	if len(orphans) != 1 || orphans[0].TokenID == p.TokenID || orphans[0].TokenID == login.TokenID || e.live(orphans[0].TokenID) {
		t.Errorf("orphan events %+v", orphans)
	}
	if live := e.liveTagged(tag); !slices.Equal(live, []string{login.TokenID, p.TokenID}) {
		t.Errorf("live tokens %v, want the old (in grace) and the new", live)
	}
}

func TestNextDeletion(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name    string
		pending []store.Pending
		held    time.Time
		want    time.Time
		ok      bool
	}{
		{"none", nil, time.Time{}, time.Time{}, false},
		{"delete after", []store.Pending{{DeleteAfter: at(5), ExpiresAt: at(9)}}, time.Time{}, at(5), true},
		{"expiry first", []store.Pending{{DeleteAfter: at(5), ExpiresAt: at(3)}}, time.Time{}, at(3), true},
		{"no expiry", []store.Pending{{DeleteAfter: at(5)}}, time.Time{}, at(5), true},
		{"earliest of many", []store.Pending{{DeleteAfter: at(8), ExpiresAt: at(20)}, {DeleteAfter: at(4), ExpiresAt: at(20)}, {DeleteAfter: at(9), ExpiresAt: at(6)}}, time.Time{}, at(4), true},
		{"held", []store.Pending{{DeleteAfter: at(5), ExpiresAt: at(9)}}, at(7), at(7), true},
		{"held in the past", []store.Pending{{DeleteAfter: at(5), ExpiresAt: at(9)}}, at(2), at(5), true},
		{"held, none pending", nil, at(7), time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := nextDeletion(tt.pending, tt.held)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("%s: nextDeletion = %s, %v; want %s, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNextRotationFollowsThisMachinesLastRotation(t *testing.T) {
	created := t0.Add(-20 * time.Minute) // a workspace clock far behind ours
	tests := []struct {
		name string
		p    store.Profile
		want time.Time
	}{
		{"fresh login: from the token's creation", store.Profile{CreatedAt: created, ExpiresAt: t0.Add(time.Hour)}, created.Add(10 * time.Minute)},
		{"rotated here: from the local rotation time", store.Profile{CreatedAt: created, LastRotation: t0, ExpiresAt: t0.Add(time.Hour)}, t0.Add(10 * time.Minute)},
		// Defect 2 of the lifecycle issue: a token that lives a minute must
		// not wait for a 10-minute interval; rotate while it still has
		// max(grace, min-ttl, 30s) left.
		{"short token: before its expiry", store.Profile{CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}, t0.Add(30 * time.Second)},
		{"expiring token: at once", store.Profile{CreatedAt: t0, LastRotation: t0, ExpiresAt: t0.Add(4 * time.Minute)}, t0.Add(-time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := pol(time.Hour, 10*time.Minute, 2*time.Minute)
			pl.MinTTL = policy.Duration(5 * time.Minute)
			if tt.p.ExpiresAt.Sub(tt.p.CreatedAt) <= time.Minute {
				pl = pol(time.Minute, 10*time.Second, 0)
				pl.MinTTL = policy.Duration(30 * time.Second)
				pl.Interval = policy.Duration(10 * time.Minute) // the default interval with a 1m token, as the report had it
			}
			if got := NextRotation(&tt.p, pl); !got.Equal(tt.want) {
				t.Errorf("NextRotation = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDeleteDueWithDeadTokenNeedsLogin(t *testing.T) {
	e := newEnv(t)
	e.login("default", 15*time.Minute)
	if _, err := e.r.Rotate(context.Background(), RotateRequest{Profile: "default", Timing: fixed(pol(15*time.Minute, 10*time.Minute, time.Minute))}); err != nil {
		t.Fatal(err)
	}
	current := e.profile("default")
	e.srv.RevokeToken(current.TokenID)
	e.clk.Advance(2 * time.Minute)
	_, pending, _, err := e.r.DeleteDue(context.Background(), "default")
	if exit.CodeOf(err) != exit.Auth {
		t.Fatalf("DeleteDue with a revoked token: err %v (exit %d), want exit %d", err, exit.CodeOf(err), exit.Auth)
	}
	if len(pending) != 1 || pending[0].Attempts != 1 {
		t.Errorf("the old token should stay pending with one failed attempt, got %+v", pending)
	}
}
