package coda_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/store"
)

// A custom build through coda.Main: the example binary lists its extra
// plugin, sets it up, and every rotation reaches the plugin's sink.
func TestCustomBuildWithExtraPlugin(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "codaplus")
	build := exec.Command("go", "build", "-o", bin, "./example/codaplus")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := fakeworkspace.New(fakeworkspace.Options{})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddUser("alice@example.com", "Alice")
	pat, _ := srv.IssuePAT("alice@example.com", "pasted", time.Hour)

	home, config := filepath.Join(dir, "home"), filepath.Join(dir, "coda")
	environ := []string{"HOME=" + home, "CODA_CONFIG_DIR=" + config, "PATH=" + os.Getenv("PATH")}
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Stdin = environ, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("codaplus %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("", "setup", "--help"); !strings.Contains(out, "myagent") {
		t.Fatalf("setup --help does not list the extra plugin:\n%s", out)
	}
	run(pat, "login", "--host", srv.URL(), "--token-stdin")
	run("", "setup", "myagent", "--endpoint", "serving")
	run("", "rotate")
	st, err := store.NewFileStore(config).Load()
	if err != nil {
		t.Fatal(err)
	}
	p := st.Profile("default")
	if tool := p.Tool("myagent"); tool == nil || len(tool.Sinks) != 1 {
		t.Fatalf("the profile records no sink for myagent: %+v", p.Tools)
	}
	data, err := os.ReadFile(filepath.Join(home, ".myagent", "env"))
	if err != nil || !strings.Contains(string(data), "OPENAI_API_KEY="+p.Token+"\n") {
		t.Errorf("~/.myagent/env does not hold the rotated token (err %v)", err)
	}
	if out := run("", "status"); !regexp.MustCompile(`(?m)^myagent +configured +literal +~/\.myagent/env$`).MatchString(out) {
		t.Errorf("status:\n%s", out)
	}
}
