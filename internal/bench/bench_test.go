// Package bench measures coda as whole processes against the start-up
// floor of a program that links the same libraries and does nothing.
//
//	go test -run '^$' -bench . -benchtime 40x ./internal/bench/
//
// Each benchmark alternates the floor and the measured command, so both
// see the same machine state, and reports medians and their ratio.
package bench

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace"
)

const benchUser = "bench@example.com"

// build compiles coda and the floor program.
func build(b *testing.B) (coda, floor string) {
	return buildOne(b, "../../cmd/coda"), buildOne(b, "./floor")
}

func buildOne(b *testing.B, pkg string) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), filepath.Base(pkg))
	if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

type env struct {
	srv     *fakeworkspace.Server
	environ []string
	dir     string
	loginAt time.Time
}

// loggedIn starts a fake workspace and logs a profile in through coda
// (with extra login flags), its token in credentials.json unless the flags
// say otherwise.
func loggedIn(b *testing.B, coda string, loginFlags ...string) *env {
	b.Helper()
	return loggedInEnv(b, coda, nil, loginFlags...)
}

// loggedInEnv is loggedIn with extra environment variables for every run.
func loggedInEnv(b *testing.B, coda string, extraEnv []string, loginFlags ...string) *env {
	b.Helper()
	srv := fakeworkspace.New(fakeworkspace.Options{MaxLiveTokens: 1 << 20})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	srv.AddUser(benchUser, "Bench")
	pat, _ := srv.IssuePAT(benchUser, "bench", 24*time.Hour)
	dir := filepath.Join(b.TempDir(), "coda")
	// A HOME of its own: setup and rotations write agent configs there.
	e := &env{srv: srv, dir: dir, environ: append(append(os.Environ(), "CODA_CONFIG_DIR="+dir, "HOME="+b.TempDir(),
		"XDG_CONFIG_HOME=", "CODEX_HOME=", "DATABRICKS_CONFIG_FILE=", "CLAUDE_CONFIG_DIR=", "CODA_STORAGE=file"), extraEnv...)}
	login := exec.Command(coda, append([]string{"login", "--host", srv.URL(), "--token-stdin"}, loginFlags...)...)
	login.Env = e.environ
	login.Stdin = strings.NewReader(pat)
	if out, err := login.CombinedOutput(); err != nil {
		b.Fatalf("coda login: %v\n%s", err, out)
	}
	e.loginAt = e.srv.LiveTokens(benchUser)[len(e.srv.LiveTokens(benchUser))-1].Created
	return e
}

func run(b *testing.B, environ []string, bin string, args ...string) time.Duration {
	b.Helper()
	return runStdin(b, environ, "", bin, args...)
}

func runStdin(b *testing.B, environ []string, stdin, bin string, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = environ
	cmd.Stdin = strings.NewReader(stdin)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkToken: `coda token` with a fresh token. Target: within 1.25x
// the floor (nothing on its path but reading the store).
func BenchmarkToken(b *testing.B) {
	coda, floor := build(b)
	e := loggedIn(b, coda)
	before := len(e.srv.Requests())
	var floors, tokens []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floors = append(floors, run(b, e.environ, floor))
		tokens = append(tokens, run(b, e.environ, coda, "token"))
	}
	b.StopTimer()
	if n := len(e.srv.Requests()) - before; n != 0 {
		b.Fatalf("coda token with a fresh token made %d requests, want 0", n)
	}
	b.ReportMetric(ms(median(floors)), "floor-ms")
	b.ReportMetric(ms(median(tokens)), "token-ms")
	b.ReportMetric(float64(median(tokens))/float64(median(floors)), "x-floor")
}

// BenchmarkTokenKeyring: `coda token` with a fresh token kept in
// credentials.json and in a keyring, side by side. The keyring is a file
// (keyringtest.File) in a build of coda made for this benchmark
// (./codakeyring), so this times coda's own keyring path (the sealed read
// and one keyring call under its timeout), not a Secret Service:
// BenchmarkTokenSecretService does that. Target: x-file ≤ 1.1.
func BenchmarkTokenKeyring(b *testing.B) {
	coda, floor := build(b)
	codaKeyring := buildOne(b, "./codakeyring")
	file := loggedIn(b, coda)
	kr := loggedInEnv(b, codaKeyring, []string{"CODA_BENCH_KEYRING=" + filepath.Join(b.TempDir(), "keyring.json")}, "--storage", "keyring")
	tokenFileVsKeyring(b, floor, coda, file, codaKeyring, kr)
}

