package doctor

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	logincmd "github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/cmd/setup"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	core "github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store"
)

// ---- harness ----

// world0 is what a test's doctor sees of the machine beyond its
// environment: the crontab (`crontab -l`) and the working directory.
type world0 struct {
	crontab string
	cwd     string
}

// newEnv is an Env whose doctor reads a fake crontab, runs in a fixed
// working directory and sees a workspace whose Date header follows the
// fake clock plus skew.
func newEnv(t *testing.T, w *world0) *cmdtest.Env {
	t.Helper()
	newCmd := func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdDoctor(f, func(ctx context.Context, o *Options) error {
			o.Crontab = func(context.Context) (string, error) { return w.crontab, nil }
			o.F.Getwd = func() (string, error) { return w.cwd, nil }
			return run(ctx, o)
		})
	}
	e := cmdtest.NewWithPAT(t, newCmd, cmdtest.Cmd(logincmd.NewCmdLogin))
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	e.Vars["HOME"] = home
	w.cwd = home
	skewDate(e, 0)
	return e
}

// skewDate makes the workspace's Date header the fake clock's time plus
// skew (net/http would send the real time, years from the fake clock's).
func skewDate(e *cmdtest.Env, skew time.Duration) {
	e.Srv.ClearFaults()
	e.Srv.AddFault(http.MethodGet, datePath, fakeworkspace.Fault{Header: http.Header{"Date": {e.Clock.Now().Add(skew).UTC().Format(http.TimeFormat)}}})
}

// line finds the report line of the check named name.
func line(out, name string) string {
	re := regexp.MustCompile(`(?m)^(PASS|WARN|FAIL|SKIP)  ` + regexp.QuoteMeta(name) + `  +.*$`)
	return re.FindString(out)
}

