package agentproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIsAgentCommand(t *testing.T) {
	tests := []struct {
		cmdline string
		want    bool
	}{
		{"claude", true},
		{"/home/u/.local/bin/codex\x00exec", true},
		{"node\x00/home/u/.local/lib/node_modules/@google/gemini-cli/bin/gemini", true},
		{"/usr/bin/opencode\x00run", true},
		{"vim\x00claude", false}, // editing a file named claude is not running it
		{"bash", false},
		{"node\x00server.js\x00claude", false},
	}
	for _, tt := range tests {
		var argv [][]byte
		for _, a := range strings.Split(tt.cmdline, "\x00") {
			argv = append(argv, []byte(a))
		}
		if got := IsAgentCommand(argv); got != tt.want {
			t.Errorf("IsAgentCommand(%q) = %v, want %v", tt.cmdline, got, tt.want)
		}
	}
}

func TestRunningScansProc(t *testing.T) {
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
	write("10", "bash\x00")
	write("self", "claude\x00") // not a pid directory
	if running(proc, os.Getuid()) {
		t.Fatal("no agent runs, but Running said one does")
	}
	write("11", "node\x00/x/bin/codex\x00")
	if !running(proc, os.Getuid()) {
		t.Fatal("codex runs, but Running did not see it")
	}
	if running(proc, os.Getuid()+1) {
		t.Fatal("another user's agent must not count")
	}
}
