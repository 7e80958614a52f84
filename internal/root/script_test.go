package root_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/root"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/store/keyringtest"
)

// transcriptEnv names the dir where every coda process of the script suite
// copies what it prints, so TestScripts can scan it for leaked tokens.
const transcriptEnv = "CODA_TEST_TRANSCRIPTS"

const scriptUser = "alice@example.com"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"coda": codaMain})
}

// codaMain runs coda as the scripts see it, teeing its output into the
// transcript dir. `coda token` stdout is the one output allowed to hold a
// token, so it is left out.
func codaMain() {
	useTestKeyring()
	dir := os.Getenv(transcriptEnv)
	if dir == "" {
		os.Exit(root.Main())
	}
	f, err := os.CreateTemp(dir, "run-*.txt")
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(f, "$ coda %s\n", strings.Join(os.Args[1:], " "))
	var wg sync.WaitGroup
	tee := func(real **os.File, record bool) {
		r, w, err := os.Pipe()
		if err != nil {
			panic(err)
		}
		orig := *real
		*real = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst io.Writer = orig
			if record {
				dst = io.MultiWriter(orig, f)
			}
			_, _ = io.Copy(dst, r)
		}()
	}
	isToken := len(os.Args) > 1 && slicesContains(os.Args[1:], "token")
	outW, errW := os.Stdout, os.Stderr
	tee(&os.Stdout, !isToken)
	tee(&os.Stderr, true)
	code := root.Main()
	os.Stdout.Close()
	os.Stderr.Close()
	os.Stdout, os.Stderr = outW, errW
	wg.Wait()
	f.Close()
	os.Exit(code)
}

// keyringEnv chooses the fake system keyring of the suite's coda
// processes (keyringtest.Parse): file:PATH, error or hang. Only this test
// binary reads it; unset, the keyring is out of reach, so no script ever
// touches the keyring of the machine running the tests.
const keyringEnv = "CODA_TEST_KEYRING"

func useTestKeyring() {
	b, timeout, err := keyringtest.Parse(os.Getenv(keyringEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	store.SetKeyringBackend(b, timeout)
}

// scriptState is the store as the script's coda processes see it, with
// the tokens of profile read from the script's fake keyring.
func scriptState(ts *testscript.TestScript, profile string) *store.State {
	b, timeout, err := keyringtest.Parse(ts.Getenv(keyringEnv))
	ts.Check(err)
	st, err := store.NewFileStoreWithKeyring(ts.Getenv("CODA_CONFIG_DIR"), b, timeout).Load()
	ts.Check(err)
	ts.Check(st.Profile(profile).Unseal())
	return st
}

func slicesContains(args []string, s string) bool {
	for _, a := range args {
		if a == s {
			return true
		}
	}
	return false
}

// minted collects every token value the suite's fake workspaces issued.
var minted struct {
	sync.Mutex
	values []string
}

var update = flag.Bool("update", false, "rewrite the golden files of the testscript suite")

func TestScripts(t *testing.T) {
	transcripts := t.TempDir()
	t.Cleanup(func() { scanTranscripts(t, transcripts) })
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			return setupScript(env, transcripts)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fake":           cmdFake,
			"sleep":          cmdSleep,
			"signal-watcher": cmdSignalWatcher,
			"token-in":       cmdTokenIn,
			"coda-token":     cmdCodaToken,
			"proxy-request":  cmdProxyRequest,
		},
	})
}

