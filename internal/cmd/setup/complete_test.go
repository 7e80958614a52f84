package setup_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/cmd/login"
	"github.com/coda-cli/coda/internal/cmd/setup"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/root"
)

// TestSetupRemembersModels: checking --model names lists the workspace's
// serving endpoints; setup keeps them for completing --model (a shell
// completion never asks the workspace), except with --dry-run, which
// writes nothing.
func TestSetupRemembersModels(t *testing.T) {
	e := cmdtest.NewWithPAT(t, cmdtest.Cmd(setup.NewCmdSetup), cmdtest.Cmd(login.NewCmdLogin))
	e.Vars["HOME"] = t.TempDir()
	e.Login()
	model := fakeworkspace.DefaultServingEndpoints[0]
	cache := cmdutil.ModelCachePath(e.Dir, "default")

	if res := e.Run("--dry-run", "--model", "claude="+model, "claude"); res.Err != nil {
		t.Fatalf("setup --dry-run: %v\n%s", res.Err, res.ErrOut)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Fatalf("setup --dry-run wrote the model cache (%v)", err)
	}
	if res := e.Run("--model", "claude="+model, "claude"); res.Err != nil {
		t.Fatalf("setup: %v\n%s", res.Err, res.ErrOut)
	}

	f, out, errOut := e.Factory()
	cmd := root.NewCmdRoot(f)
	cmd.SetArgs([]string{"__complete", "setup", "--model", "claude="})
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("__complete: %v\n%s", err, errOut)
	}
	var want []string
	for _, m := range fakeworkspace.DefaultServingEndpoints {
		want = append(want, "claude="+m)
	}
	want = append(want, ":4")
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); !slices.Equal(got, want) {
		t.Errorf("--model completion after setup = %q, want %q", got, want)
	}
}
