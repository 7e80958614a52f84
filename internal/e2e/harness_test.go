//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/store"
)

const (
	user    = "alice@example.com"
	profile = "default"

	// codaTimeout bounds every coda command.
	codaTimeout = 60 * time.Second
	// killGrace is how long Wait waits for output after a kill.
	killGrace = 3 * time.Second
)

// binDir holds the coda binary the suite builds; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coda-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
	buildTime time.Duration
)

// codaBinary builds ./cmd/coda from the module root, once per run.
func codaBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "coda")
	buildOnce.Do(func() {
		start := time.Now()
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/coda")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/coda: %v\n%s", err, out)
		}
		buildTime = time.Since(start)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// configureProcessGroup starts cmd in its own process group and makes a
// cancelled context kill the whole group, children included.
func configureProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = killGrace
}

// world is one user's machine: a fake workspace, a temporary HOME with
// coda's config dir under it, and the coda binary.
type world struct {
	fw        *fakeworkspace.Server
	pat       string
	home      string
	configDir string
	coda      string
	path      string // PATH of every process the suite starts
	logDir    string
	tmpDir    string // TMPDIR: the CLIs' scratch files and crash reports

	mu         sync.Mutex
	outputs    []captured // every output of every process, for the leak scan
	unexpected []string
	// extraEnv is added to every process's environment (a suite's own
	// conditions, such as a corporate HTTPS_PROXY).
	extraEnv []string
	runs     int
}

type captured struct {
	label string
	data  []byte
}

// newWorld starts a fake workspace and makes a HOME. extraPath is put
// first on PATH (the npm bin dir), so coda setup detects the CLIs.
func newWorld(t *testing.T, extraPath ...string) *world {
	t.Helper()
	w := &world{coda: codaBinary(t)}
	w.fw = fakeworkspace.New(fakeworkspace.Options{OnUnexpected: func(msg string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.unexpected = append(w.unexpected, msg)
	}})
	if err := w.fw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.fw.Close)
	w.fw.AddUser(user, "Alice Example")
	w.pat, _ = w.fw.IssuePAT(user, "pasted by alice", 90*24*time.Hour)

	root := t.TempDir()
	w.home = filepath.Join(root, "home")
	w.configDir = filepath.Join(w.home, ".config", "coda")
	w.logDir = filepath.Join(root, "logs")
	w.tmpDir = filepath.Join(root, "tmp")
	if dir := os.Getenv("CODA_E2E_LOGS"); dir != "" {
		// Keep every process's output (scanned for tokens like the rest).
		w.logDir = filepath.Join(dir, sanitize(t.Name()))
		if err := os.RemoveAll(w.logDir); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{w.home, w.logDir, w.tmpDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dirs := append([]string{}, extraPath...)
	dirs = append(dirs, filepath.Dir(w.coda))
	if node, err := exec.LookPath("node"); err == nil {
		dirs = append(dirs, filepath.Dir(node))
	}
	dirs = append(dirs, "/usr/local/bin", "/usr/bin", "/bin")
	w.path = strings.Join(dedupe(dirs), string(os.PathListSeparator))

	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.unexpected) > 0 {
			t.Errorf("the fake workspace got requests it has no handler for:\n%s", strings.Join(w.unexpected, "\n"))
		}
	})
	return w
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// env is the whole environment of the processes the suite starts: a user
// with this HOME and nothing inherited from the test's environment.
func (w *world) env() []string {
	return append([]string{
		"HOME=" + w.home,
		"PATH=" + w.path,
		"TERM=dumb",
		"TMPDIR=" + w.tmpDir,
		"LANG=C.UTF-8",
		"CODA_CONFIG_DIR=" + w.configDir,
		// Keep the agents off the network: no update checks, telemetry or
		// model catalogues.
		"OPENCODE_DISABLE_MODELS_FETCH=1",
		"OPENCODE_DISABLE_AUTOUPDATE=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"PI_OFFLINE=1",
		"COPILOT_AUTO_UPDATE=false",
		"CRUSH_DISABLE_METRICS=1",
		"CRUSH_DISABLE_PROVIDER_AUTO_UPDATE=1",
		"DO_NOT_TRACK=1",
		// Never the real keyring of the machine running the suite.
		"CODA_STORAGE=file",
	}, w.extraEnv...)
}

// result is a finished process.
type result struct {
	label          string
	exit           int // -1: killed or did not start
	timedOut       bool
	stdout, stderr []byte
	dur            time.Duration
	err            error
}

func (r *result) ok() bool { return r.err == nil && r.exit == 0 }