func setupScript(env *testscript.Env, transcripts string) error {
	var mu sync.Mutex
	var unexpected []string
	srv := fakeworkspace.New(fakeworkspace.Options{OnUnexpected: func(msg string) {
		mu.Lock()
		unexpected = append(unexpected, msg)
		mu.Unlock()
	}})
	if err := srv.Start(); err != nil {
		return err
	}
	srv.AddUser(scriptUser, "Alice Example")
	pat, patID := srv.IssuePAT(scriptUser, "pasted by alice", 90*24*time.Hour)
	env.Setenv("PAT_ID", patID) // a token id, not a secret: scripts name the pasted token by it
	env.Values["fake"] = srv
	env.Values["pat"] = pat
	env.Defer(func() {
		minted.Lock()
		minted.values = append(minted.values, srv.MintedValues()...)
		minted.Unlock()
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(unexpected) > 0 {
			env.T().Fatal("the fake workspace got requests it has no handler for:\n" + strings.Join(unexpected, "\n"))
		}
	})
	home := filepath.Join(env.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	for name, content := range map[string]string{
		"pat.txt":     pat + "\n",
		"bad-pat.txt": "dapi00000000000000000000000000000000\n",
	} {
		if err := os.WriteFile(filepath.Join(env.WorkDir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	env.Setenv("HOME", home)
	env.Setenv("FAKE_URL", srv.URL())
	env.Setenv("CODA_CONFIG_DIR", filepath.Join(env.WorkDir, "coda"))
	// Logins keep tokens in credentials.json unless a script says
	// otherwise (keyring.txtar).
	env.Setenv("CODA_STORAGE", "file")
	env.Setenv(transcriptEnv, transcripts)
	// A valid PAT in a place the SDK would look if coda let it: a login
	// with a bad token must still fail.
	cfg := fmt.Sprintf("[DEFAULT]\nhost = %s\ntoken = %s\n\n[sp]\nhost = %s\nclient_id = sp-id\nclient_secret = sp-secret\n", srv.URL(), pat, srv.URL())
	path := filepath.Join(home, ".databrickscfg")
	if _, err := os.Stat(path); err == nil {
		return nil // the script brings its own
	}
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// cmdFake inspects and steers the script's fake workspace:
//
//	fake fault METHOD PATH STATUS [times=N] [after] [delay=D] [location=URL] [body=TEXT] [rewrite=NAME] [date=D]
//	    (location: a Location header, for a 3xx; body: answer TEXT as it
//	    is; rewrite: run the handler and send its answer changed by
//	    fakeworkspace.Misbehaviours[NAME], with STATUS 0 keeping its status;
//	    date: a Date header D away from now, a workspace clock that is off)
//	fake coda-tokens N     (exactly N live coda tokens)
//	fake tokens N          (exactly N live tokens of any kind)
//	fake issue-pat         (another user-made token, created now)
//	fake kill-coda-tokens  (delete every coda token server-side)
//	fake requests METHOD PATH N (exactly N such requests so far)
//	fake profile NAME KIND (a Databricks CLI profile: see cmdFakeProfile)
//	fake pat-env VAR       (VAR holds alice's valid pasted PAT, unseen)
func cmdFake(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fake")
	}
	srv := ts.Value("fake").(*fakeworkspace.Server)
	if len(args) == 0 {
		ts.Fatalf("usage: fake fault|coda-tokens|tokens|issue-pat|kill-coda-tokens|requests ...")
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		ts.Check(err)
		return n
	}
	switch args[0] {
	case "fault":
		if len(args) < 4 {
			ts.Fatalf("usage: fake fault METHOD PATH STATUS [times=N] [after] [delay=D] [location=URL] [body=TEXT] [rewrite=NAME] [date=D]")
		}
		f := fakeworkspace.Fault{Status: atoi(args[3])}
		for _, opt := range args[4:] {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "times":
				f.Times = atoi(v)
			case "after":
				f.AfterHandler = true
			case "delay":
				d, err := time.ParseDuration(v)
				ts.Check(err)
				f.Delay = d
			case "location":
				f.Header = http.Header{"Location": {v}}
				if f.Body == nil {
					f.Body = []byte{}
				}
			case "body":
				f.Body = []byte(v)
			case "date":
				d, err := time.ParseDuration(v)
				ts.Check(err)
				f.Header = http.Header{"Date": {time.Now().Add(d).UTC().Format(http.TimeFormat)}}
			case "rewrite":
				rw, ok := fakeworkspace.Misbehaviours[v]
				if !ok {
					names := make([]string, 0, len(fakeworkspace.Misbehaviours))
					for name := range fakeworkspace.Misbehaviours {
						names = append(names, name)
					}
					sort.Strings(names)
					ts.Fatalf("unknown rewrite %q (known: %s)", v, strings.Join(names, ", "))
				}
				f.Rewrite = rw
			default:
				ts.Fatalf("unknown fault option %q", opt)
			}
		}
		srv.AddFault(args[1], args[2], f)
	case "coda-tokens", "tokens":
		want := atoi(args[1])
		got := 0
		for _, tok := range srv.LiveTokens(scriptUser) {
			if args[0] == "tokens" || strings.HasPrefix(tok.Comment, "coda:") {
				got++
			}
		}
		if got != want {
			ts.Fatalf("fake workspace: %d live %s, want %d", got, args[0], want)
		}
	case "issue-pat":
		srv.IssuePAT(scriptUser, "another user token", 30*24*time.Hour)
	case "kill-coda-tokens":
		pat := ts.Value("pat").(string)
		for _, tok := range srv.LiveTokens(scriptUser) {
			if !strings.HasPrefix(tok.Comment, "coda:") {
				continue
			}
			body := strings.NewReader(`{"token_id":"` + tok.ID + `"}`)
			req, err := http.NewRequest("POST", srv.URL()+"/api/2.0/token/delete", body)
			ts.Check(err)
			req.Header.Set("Authorization", "Bearer "+pat)
			resp, err := http.DefaultClient.Do(req)
			ts.Check(err)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				ts.Fatalf("delete %s: status %d", tok.ID, resp.StatusCode)
			}
		}
	case "requests":
		want := atoi(args[3])
		got := 0
		for _, r := range srv.Requests() {
			if r.Method == args[1] && r.Path == args[2] {
				got++
			}
		}
		if got != want {
			ts.Fatalf("fake workspace saw %d %s %s requests, want %d", got, args[1], args[2], want)
		}
	case "profile":
		cmdFakeProfile(ts, srv, args[1:])
	case "pat-env":
		ts.Setenv(args[1], ts.Value("pat").(string))
	default:
		ts.Fatalf("unknown fake command %q", args[0])
	}
}

// cmdSignalWatcher sends a signal to the profile's watcher, found through
// the PID file it keeps (testscript's kill knows only INT and KILL):
//
//	signal-watcher PROFILE TERM|INT
func cmdSignalWatcher(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: signal-watcher PROFILE TERM|INT")
	}
	sig := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT}[args[1]]
	if sig == 0 {
		ts.Fatalf("unknown signal %q", args[1])
	}
	raw, err := os.ReadFile(filepath.Join(ts.Getenv("CODA_CONFIG_DIR"), "locks", "watch-"+args[0]+".pid"))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	ts.Check(err)
	// os.Process rather than syscall.Kill, which Windows lacks (there
	// Signal can only kill, and says so).
	p, err := os.FindProcess(pid)
	ts.Check(err)
	ts.Check(p.Signal(sig))
}

