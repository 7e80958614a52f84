// Package pluginkit holds what coda's built-in configurators share and
// nothing format-specific: how a path is shown to the user, how a file
// that may be missing is read, how a malformed file is refused, the
// Record of the user's previous values that every plugin keeps in its
// sidecar, Detect, and the JSON plumbing of the plugins that merge into
// jsonedit documents.
package pluginkit

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/coda-cli/coda/internal/shellquote"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Display shows path as ~/... when it lies under env.Home (HOME itself
// and paths outside it are shown as they are).
func Display(env configurator.Env, path string) string {
	if env.Home != "" {
		if rel, err := filepath.Rel(env.Home, path); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return "~/" + filepath.ToSlash(rel)
		}
	}
	return path
}

// Getenv reads an environment variable through env; "" when env has no
// Getenv.
func Getenv(env configurator.Env, key string) string {
	if env.Getenv == nil {
		return ""
	}
	return env.Getenv(key)
}

// Getwd is the user's working directory as env sees it ("" when unknown).
func Getwd(env configurator.Env) string {
	getwd := env.Getwd
	if getwd == nil {
		getwd = os.Getwd
	}
	wd, err := getwd()
	if err != nil {
		return ""
	}
	return wd
}

// Detect is the Detection of a tool whose executable is binary and whose
// config files (the ones the plugin manages) are files.
func Detect(env configurator.Env, info configurator.Info, files ...string) configurator.Detection {
	d := configurator.Detection{Files: files}
	if env.LookPath == nil {
		return d
	}
	for _, binary := range info.Binaries {
		if bin, err := env.LookPath(binary); err == nil {
			d.Installed, d.Binary = true, bin
			break
		}
	}
	return d
}

// AppendChanged appends the changes that alter their file: a plan lists
// only the files it touches.
func AppendChanged(changes []configurator.Change, cs ...configurator.Change) []configurator.Change {
	for _, c := range cs {
		if c.Changed() {
			changes = append(changes, c)
		}
	}
	return changes
}

// HasControl reports whether s holds a control character (one that would
// break a line or a header; a token never has one).
func HasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// PointsAt reports whether base is a URL on the host (and port) of one of
// refs, ignoring case: whether a tool's base URL is the target's workspace
// or its AI Gateway host.
func PointsAt(base string, refs ...string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return false
	}
	for _, ref := range refs {
		if r, err := url.Parse(ref); err == nil && r.Host != "" && strings.EqualFold(r.Host, u.Host) {
			return true
		}
	}
	return false
}

// HostOf is the host name of a URL, without its port, in lower case; ""
// when s does not parse.
func HostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// ShellCommand is argv as one POSIX shell command line, each argument
// quoted only when it needs to be: the form of every key command a tool
// runs through sh (Claude Code's apiKeyHelper, Pi's !command, Crush's
// $(command), Copilot's COPILOT_PROVIDER_API_KEY_COMMAND).
func ShellCommand(argv []string) string { return shellquote.Join(argv) }

// JoinDetail appends notes to a status detail, each after "; ".
func JoinDetail(detail string, notes []string) string {
	for _, n := range notes {
		detail += "; " + n
	}
	return detail
}