// BenchmarkTokenSecretService: `coda token` with the token in the real
// system keyring, beside the file. It writes to the keyring of the
// session it runs in, so it runs only when asked to, with
// CODA_BENCH_SECRET_SERVICE=1, e.g. in a throwaway session:
//
//	dbus-run-session -- sh -c 'echo pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//	  CODA_BENCH_SECRET_SERVICE=1 go test -run "^$" -bench TokenSecretService -benchtime 40x ./internal/bench/'
func BenchmarkTokenSecretService(b *testing.B) {
	if os.Getenv("CODA_BENCH_SECRET_SERVICE") != "1" {
		b.Skip("writes to the system keyring: set CODA_BENCH_SECRET_SERVICE=1 to run it")
	}
	coda, floor := build(b)
	file := loggedIn(b, coda)
	kr := loggedIn(b, coda, "--storage", "keyring")
	b.Cleanup(func() { run(b, kr.environ, coda, "revoke") }) // deletes its keyring entries
	tokenFileVsKeyring(b, floor, coda, file, coda, kr)
}

// tokenFileVsKeyring times `coda token` with the token in the file (coda
// in file's environment) and in a keyring (codaKeyring in kr's), in turns
// with the start-up floor, and reports the keyring's cost over the file's.
func tokenFileVsKeyring(b *testing.B, floor, coda string, file *env, codaKeyring string, kr *env) {
	b.Helper()
	keyringTokenOnly(b, kr)
	var floors, files, keyrings []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floors = append(floors, run(b, file.environ, floor))
		files = append(files, run(b, file.environ, coda, "token"))
		keyrings = append(keyrings, run(b, kr.environ, codaKeyring, "token"))
	}
	b.StopTimer()
	b.ReportMetric(ms(median(floors)), "floor-ms")
	b.ReportMetric(ms(median(files)), "file-ms")
	b.ReportMetric(ms(median(keyrings)), "keyring-ms")
	b.ReportMetric(float64(median(keyrings))/float64(median(files)), "x-file")
}

// keyringTokenOnly checks that e's profile keeps its token in the keyring:
// credentials.json says so and holds no token value.
func keyringTokenOnly(b *testing.B, e *env) {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(e.dir, "credentials.json"))
	if err != nil {
		b.Fatal(err)
	}
	if !strings.Contains(string(raw), `"storage": "keyring"`) || !strings.Contains(string(raw), `"token": ""`) {
		b.Fatal("the profile does not keep its token in the keyring")
	}
}

// BenchmarkTokenRotating: `coda token` that must rotate (a 1-minute token
// and --min-ttl just under it, so every call rotates), once against a
// workspace whose deletes all fail and once against one whose deletes
// succeed, side by side. A credential helper's rotation creates and stores
// only, so failing deletes cost it nothing. Target: x-failing ≤ 2.
func BenchmarkTokenRotating(b *testing.B) {
	coda, _ := build(b)
	ok := loggedIn(b, coda, "--lifetime", "1m")
	failing := loggedIn(b, coda, "--lifetime", "1m")
	failing.srv.AddFault(http.MethodPost, fakeworkspace.PathTokenDelete, fakeworkspace.Fault{Times: 1 << 30, Status: 503})
	creates := func(e *env) int {
		n := 0
		for _, r := range e.srv.Requests() {
			if r.Path == fakeworkspace.PathTokenCreate {
				n++
			}
		}
		return n
	}
	before := creates(failing)
	var oks, fails []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		oks = append(oks, run(b, ok.environ, coda, "token", "--min-ttl", "59.999s"))
		fails = append(fails, run(b, failing.environ, coda, "token", "--min-ttl", "59.999s"))
	}
	b.StopTimer()
	if n := creates(failing) - before; n != b.N {
		b.Fatalf("%d rotations in %d calls: every call must rotate", n, b.N)
	}
	b.ReportMetric(ms(median(oks)), "deletes-ok-ms")
	b.ReportMetric(ms(median(fails)), "deletes-failing-ms")
	b.ReportMetric(float64(median(fails))/float64(median(oks)), "x-failing")
}