// cmdTokenIn checks whether FILE holds the profile's current token, read
// from the store (the script never sees the token):
//
//	[!] token-in FILE [PROFILE]
func cmdTokenIn(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: token-in FILE [PROFILE]")
	}
	profile := "default"
	if len(args) == 2 {
		profile = args[1]
	}
	p := scriptState(ts, profile).Profile(profile)
	if !p.HasToken() {
		ts.Fatalf("profile %s holds no token", profile)
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	switch found := bytes.Contains(data, []byte(p.Token)); {
	case found && neg:
		ts.Fatalf("%s holds the current token", args[0])
	case !found && !neg:
		ts.Fatalf("%s does not hold the current token", args[0])
	}
}

// cmdCodaToken runs `coda token ARGS` and checks that it succeeds and
// prints exactly the store's current token, so the token never reaches
// the script's log (testscript prints stdout when a script fails). Its
// stderr becomes the script's stderr (the leak scan covers it):
//
//	coda-token [ARGS...]
func cmdCodaToken(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! coda-token (use ! coda token)")
	}
	var env []string
	for _, k := range []string{"HOME", "PATH", "CODA_CONFIG_DIR", "CODA_PROFILE", "CODA_MIN_TTL", "CODA_LIFETIME", "CODA_DEBUG", keyringEnv, transcriptEnv} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	cmd := exec.Command("coda", append([]string{"token"}, args...)...)
	cmd.Env, cmd.Dir = env, ts.Getenv("WORK")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		ts.Fatalf("coda token %v: %v\n%s", args, err, stderr.String())
	}
	profile := ts.Getenv("CODA_PROFILE")
	if i := slicesIndex(args, "-p"); i >= 0 && i+1 < len(args) {
		profile = args[i+1]
	}
	if profile == "" {
		profile = "default"
	}
	if p := scriptState(ts, profile).Profile(profile); !p.HasToken() || stdout.String() != p.Token+"\n" {
		ts.Fatalf("coda token did not print exactly the current token of profile %s and a newline (%d bytes)", profile, stdout.Len())
	}
	_, _ = ts.Stderr().Write(stderr.Bytes())
}

func slicesIndex(args []string, s string) int {
	for i, a := range args {
		if a == s {
			return i
		}
	}
	return -1
}

