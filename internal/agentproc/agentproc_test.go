package agentproc

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestMain doubles as a fake agent: TestProcessesSeesAgent runs a copy of
// this binary named codex, which waits here until its stdin closes.
func TestMain(m *testing.M) {
	if os.Getenv("AGENTPROC_FAKE_AGENT") == "1" {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestIsAgentCommand(t *testing.T) {
	tests := []struct {
		windows bool
		cmdline string // NUL-separated argv
		want    bool
	}{
		{false, "claude", true},
		{false, "/home/u/.local/bin/codex\x00exec", true},
		{false, "node\x00/home/u/.local/lib/node_modules/@google/gemini-cli/bin/gemini", true},
		{false, "/usr/bin/opencode\x00run", true},
		{false, "/home/u/.local/lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe\x00-p", true}, // npm's native build, on Linux too
		{false, "/home/u/.local/bin/pi", true},
		{false, "/usr/local/bin/crush\x00run", true},
		{false, "vim\x00claude", false}, // editing a file named claude is not running it
		{false, "bash", false},
		{false, "node\x00server.js\x00claude", false},
		{false, "", false},
		// Windows: npm's shims run native agents directly and script
		// agents as node.exe with the script's full path.
		{true, `C:\Users\u\AppData\Roaming\npm\node_modules\@anthropic-ai\claude-code\bin\Claude.EXE`, true},
		{true, `C:\Program Files\nodejs\node.exe` + "\x00" + `C:\Users\u\AppData\Roaming\npm\node_modules\@openai\codex\bin\codex.js` + "\x00exec", true},
		{true, "NODE.EXE\x00C:/npm/node_modules/@google/gemini-cli/bundle/gemini.js", true},
		{true, "opencode", true},
		{true, `C:\Windows\notepad.exe` + "\x00" + `C:\src\claude.exe`, false},
		{true, `C:\Program Files\nodejs\node.exe` + "\x00server.js", false},
		{true, `C:\tools\claudette.exe`, false},
	}
	for _, tt := range tests {
		argv := strings.Split(tt.cmdline, "\x00")
		if got := isAgentCommand(argv, tt.windows); got != tt.want {
			t.Errorf("isAgentCommand(%q, windows=%v) = %v, want %v", tt.cmdline, tt.windows, got, tt.want)
		}
	}
}

func TestParseProcArgs(t *testing.T) {
	buf := func(argc byte, rest string) []byte { return append([]byte{argc, 0, 0, 0}, rest...) }
	tests := []struct {
		name string
		buf  []byte
		want []string
	}{
		{"argv then environment", buf(2, "/usr/local/bin/node\x00\x00\x00\x00node\x00/u/bin/codex\x00DATABRICKS_TOKEN=secret\x00"), []string{"node", "/u/bin/codex"}},
		{"no padding", buf(1, "/bin/claude\x00claude\x00HOME=/u\x00"), []string{"claude"}},
		{"empty argument kept", buf(3, "/bin/x\x00x\x00\x00y\x00ENV=1\x00"), []string{"x", "", "y"}},
		{"argc beyond the buffer", buf(5, "/bin/x\x00x\x00y"), []string{"x", "y"}},
		{"no args", buf(0, "/bin/x\x00\x00"), nil},
		{"truncated header", []byte{1, 0}, nil},
		{"no exec path end", buf(1, "/bin/x"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseProcArgs(tt.buf); !slices.Equal(got, tt.want) {
				t.Errorf("parseProcArgs = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProcessesSeesAgent runs a process named codex and checks that this
// system's process listing finds it with its argv, and that Running agrees.
func TestProcessesSeesAgent(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "codex")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "exec", "--fake")
	cmd.Env = append(os.Environ(), "AGENTPROC_FAKE_AGENT=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})

	procs, err := processes()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(procs, func(p process) bool { return p.pid == cmd.Process.Pid })
	if i < 0 {
		t.Fatalf("the listing of %d processes lacks the fake agent (pid %d)", len(procs), cmd.Process.Pid)
	}
	if argv := procs[i].argv; !IsAgentCommand(argv) || !slices.Contains(argv, "--fake") {
		t.Errorf("fake agent's argv = %q, want the codex command line", argv)
	}
	if running, err := Running(); !running || err != nil {
		t.Errorf("Running() = %v, %v while codex runs", running, err)
	}
}