func update(t *testing.T, e *cmdtest.Env, fn func(p *store.Profile)) {
	t.Helper()
	err := store.NewFileStore(e.Dir).Update(context.Background(), func(s *store.State) error {
		fn(s.Profile("default"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ---- flags ----

func TestNewCmdDoctorFlags(t *testing.T) {
	tests := []struct {
		args          []string
		deep, offline bool
		wantCode      int // -1: runF is called
	}{
		{args: nil, wantCode: -1},
		{args: []string{"--deep"}, deep: true, wantCode: -1},
		{args: []string{"--offline"}, offline: true, wantCode: -1},
		{args: []string{"--deep", "--offline"}, wantCode: exit.Usage},
		{args: []string{"extra"}, wantCode: exit.Error},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			e := cmdtest.New(t, nil)
			res, got := cmdtest.Parse(e, NewCmdDoctor, tt.args...)
			if tt.wantCode >= 0 {
				if got != nil || res.Code() != tt.wantCode {
					t.Fatalf("code %d, runF called %v; want code %d and no call", res.Code(), got != nil, tt.wantCode)
				}
				return
			}
			if res.Err != nil || got == nil {
				t.Fatalf("err = %v, options = %+v", res.Err, got)
			}
			if got.Deep != tt.deep || got.Offline != tt.offline || got.Timing == nil || got.Crontab == nil {
				t.Errorf("options = %+v", got)
			}
		})
	}
}

// ---- run: one state per row, the line it must produce and the exit ----

func TestDoctorStates(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *cmdtest.Env, w *world0)
		args  []string
		check string // the check whose line is asserted
		want  string // regexp the line must match
		code  int
	}{
		{name: "not logged in", check: "token", want: `^FAIL  token +profile default is not logged in; fix: coda login$`, code: exit.Auth},
		{name: "healthy token", setup: loggedIn, check: "token online",
			want: `^PASS  token online +the workspace accepts the token \(user alice@example\.com\)$`},
		{name: "expired", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			e.Clock.Advance(16 * time.Minute)
		}, check: "token", want: `^FAIL  token +token …[0-9a-f]{4} expired at .*; fix: coda login$`, code: exit.Auth},
		{name: "expiring", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			e.Clock.Advance(13 * time.Minute)
			skewDate(e, 0)
		}, check: "token", want: `^WARN  token +token …[0-9a-f]{4} expires in 2m0s, less than the 5m a rotation keeps.*; fix: coda rotate$`},
		{name: "revoked", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			p := login(t, e, w)
			e.Srv.RevokeToken(p.TokenID)
		}, check: "token online", want: `^FAIL  token online +the workspace rejects the token: .*403 Invalid access token.*; fix: coda login$`, code: exit.Auth},
		{name: "helpers outpace the grace", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) {
				p.Tools = append(p.Tools, store.Tool{Plugin: "testhelper", Refresh: policy.Duration(time.Minute)})
			})
			e.Vars["CODA_GRACE"] = "30s"
		}, check: "timing", want: `^FAIL  timing +grace 30s is too short for testhelper, .*; fix: coda setup --grace 30s testhelper$`, code: exit.Error},
		{name: "bad CODA_LIFETIME", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			e.Vars["CODA_LIFETIME"] = "soon"
		}, check: "timing", want: `^FAIL  timing +CODA_LIFETIME="soon" is not a duration`, code: exit.Error},
		{name: "no rotator", setup: loggedIn, check: "watcher",
			want: `^WARN  watcher +no watcher, service or cron job rotates the token: .*; fix: coda service install \(or coda rotate --watch in a terminal\)$`},
		{name: "cron rotates", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			w.crontab = "# coda rotate is commented here\n*/5 * * * * /usr/local/bin/coda rotate -p default\n"
		}, check: "watcher", want: `^PASS  watcher +no watcher runs, but cron runs coda rotate$`},
		{name: "commented cron line", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			w.crontab = "# */5 * * * * coda rotate\n"
		}, check: "watcher", want: `^WARN  watcher `},
		{name: "last rotation stale", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			e.Vars["CODA_INTERVAL"] = "1m"
			e.Clock.Advance(3 * time.Minute)
			skewDate(e, 0)
		}, check: "last rotation", want: `^WARN  last rotation +the last rotation was 3m ago, .*but the interval is 1m.*; fix: coda rotate, then coda service install$`},
		{name: "pending held", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) {
				p.Pending = []store.Pending{{TokenID: "0123456789abcdefold1", DeleteAfter: e.Clock.Now(), ExpiresAt: e.Clock.Now().Add(time.Hour), HeldBy: "gemini: ~/.gemini/.env GEMINI_API_KEY: is a directory"}}
			})
		}, check: "pending", want: `^WARN  pending +…old1 kept alive while a tool may hold it \(gemini: .*\); fix: coda rotate`},
		{name: "pending failed deletes", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) {
				p.Pending = []store.Pending{{TokenID: "0123456789abcdefold2", DeleteAfter: e.Clock.Now(), ExpiresAt: e.Clock.Now().Add(time.Hour), Attempts: 3, LastError: "delete token: 500"}}
			})
		}, check: "pending", want: `^WARN  pending +…old2: deletion failed 3 times \(delete token: 500\); fix: coda rotate`},
		{name: "pending waiting", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) {
				p.Pending = []store.Pending{{TokenID: "0123456789abcdefold3", DeleteAfter: e.Clock.Now().Add(time.Minute), ExpiresAt: e.Clock.Now().Add(time.Hour)}}
			})
		}, check: "pending", want: `^PASS  pending +…old3 deleted after its grace, at `},
		{name: "sink holds another token", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			s := e.AddSink("default")
			if err := (sink.Writer{}).Put(s, "someone-elses-token"); err != nil {
				t.Fatal(err)
			}
		}, check: "sink testtool", want: `^FAIL  sink testtool +.*/tools/default\.token holds another token than the current one; fix: coda rotate$`, code: exit.Error},
		{name: "sink holds the token", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			p := login(t, e, w)
			if err := (sink.Writer{}).Put(e.AddSink("default"), p.Token); err != nil {
				t.Fatal(err)
			}
		}, check: "sink testtool", want: `^PASS  sink testtool +.*holds the current token$`},
		{name: "unknown plugin", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) { p.Tools = append(p.Tools, store.Tool{Plugin: "nosuch"}) })
		}, check: "plugin nosuch", want: `^WARN  plugin nosuch +unknown: not a plugin of this coda; fix: use the coda that set it up, or coda setup --remove nosuch$`},
		{name: "proxy down", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			writeKey(t, e)
			update(t, e, func(p *store.Profile) { p.Proxy = store.ProxyConfig{Env: true, Port: freePort(t)} })
		}, check: "proxy", want: `^FAIL  proxy +http://127\.0\.0\.1:\d+ is down: coda env cannot reach the workspace; fix: coda service install`, code: exit.Error},
		{name: "proxy without key", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) { p.Proxy = store.ProxyConfig{Env: true} })
		}, check: "proxy", want: `^FAIL  proxy +the proxy has no local key or port`, code: exit.Error},
		{name: "HTTP_PROXY in the way", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) { p.Proxy = store.ProxyConfig{Env: true} })
			e.Vars["HTTPS_PROXY"] = "http://proxy.example:3128"
		}, check: "http proxy", want: `^WARN  http proxy +HTTPS_PROXY is set and NO_PROXY does not cover 127\.0\.0\.1`, code: exit.Error},
		{name: "HTTP_PROXY with NO_PROXY", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) { p.Proxy = store.ProxyConfig{Env: true} })
			e.Vars["HTTPS_PROXY"] = "http://proxy.example:3128"
			e.Vars["NO_PROXY"] = "localhost,127.0.0.1"
		}, check: "http proxy", want: `^PASS  http proxy`, code: exit.Error},
		{name: "clock far off", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			skewDate(e, 10*time.Minute)
		}, check: "clock", want: `^FAIL  clock +the workspace.s clock is 10m ahead of this machine.s, but was in step .* more than the 5m a rotation keeps; fix: sync`, code: exit.Error},
		{name: "clock a bit off", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			skewDate(e, -2*time.Minute)
		}, check: "clock", want: `^WARN  clock +the workspace.s clock is 2m behind this machine.s`},
		{name: "clock skew stored offline", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			update(t, e, func(p *store.Profile) { p.ClockSkew = policy.Duration(3 * time.Minute) })
		}, args: []string{"--offline"}, check: "clock", want: `^WARN  clock +at the last rotation the workspace.s clock was 3m ahead of this machine.s \(not checked now: --offline\)`},
		{name: "config dir open", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			if err := os.Chmod(e.Dir, 0o750); err != nil {
				t.Fatal(err)
			}
		}, check: "store", want: `^WARN  store +.* is open to other users \(mode 0750\): they can list coda.s files; fix: chmod 700 `},
		{name: "config dir writable by others", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			if err := os.Chmod(e.Dir, 0o777); err != nil {
				t.Fatal(err)
			}
		}, check: "store", want: `^FAIL  store +config dir .* is writable by other users \(mode 0777\); fix: chmod 700 `, code: exit.Error},
		{name: "corrupt store", setup: func(t *testing.T, e *cmdtest.Env, w *world0) {
			login(t, e, w)
			if err := os.WriteFile(filepath.Join(e.Dir, store.FileName), []byte("{"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, check: "store", want: `^FAIL  store +credentials file .* is corrupt .*; fix: mv .*credentials\.json .*credentials\.json\.corrupt && coda login$`, code: exit.Error},
		{name: "gemini not set up", setup: loggedIn, check: "gemini env", want: `^SKIP  gemini env +gemini is not set up$`},
		{name: "endpoints without agents", setup: loggedIn, check: "endpoints", want: `^SKIP  endpoints +no agent set up$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world0{}
			e := newEnv(t, w)
			if tt.setup != nil {
				tt.setup(t, e, w)
			}
			res := e.Run(tt.args...)
			got := line(res.Out, tt.check)
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("line of %q = %q, want it to match %q\nreport:\n%s", tt.check, got, tt.want, res.Out)
			}
			if tt.code != 0 && res.Code() != tt.code || tt.code == 0 && res.Code() == exit.Auth {
				t.Errorf("exit code %d, want %d\n%s", res.Code(), tt.code, res.Out)
			}
			e.AssertNoSecrets(res.Out, res.ErrOut)
		})
	}
}

// loggedIn is a setup step: the default profile logged in.
func loggedIn(t *testing.T, e *cmdtest.Env, w *world0) { login(t, e, w) }

// login logs the default profile in and returns it.
func login(t *testing.T, e *cmdtest.Env, _ *world0) *store.Profile {
	t.Helper()
	p := e.Login()
	skewDate(e, 0)
	return p
}

func writeKey(t *testing.T, e *cmdtest.Env) {
	t.Helper()
	dir := filepath.Join(e.Dir, "proxy")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default.key"), []byte("coda-local-0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePort is a loopback port nothing listens on (once the test let go).
func freePort(t *testing.T) int {
	t.Helper()
	p := &store.Profile{}
	if err := core.EnsureProxy(p); err != nil {
		t.Fatal(err)
	}
	return p.Proxy.Port
}

// TestDoctorHealthyExit: a logged-in profile with nothing set up has no
// FAIL: exit 0, and the summary counts the lines.
func TestDoctorHealthyExit(t *testing.T) {
	w := &world0{crontab: "*/5 * * * * coda rotate\n"}
	e := newEnv(t, w)
	login(t, e, w)
	res := e.Run()
	if res.Err != nil {
		t.Fatalf("doctor: %v\n%s", res.Err, res.Out)
	}
	if strings.Contains(res.Out, "FAIL") || strings.Contains(res.Out, "WARN") {
		t.Errorf("a healthy profile has a WARN or FAIL:\n%s", res.Out)
	}
	if !regexp.MustCompile(`(?m)^\d+ passed, 0 warnings, 0 failed, \d+ skipped \(profile default\)$`).MatchString(res.Out) {
		t.Errorf("no summary line:\n%s", res.Out)
	}
	e.AssertNoSecrets(res.Out, res.ErrOut)
}

// TestDoctorJSON: versioned, every check with a status, counts that add up,
// and no token.
func TestDoctorJSON(t *testing.T) {
	w := &world0{}
	e := newEnv(t, w)
	login(t, e, w)
	res := e.Run("-o", "json")
	m := cmdtest.DecodeJSON(t, res.Out)
	checks, _ := m["checks"].([]any)
	if len(checks) == 0 || m["profile"] != "default" {
		t.Fatalf("json = %v", m)
	}
	total := 0
	for _, k := range []string{"passed", "warnings", "failed", "skipped"} {
		n, _ := m[k].(float64)
		total += int(n)
	}
	if total != len(checks) {
		t.Errorf("counts add up to %d, want %d checks", total, len(checks))
	}
	for _, c := range checks {
		c := c.(map[string]any)
		if c["name"] == "" || !regexp.MustCompile(`^(PASS|WARN|FAIL|SKIP)$`).MatchString(fmt.Sprint(c["status"])) {
			t.Errorf("check = %v", c)
		}
	}
	e.AssertNoSecrets(res.Out)
}

// TestDoctorOffline: --offline sends nothing to the workspace and marks
// the online checks SKIP.
func TestDoctorOffline(t *testing.T) {
	w := &world0{}
	e := newEnv(t, w)
	login(t, e, w)
	e.Srv.ResetRequests()
	res := e.Run("--offline")
	if n := len(e.Srv.Requests()); n != 0 {
		t.Errorf("--offline sent %d requests: %+v", n, e.Srv.Requests())
	}
	for _, name := range []string{"token online", "endpoints", "models"} {
		if got := line(res.Out, name); !strings.HasPrefix(got, "SKIP") || !strings.Contains(got, "offline (--offline)") {
			t.Errorf("line of %s = %q", name, got)
		}
	}
}

// TestDoctorDeep: --deep sends one request per protocol a set-up agent
// speaks, with the model its config names, and fails on a 404.
func TestDoctorDeep(t *testing.T) {
	w := &world0{}
	e := newEnv(t, w)
	login(t, e, w)
	res := e.Exec(cmdtest.Cmd(setup.NewCmdSetup), "claude", "codex", "--endpoint", "serving", "--proxy", "off")
	if res.Err != nil {
		t.Fatalf("setup: %v\n%s%s", res.Err, res.Out, res.ErrOut)
	}
	skewDate(e, 0)
	e.Srv.ResetRequests()
	e.Srv.AddFault(http.MethodPost, fakeworkspace.PathResponses, fakeworkspace.Fault{Status: 404, Times: 1})
	res = e.Run("--deep")
	if got := line(res.Out, "deep claude"); !regexp.MustCompile(`^PASS  deep claude +anthropic /serving-endpoints/anthropic/v1/messages with databricks-claude-[a-z0-9-]+: HTTP 200$`).MatchString(got) {
		t.Errorf("deep claude = %q\n%s", got, res.Out)
	}
	if got := line(res.Out, "deep codex"); !strings.HasPrefix(got, "FAIL  deep codex") || !strings.Contains(got, "HTTP 404, no such endpoint; fix: coda setup codex --model codex=ENDPOINT") {
		t.Errorf("deep codex = %q\n%s", got, res.Out)
	}
	if res.Code() != exit.Error {
		t.Errorf("exit %d, want 1", res.Code())
	}
	counts := map[string]int{}
	for _, r := range e.Srv.Requests() {
		if r.Protocol != "" {
			counts[r.Protocol]++
			if r.Protocol == fakeworkspace.ProtocolResponses && r.Model != "databricks-gpt-5-3-codex" {
				t.Errorf("codex's request named %q", r.Model)
			}
		}
	}
	// One probe of the endpoint family (a chat request), one request per
	// agent's protocol.
	want := map[string]int{fakeworkspace.ProtocolAnthropic: 1, fakeworkspace.ProtocolResponses: 1, fakeworkspace.ProtocolChat: 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("model requests by protocol = %v, want %v", counts, want)
	}
	e.AssertNoSecrets(res.Out, res.ErrOut)
}

// ---- pure helpers ----

func TestHelperPath(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"claude json", `"apiKeyHelper": "/usr/local/bin/coda token -p default",`, "/usr/local/bin/coda"},
		{"codex toml", "command = \"/opt/coda/bin/coda\"\nargs = [\"token\", \"-p\", \"work\"]\n", "/opt/coda/bin/coda"},
		{"codex proxy key", "command = \"/x/coda\"\nargs = [\"proxy\", \"key\", \"-p\", \"work\"]\n", "/x/coda"},
		{"pi bang", `"apiKey": "!/home/u/bin/mycoda token -p default"`, "/home/u/bin/mycoda"},
		{"crush subshell", `"api_key": "$(/usr/bin/coda proxy key -p default)"`, "/usr/bin/coda"},
		{"copilot export", `export COPILOT_PROVIDER_API_KEY_COMMAND='/usr/local/bin/coda token -p default'`, "/usr/local/bin/coda"},
		{"databricks host then token key", "host = http://127.0.0.1:8080\ntoken = dapi123\n", ""},
		{"a config dir path", `"path": "/home/u/.config/coda/tokens/opencode-default"`, ""},
		{"no profile flag", `"/usr/bin/coda token"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if m := helperPath.FindStringSubmatch(tt.text); m != nil {
				got = m[1]
			}
			if got != tt.want {
				t.Errorf("found %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCronRotates(t *testing.T) {
	tests := []struct {
		crontab string
		want    bool
	}{
		{"", false},
		{"*/10 * * * * coda rotate\n", true},
		{"MAILTO=me\n*/10 * * * * /usr/local/bin/coda rotate -p work >/dev/null 2>&1\n", true},
		{"# */10 * * * * coda rotate\n", false},
		{"*/10 * * * * coda status\n", false},
	}
	for _, tt := range tests {
		if got := cronRotates(tt.crontab); got != tt.want {
			t.Errorf("cronRotates(%q) = %v, want %v", tt.crontab, got, tt.want)
		}
	}
}

func TestModelIn(t *testing.T) {
	listed := []string{"databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-sonnet-4-6-long"}
	tests := []struct{ text, want string }{
		{`"ANTHROPIC_MODEL": "databricks-claude-sonnet-4-6", "OPUS": "databricks-claude-opus-4-6"`, "databricks-claude-sonnet-4-6"},
		{`model = "databricks-claude-sonnet-4-6-long"`, "databricks-claude-sonnet-4-6-long"},
		{`model = "other"`, ""},
	}
	for _, tt := range tests {
		if got := modelIn(tt.text, listed); got != tt.want {
			t.Errorf("modelIn(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
