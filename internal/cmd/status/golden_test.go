package status

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmd/rotate"
	"github.com/coda-cli/coda/internal/cmd/setup"
	"github.com/coda-cli/coda/internal/cmdutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The text output of a profile with three tools set up (one through the
// proxy) and a rotation behind it, as a person sees it: every line fits
// 100 columns, times are local (a zone an hour east of UTC here), and
// durations read 14m 59s. What varies between runs (the fake workspace's
// port, the proxy's port, token ids, the temporary home) is normalised.
func TestStatusGolden(t *testing.T) {
	e := newTestEnv(t)
	home := t.TempDir()
	e.Vars["HOME"] = home
	e.Login()
	do := func(cmd func(*cmdutil.Factory) *cobra.Command, args ...string) {
		t.Helper()
		if res := e.Exec(cmd, args...); res.Err != nil {
			t.Fatalf("%v: %v\n%s", args, res.Err, res.ErrOut)
		}
	}
	do(cmdtest.Cmd(setup.NewCmdSetup), "claude", "codex", "gemini", "--endpoint", "serving")
	// Half a second: JSON still shows whole seconds.
	e.Clock.Advance(10*time.Minute + 3*time.Second + 500*time.Millisecond)
	do(cmdtest.Cmd(rotate.NewCmdRotate))
	e.Clock.Advance(time.Minute + 1*time.Second)

	cet := func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdStatus(f, func(ctx context.Context, o *Options) error {
			o.Location = time.FixedZone("CET", 3600)
			// Gemini's trust is about the current folder; a fixed one keeps
			// the wrapped lines the same wherever the tests run.
			o.F.Getwd = func() (string, error) { return "/home/alice/src", nil }
			return run(ctx, o)
		})
	}
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"status.golden", nil},
		{"status-v.golden", []string{"-v"}},
		{"status-gemini.golden", []string{"gemini", "codex", "pi"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			res := e.Exec(cet, tc.args...)
			if res.Err != nil {
				t.Fatalf("status: %v\n%s", res.Err, res.ErrOut)
			}
			for _, line := range strings.Split(res.Out, "\n") {
				if n := utf8.RuneCountInString(line); n > width {
					t.Errorf("a line of %d columns:\n%s", n, line)
				}
			}
			e.AssertNoSecrets(res.Out, res.ErrOut)
			repl := map[string]string{e.Srv.URL(): "https://adb-1234.azuredatabricks.net", e.Dir: "/home/alice/.config/coda", home: "/home/alice"}
			got := normalise(res.Out, repl)
			compareGolden(t, filepath.Join("testdata", tc.golden), got)
		})
	}

	// JSON: the same facts, times in UTC to the second.
	res := e.Exec(cet, "-o", "json")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	pj := cmdtest.DecodeJSON(t, res.Out)["profiles"].([]any)[0].(map[string]any)
	for _, k := range []string{"created_at", "expires_at", "last_rotation"} {
		if v, _ := pj[k].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(v) {
			t.Errorf("%s = %v, want RFC 3339 UTC in whole seconds", k, pj[k])
		}
	}
	if got, want := pj["created_at"], cmdtest.T0.Add(10*time.Minute+3*time.Second).Format(time.RFC3339); got != want {
		t.Errorf("created_at = %v, want %s", got, want)
	}
	pending := pj["pending"].([]any)[0].(map[string]any)
	if v, _ := pending["delete_after"].(string); strings.Contains(v, ".") || !strings.HasSuffix(v, "Z") {
		t.Errorf("pending delete_after = %q", v)
	}
	var deliveries []string
	for _, p := range pj["plugins"].([]any) {
		pl := p.(map[string]any)
		files, _ := pl["files"].([]any)
		if len(files) == 0 || !strings.HasPrefix(files[0].(string), home) {
			t.Errorf("%s: files %v", pl["name"], pl["files"])
		}
		deliveries = append(deliveries, pl["name"].(string)+"="+pl["delivery"].(string))
	}
	if got := strings.Join(deliveries, " "); got != "claude=helper codex=helper gemini=proxy" {
		t.Errorf("deliveries %s", got)
	}
}

// normalise replaces the values of repl (longest first) and what differs
// between runs: loopback ports, the test binary and token ids.
func normalise(s string, repl map[string]string) string {
	for len(repl) > 0 {
		longest := ""
		for k := range repl {
			if len(k) > len(longest) {
				longest = k
			}
		}
		s = strings.ReplaceAll(s, longest, repl[longest])
		delete(repl, longest)
	}
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:PORT")
	if exe, err := os.Executable(); err == nil {
		s = strings.ReplaceAll(s, exe, "/usr/local/bin/coda")
	}
	return regexp.MustCompile(`…[0-9a-f]{4}`).ReplaceAllString(s, "…abcd")
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// A tool that is not as coda left it gets a pointer to why, in one line
// under the table; the details are one command away.
func TestStatusPointsAtDetails(t *testing.T) {
	e := newTestEnv(t)
	home := t.TempDir()
	e.Vars["HOME"] = home
	e.Login("-p", "work")
	if res := e.Exec(cmdtest.Cmd(setup.NewCmdSetup), "-p", "work", "claude", "codex", "--endpoint", "serving"); res.Err != nil {
		t.Fatalf("setup: %v\n%s", res.Err, res.ErrOut)
	}
	res := e.Run("-p", "work")
	if strings.Contains(res.Out, "Why and what to do") {
		t.Errorf("a hint with every tool configured:\n%s", res.Out)
	}
	if err := os.Remove(filepath.Join(home, ".codex", "config.toml")); err != nil {
		t.Fatal(err)
	}
	res = e.Run("-p", "work")
	if !regexp.MustCompile(`(?m)^codex +stale +helper +~/\.codex/config\.toml$`).MatchString(res.Out) ||
		!strings.Contains(res.Out, "\nWhy and what to do: coda status codex -p work (or -v for every tool).\n") {
		t.Errorf("stdout:\n%s", res.Out)
	}
	res = e.Run("-p", "work", "codex")
	if !strings.Contains(res.Out, "codex: stale, helper\n") || strings.Contains(res.Out, "claude") {
		t.Errorf("status codex:\n%s", res.Out)
	}
}
