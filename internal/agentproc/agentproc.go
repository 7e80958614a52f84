// Package agentproc tells whether a coding agent runs for this user, for
// `coda rotate --watch --pause-when-idle`.
package agentproc

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Names are the agent executables coda looks for.
var Names = []string{"claude", "codex", "gemini", "opencode"}

// Running reports whether a process of the current user runs one of Names,
// either directly or as a script under an interpreter such as node.
func Running() bool { return running("/proc", os.Getuid()) }

func running(procDir string, uid int) bool {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		// No /proc (not Linux): never pause rather than let tokens expire.
		return true
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		dir := filepath.Join(procDir, e.Name())
		info, err := os.Stat(dir)
		if err != nil {
			continue
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != uid {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		if IsAgentCommand(bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})) {
			return true
		}
	}
	return false
}

// interpreters run agents shipped as scripts (the npm packages).
var interpreters = []string{"node", "bun", "deno"}

// IsAgentCommand checks argv[0], and argv[1] when argv[0] is an interpreter.
func IsAgentCommand(argv [][]byte) bool {
	if len(argv) == 0 {
		return false
	}
	if isAgent(argv[0]) {
		return true
	}
	return len(argv) > 1 && slices.Contains(interpreters, filepath.Base(string(argv[0]))) && isAgent(argv[1])
}

func isAgent(arg []byte) bool {
	base := strings.TrimSuffix(filepath.Base(string(arg)), ".js")
	return slices.Contains(Names, base)
}
