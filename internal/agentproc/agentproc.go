// Package agentproc tells whether a coding agent runs for this user, for
// `coda rotate --watch --pause-when-idle`.
//
// Each system lists its processes its own way: Linux reads /proc, macOS asks
// the kernel (sysctl kern.proc.all and kern.procargs2), Windows takes a
// Toolhelp snapshot and reads each process's command line. Where processes
// cannot be listed, Running says so with an error instead of guessing: a
// wrong "no agent" would let tokens expire under a running agent, a wrong
// "agent" would make the flag silently do nothing.
package agentproc

import (
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Names are the agent executables coda looks for.
var Names = []string{"claude", "codex", "gemini", "opencode", "pi", "copilot", "crush"}

// process is one process of the current user: its id and argv.
type process struct {
	pid  int
	argv []string
}

// Running reports whether a process of the current user runs one of Names,
// either directly or as a script under an interpreter such as node. An
// error means this system's processes could not be listed: the caller
// cannot tell, and must not take it for "no agent runs".
func Running() (bool, error) {
	procs, err := processes()
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(procs, func(p process) bool { return IsAgentCommand(p.argv) }), nil
}

// interpreters run agents shipped as scripts (the npm packages).
var interpreters = []string{"node", "bun", "deno"}

// onWindows selects Windows' rules for program names: case-insensitive,
// with an .exe suffix, and either slash as a separator.
const onWindows = runtime.GOOS == "windows"

// IsAgentCommand checks argv[0], and argv[1] when argv[0] is an interpreter.
func IsAgentCommand(argv []string) bool { return isAgentCommand(argv, onWindows) }

func isAgentCommand(argv []string, windows bool) bool {
	if len(argv) == 0 {
		return false
	}
	if isAgent(argv[0], windows) {
		return true
	}
	return len(argv) > 1 && slices.Contains(interpreters, baseName(argv[0], windows)) && isAgent(argv[1], windows)
}

func isAgent(arg string, windows bool) bool {
	// npm installs Claude Code and OpenCode as claude.exe and opencode.exe
	// on every OS, and their links point there.
	name := strings.TrimSuffix(strings.TrimSuffix(baseName(arg, windows), ".js"), ".exe")
	return slices.Contains(Names, name)
}

// baseName is the last element of a program path; on Windows lower-cased
// and without .exe, so C:\Users\u\.local\bin\Claude.EXE is claude. The
// Windows rules are chosen by a parameter so their tests run everywhere.
func baseName(arg string, windows bool) string {
	if !windows {
		return filepath.Base(arg)
	}
	base := strings.ToLower(path.Base(strings.ReplaceAll(arg, `\`, "/")))
	return strings.TrimSuffix(base, ".exe")
}