// BenchmarkRotate: one-shot `coda rotate` (default grace: create + list,
// two requests) on loopback. Target: the floor plus 1.5x the cost of its
// two requests. That cost is measured as coda pays it, in a fresh process:
// floor2req links the same libraries and makes the same two requests, so
// floor2req - floor is what the requests add to a process's run time.
func BenchmarkRotate(b *testing.B) {
	coda, floor := build(b)
	floor2req := buildOne(b, "./floor2req")
	e := loggedIn(b, coda)
	store := filepath.Join(e.dir, "credentials.json")
	snapshot, err := os.ReadFile(store)
	if err != nil {
		b.Fatal(err)
	}
	pat, _ := e.srv.IssuePAT(benchUser, "bench-direct", 24*time.Hour)
	var floors, rotates, withRequests []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Every rotation starts from the same store: one token, nothing pending.
		if err := os.WriteFile(store, snapshot, 0o600); err != nil {
			b.Fatal(err)
		}
		before := len(e.srv.Requests())
		floors = append(floors, run(b, e.environ, floor))
		rotates = append(rotates, run(b, e.environ, coda, "rotate"))
		if n := len(e.srv.Requests()) - before; n != 2 {
			b.Fatalf("coda rotate made %d requests, want 2 (create, list)", n)
		}
		withRequests = append(withRequests, runStdin(b, e.environ, pat+"\n", floor2req, e.srv.URL()))
		// The store goes back to the snapshot, so the tokens minted here
		// would be orphans the next rotation sweeps: revoke them.
		for _, t := range e.srv.LiveTokens(benchUser) {
			if t.Created.After(e.loginAt) && t.Comment != "bench-direct" {
				e.srv.RevokeToken(t.ID)
			}
		}
	}
	b.StopTimer()
	fl, rot, req := median(floors), median(rotates), median(withRequests)
	b.ReportMetric(ms(fl), "floor-ms")
	b.ReportMetric(ms(req), "floor+2req-ms")
	b.ReportMetric(ms(rot), "rotate-ms")
	b.ReportMetric(float64(rot-fl)/float64(req-fl), "x-2req")
}

// BenchmarkRotateNoGrace: one-shot `coda rotate --grace 0s` on loopback:
// create, list and delete (three requests) and two durable store writes.
// Target: the floor plus 1.3x what those cost a fresh process, measured by
// floor3req, which links the same libraries and makes the same three
// requests cold and the two writes one after the other (coda overlaps the
// list with the first write, so it may beat the reference).
func BenchmarkRotateNoGrace(b *testing.B) {
	coda, floor := build(b)
	floor3req := buildOne(b, "./floor3req")
	e := loggedIn(b, coda)
	writes := b.TempDir() // same filesystem as the store
	var floors, rotates, refs []time.Duration
	b.ResetTimer()
	reference := func() {
		pat, patID := e.srv.IssuePAT(benchUser, "bench-old", 24*time.Hour)
		refs = append(refs, runStdin(b, e.environ, pat+"\n", floor3req, e.srv.URL(), writes, patID))
		for _, t := range e.srv.LiveTokens(benchUser) {
			if t.ID == patID {
				b.Fatal("floor3req did not delete the old token")
			}
			if t.Comment == "floor3req" {
				e.srv.RevokeToken(t.ID)
			}
		}
	}
	for i := 0; i < b.N; i++ {
		floors = append(floors, run(b, e.environ, floor))
		// Odd runs take the reference first: neither command always finds
		// the server just woken by the other.
		if i%2 == 1 {
			reference()
		}
		before := len(e.srv.Requests())
		rotates = append(rotates, run(b, e.environ, coda, "rotate", "--grace", "0s"))
		wantPaths(b, e.srv.Requests()[before:], fakeworkspace.PathTokenCreate, fakeworkspace.PathTokenList, fakeworkspace.PathTokenDelete)
		if live := tokensBy(e, "coda:"); len(live) != 1 {
			b.Fatalf("after coda rotate --grace 0s, coda holds %d live tokens, want 1", len(live))
		}
		if i%2 == 0 {
			reference()
		}
	}
	b.StopTimer()
	fl, rot, ref := median(floors), median(rotates), median(refs)
	b.ReportMetric(ms(fl), "floor-ms")
	b.ReportMetric(ms(ref), "floor+3req+2writes-ms")
	b.ReportMetric(ms(rot), "rotate-ms")
	b.ReportMetric(float64(rot-fl)/float64(ref-fl), "x-3req+2writes")
	b.ReportMetric(pairedRatio(floors, rotates, refs), "x-paired")
}

