package agentproc

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestScanProc(t *testing.T) {
	proc := t.TempDir()
	write := func(pid, cmdline string) {
		dir := filepath.Join(proc, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	agent := func(uid int) bool {
		t.Helper()
		procs, err := scanProc(proc, uid)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(procs, func(p process) bool { return IsAgentCommand(p.argv) })
	}
	write("10", "bash\x00")
	write("self", "claude\x00") // not a pid directory
	if agent(os.Getuid()) {
		t.Fatal("no agent runs, but scanProc listed one")
	}
	write("11", "node\x00/x/bin/codex\x00")
	if !agent(os.Getuid()) {
		t.Fatal("codex runs, but scanProc did not list it")
	}
	if agent(os.Getuid() + 1) {
		t.Fatal("another user's agent must not count")
	}
	if _, err := scanProc(filepath.Join(proc, "missing"), os.Getuid()); err == nil {
		t.Error("scanProc without a /proc: no error, want one (the watcher must say it cannot tell)")
	}
}