// describe summarises a run for failure messages: exit status and the
// tails of both streams (token values never reach here: outputs are
// scanned, and no CLI is asked to print one).
func (r *result) describe() string {
	status := fmt.Sprintf("exit %d", r.exit)
	switch {
	case r.timedOut:
		status = "timed out and killed"
	case r.err != nil && r.exit < 0:
		status = r.err.Error()
	case r.exit < 0:
		status = "killed"
	}
	return fmt.Sprintf("%s: %s after %s\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s", r.label, status,
		r.dur.Round(100*time.Millisecond), tail(r.stdout, 20), tail(r.stderr, 30))
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// proc is a started process.
type proc struct {
	w      *world
	label  string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	ctx    context.Context
	start  time.Time
	outF   *os.File
	errF   *os.File
	done   chan struct{}
	res    *result
}

// start runs name in dir with the world's environment, stdin from
// /dev/null, killed with its process group after timeout.
func (w *world) start(t *testing.T, label, dir string, stdin string, timeout time.Duration, name string, args ...string) *proc {
	t.Helper()
	w.mu.Lock()
	w.runs++
	n := w.runs
	w.mu.Unlock()
	base := filepath.Join(w.logDir, fmt.Sprintf("%03d-%s", n, sanitize(label)))
	outF, err := os.Create(base + ".stdout")
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(base + ".stderr")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.ContainsRune(name, filepath.Separator) {
		// exec.Command would search the test's PATH, not the world's.
		if found, err := w.lookPath(name); err == nil {
			name = found
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = w.env()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	// Files, not pipes: a child that outlives the CLI cannot hold Wait up.
	cmd.Stdout, cmd.Stderr = outF, errF
	configureProcessGroup(cmd)
	p := &proc{w: w, label: label, cmd: cmd, cancel: cancel, ctx: ctx, start: time.Now(), outF: outF, errF: errF, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		cancel()
		outF.Close()
		errF.Close()
		p.res = &result{label: label, exit: -1, err: err}
		close(p.done)
		return p
	}
	go p.wait()
	return p
}

// lookPath finds an executable on the world's PATH.
func (w *world) lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(w.path) {
		path := filepath.Join(dir, name)
		if info, err := os.Stat(path); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s is not on the suite's PATH %s", name, w.path)
}

func (p *proc) wait() {
	defer close(p.done)
	err := p.cmd.Wait()
	dur := time.Since(p.start)
	// Whatever the CLI left behind in its group goes too.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	timedOut := errors.Is(p.ctx.Err(), context.DeadlineExceeded)
	p.cancel()
	p.outF.Close()
	p.errF.Close()
	stdout, _ := os.ReadFile(p.outF.Name())
	stderr, _ := os.ReadFile(p.errF.Name())
	res := &result{label: p.label, exit: p.cmd.ProcessState.ExitCode(), timedOut: timedOut,
		stdout: stdout, stderr: stderr, dur: dur}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		res.err = err
	}
	if timedOut {
		res.err = fmt.Errorf("timed out")
	}
	p.w.mu.Lock()
	p.w.outputs = append(p.w.outputs, captured{p.label + " stdout", stdout}, captured{p.label + " stderr", stderr})
	p.w.mu.Unlock()
	p.res = res
}

// Done is closed when the process has exited.
func (p *proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process and returns its result.
func (p *proc) Wait() *result {
	<-p.done
	return p.res
}

// Kill kills the process group now, unless the process has exited (its
// group was killed then).
func (p *proc) Kill() {
	select {
	case <-p.done:
	default:
		p.cancel() // cmd.Cancel kills the group
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// run runs a command to completion.
func (w *world) run(t *testing.T, label, dir, stdin string, timeout time.Duration, name string, args ...string) *result {
	t.Helper()
	return w.start(t, label, dir, stdin, timeout, name, args...).Wait()
}

// codaOK runs coda with args and fails the test unless it exits 0.
func (w *world) codaOK(t *testing.T, stdin string, args ...string) *result {
	t.Helper()
	r := w.run(t, "coda "+strings.Join(args, " "), w.home, stdin, codaTimeout, w.coda, args...)
	if !r.ok() {
		t.Fatalf("coda %s failed:\n%s", strings.Join(args, " "), r.describe())
	}
	return r
}

// current returns the profile's token from coda's store. The value is only
// ever compared, never printed.
func (w *world) current(t *testing.T) (id, value string) {
	t.Helper()
	st, err := store.NewFileStore(w.configDir).Load()
	if err != nil {
		t.Fatalf("load coda's store: %v", err)
	}
	p := st.Profile(profile)
	if !p.HasToken() || p.TokenID == "" {
		t.Fatalf("profile %s holds no token", profile)
	}
	return p.TokenID, p.Token
}

// holdsToken reports whether the file at path holds value.
func holdsToken(t *testing.T, path, value string) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return bytes.Contains(data, []byte(value))
}

// login logs in with the PAT on stdin, as `coda login --token-stdin` does
// for a user piping it from a password manager.
func (w *world) login(t *testing.T) {
	t.Helper()
	w.codaOK(t, w.pat+"\n", "login", "--host", w.fw.URL(), "--token-stdin")
}

// requestsSince returns the requests recorded after the first n.
func (w *world) requestsSince(n int) []fakeworkspace.Request {
	reqs := w.fw.Requests()
	if n > len(reqs) {
		return nil
	}
	return reqs[n:]
}

// short shows the last 4 characters of a token id, as coda does.
func short(id string) string {
	if len(id) <= 4 {
		return id
	}
	return "…" + id[len(id)-4:]
}

// scanLeaks fails the test if any output of any process holds a token value
// the fake minted, or the pasted PAT.
func (w *world) scanLeaks(t *testing.T, extra ...captured) {
	t.Helper()
	values := w.fw.MintedValues()
	w.mu.Lock()
	outputs := append(append([]captured{}, w.outputs...), extra...)
	w.mu.Unlock()
	// Files the CLIs leave in TMPDIR, such as Gemini CLI's error reports,
	// are what a user attaches to a bug report.
	_ = filepath.WalkDir(w.tmpDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 8<<20 {
			return nil
		}
		if data, err := os.ReadFile(path); err == nil {
			rel, _ := filepath.Rel(w.tmpDir, path)
			outputs = append(outputs, captured{"file $TMPDIR/" + rel, data})
		}
		return nil
	})
	if len(values) == 0 || len(outputs) == 0 {
		t.Errorf("leak scan saw %d outputs and %d tokens: nothing was exercised", len(outputs), len(values))
		return
	}
	leaks := 0
	for _, o := range outputs {
		for _, v := range values {
			if bytes.Contains(o.data, []byte(v)) {
				leaks++
				t.Errorf("a token value appears in the %s", o.label)
			}
		}
	}
	if leaks == 0 {
		t.Logf("leak scan: %d captured outputs, %d token values, no token in any output", len(outputs), len(values))
	}
}