// BenchmarkStatusCheck: `coda status --check`, whose only request asks the
// workspace who the token belongs to. Target: the floor plus 1.3x that
// request made cold by floor1req, which links the same libraries.
func BenchmarkStatusCheck(b *testing.B) {
	coda, floor := build(b)
	floor1req := buildOne(b, "./floor1req")
	e := loggedIn(b, coda)
	pat, _ := e.srv.IssuePAT(benchUser, "bench-direct", 24*time.Hour)
	var floors, checks, refs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floors = append(floors, run(b, e.environ, floor))
		// Odd runs take the reference first: neither command always finds
		// the server just woken by the other.
		if i%2 == 1 {
			refs = append(refs, runStdin(b, e.environ, pat+"\n", floor1req, e.srv.URL()))
		}
		before := len(e.srv.Requests())
		checks = append(checks, run(b, e.environ, coda, "status", "--check"))
		wantPaths(b, e.srv.Requests()[before:], fakeworkspace.PathMe)
		if i%2 == 0 {
			refs = append(refs, runStdin(b, e.environ, pat+"\n", floor1req, e.srv.URL()))
		}
	}
	b.StopTimer()
	fl, chk, ref := median(floors), median(checks), median(refs)
	b.ReportMetric(ms(fl), "floor-ms")
	b.ReportMetric(ms(ref), "floor+1req-ms")
	b.ReportMetric(ms(chk), "status-check-ms")
	b.ReportMetric(float64(chk-fl)/float64(ref-fl), "x-1req")
	b.ReportMetric(pairedRatio(floors, checks, refs), "x-paired")
}

// pairedRatio is the ratio of the median costs over the floor, each run
// compared with the floor run next to it: median(measured-floor) /
// median(reference-floor). Less swayed than the ratio of medians when the
// machine's speed drifts during a benchmark and the costs are a few ms.
func pairedRatio(floors, measured, refs []time.Duration) float64 {
	m := make([]time.Duration, len(floors))
	r := make([]time.Duration, len(floors))
	for i := range floors {
		m[i], r[i] = measured[i]-floors[i], refs[i]-floors[i]
	}
	return float64(median(m)) / float64(median(r))
}

// wantPaths fails unless reqs are exactly the given paths, answered 200.
func wantPaths(b *testing.B, reqs []fakeworkspace.Request, paths ...string) {
	b.Helper()
	got := make([]string, 0, len(reqs))
	ok := len(reqs) == len(paths)
	for i, r := range reqs {
		got = append(got, fmt.Sprintf("%s %s %d", r.Method, r.Path, r.Status))
		if ok && (r.Path != paths[i] || r.Status != 200) {
			ok = false
		}
	}
	if !ok {
		b.Fatalf("requests %v, want %v (each 200)", got, paths)
	}
}

// tokensBy lists the bench user's live tokens whose comment starts with prefix.
func tokensBy(e *env, prefix string) []fakeworkspace.TokenInfo {
	var out []fakeworkspace.TokenInfo
	for _, t := range e.srv.LiveTokens(benchUser) {
		if strings.HasPrefix(t.Comment, prefix) {
			out = append(out, t)
		}
	}
	return out
}

// BenchmarkSetup: `coda setup --all` into an empty HOME, no installs.
// Target: at most 50 ms a run. The endpoint family is probed once by a
// first run and then read from the profile, as it is for users.
func BenchmarkSetup(b *testing.B) {
	coda, _ := build(b)
	e := loggedIn(b, coda)
	run(b, e.environ, coda, "setup", "--all") // probes the endpoints once
	var runs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		home := b.TempDir()
		environ := append(slices.Clone(e.environ), "HOME="+home)
		runs = append(runs, run(b, environ, coda, "setup", "--all"))
		if _, err := os.Stat(filepath.Join(home, ".claude", "settings.json")); err != nil {
			b.Fatalf("setup wrote no Claude settings: %v", err)
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(median(runs)), "setup-ms")
}