func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// scanTranscripts fails if any output of the suite holds a token the fake
// workspaces minted (or the pasted PATs): only `coda token` may print one.
func scanTranscripts(t *testing.T, dir string) {
	if t.Failed() {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	minted.Lock()
	values := append([]string(nil), minted.values...)
	minted.Unlock()
	// The whole suite runs coda about a hundred times; a filtered run fewer.
	atLeast := 20
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		atLeast = 1
	}
	if len(entries) < atLeast || len(values) < atLeast/2 {
		t.Fatalf("leak scan saw only %d coda runs and %d tokens: the suite did not exercise coda", len(entries), len(values))
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if bytes.Contains(data, []byte(v)) {
				first, _, _ := bytes.Cut(data, []byte("\n"))
				t.Errorf("a token minted in the suite appears in the output of %q", first)
			}
		}
	}
	t.Logf("leak scan: %d coda runs, %d tokens, no token in any output", len(entries), len(values))
}

// cmdProxyRequest sends a Gemini generateContent request through the
// default profile's proxy, with the profile's local key as Gemini CLI sends
// it, and checks the answer is 200 (or, negated, that it is not):
//
//	[!] proxy-request [KEY]
//
// KEY replaces the local key (a wrong one must be refused).
func cmdProxyRequest(ts *testscript.TestScript, neg bool, args []string) {
	dir := ts.Getenv("CODA_CONFIG_DIR")
	st, err := store.NewFileStore(dir).Load()
	ts.Check(err)
	p := st.Profile("default")
	if p == nil || p.Proxy.Port == 0 {
		ts.Fatalf("the default profile has no proxy port")
	}
	key, err := os.ReadFile(filepath.Join(dir, "proxy", "default.key"))
	ts.Check(err)
	if len(args) == 1 {
		key = []byte(args[0])
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/serving-endpoints/google/v1beta/models/databricks-gemini-2-5-pro:generateContent", p.Proxy.Port)
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	ts.Check(err)
	req.Header.Set("x-goog-api-key", strings.TrimSpace(string(key)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	resp.Body.Close()
	switch ok := resp.StatusCode == http.StatusOK; {
	case ok && neg:
		ts.Fatalf("the proxy answered 200")
	case !ok && !neg:
		ts.Fatalf("the proxy answered %d, want 200", resp.StatusCode)
	}
}

// cmdFakeProfile adds profile NAME, holding a new credential of KIND on the
// script's fake workspace, to the Databricks CLI's config file
// (DATABRICKS_CONFIG_FILE, else $HOME/.databrickscfg), as the Databricks
// CLI would write it; the script never sees the secret:
//
//	fake profile NAME pat [SCOPE...]  (a PAT of alice, with only SCOPEs if given)
//	fake profile NAME bad-pat         (a token the workspace does not know)
//	fake profile NAME m2m             (a new service principal's OAuth secret)
//	fake profile NAME u2m [expired]   (a databricks auth login of alice, its
//	                                   tokens in $HOME/.databricks/token-cache.json)
func cmdFakeProfile(ts *testscript.TestScript, srv *fakeworkspace.Server, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: fake profile NAME pat [SCOPE...]|bad-pat|m2m|u2m [expired]")
	}
	name, kind := args[0], args[1]
	section := fmt.Sprintf("\n[%s]\nhost = %s\n", name, srv.URL())
	switch kind {
	case "pat":
		var scopes []string
		if len(args) > 2 {
			scopes = args[2:]
		}
		pat, _ := srv.IssueScopedPAT(scriptUser, "databricks cli "+name, 30*24*time.Hour, scopes)
		section += "token = " + pat + "\nauth_type = pat\n"
	case "bad-pat":
		section += "token = dapi00000000000000000000000000000000\nauth_type = pat\n"
	case "m2m":
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", len(srv.MintedValues()))
		section += "client_id = " + id + "\nclient_secret = " + srv.AddServicePrincipal(id, "coda bot "+name) + "\nauth_type = oauth-m2m\n"
	case "u2m":
		lifetime := fakeworkspace.AccessTokenLifetime
		if len(args) > 2 && args[2] == "expired" {
			lifetime = -time.Minute
		}
		access, refresh, _ := srv.IssueU2M(scriptUser, lifetime)
		cache := filepath.Join(ts.Getenv("HOME"), ".databricks", "token-cache.json")
		ts.Check(fakeworkspace.WriteU2MCache(cache, name, access, refresh, time.Now().Add(lifetime)))
		section += "auth_type = databricks-cli\n"
	default:
		ts.Fatalf("unknown profile kind %q", kind)
	}
	path := ts.Getenv("DATABRICKS_CONFIG_FILE")
	if path == "" {
		path = filepath.Join(ts.Getenv("HOME"), ".databrickscfg")
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	ts.Check(err)
	_, err = f.WriteString(section)
	ts.Check(err)
	ts.Check(f.Close())
}
