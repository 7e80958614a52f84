// Package shellenv renders environment variables as the lines a shell
// evaluates: `export NAME='value'` for POSIX shells (sh, bash, zsh),
// `set -gx NAME 'value'` for fish and `$Env:NAME = 'value'` for PowerShell.
// Values are always single-quoted, so nothing in them is expanded.
//
// It is written by hand: the quoting rules are a few lines per shell, and
// the libraries that quote for shells (for example alessio/shellescape)
// cover POSIX shells only.
package shellenv

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/coda-cli/coda/pkg/configurator"
)

// Shell is a shell's name as --shell takes it.
type Shell string

const (
	Sh         Shell = "sh"
	Bash       Shell = "bash"
	Zsh        Shell = "zsh"
	Fish       Shell = "fish"
	PowerShell Shell = "powershell"
)

// Shells are the shells --shell accepts.
var Shells = []Shell{Bash, Zsh, Fish, PowerShell, Sh}

// Names lists Shells as strings, for flag help and completion.
func Names() []string {
	var out []string
	for _, s := range Shells {
		out = append(out, string(s))
	}
	return out
}

// Parse checks a --shell value.
func Parse(name string) (Shell, error) {
	s := Shell(strings.ToLower(name))
	if s == "pwsh" {
		s = PowerShell
	}
	if !slices.Contains(Shells, s) {
		return "", fmt.Errorf("--shell must be one of %s, got %q", strings.Join(Names(), ", "), name)
	}
	return s, nil
}

// Detect is the user's shell from $SHELL (on Windows, where it is unset,
// PowerShell); a shell it does not know is treated as sh.
func Detect(getenv func(string) string, goos string) Shell {
	sh := getenv("SHELL")
	if sh == "" && goos == "windows" {
		return PowerShell
	}
	base := strings.TrimSuffix(filepath.Base(strings.ReplaceAll(sh, `\`, "/")), ".exe")
	if s, err := Parse(base); err == nil {
		return s
	}
	return Sh
}

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Quote quotes value as one word of shell s, never expanded.
func Quote(s Shell, value string) string {
	switch s {
	case Fish:
		r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
		return "'" + r.Replace(value) + "'"
	case PowerShell:
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	default:
		return "'" + strings.ReplaceAll(value, "'", `'\''`) + "'"
	}
}

// Line is the line that sets one variable in shell s.
func Line(s Shell, v configurator.EnvVar) (string, error) {
	if !validName.MatchString(v.Name) {
		return "", fmt.Errorf("%q is not a valid environment variable name", v.Name)
	}
	if strings.ContainsAny(v.Value, "\x00\n\r") {
		return "", fmt.Errorf("the value of %s holds a line break or NUL", v.Name)
	}
	switch s {
	case Fish:
		return "set -gx " + v.Name + " " + Quote(s, v.Value), nil
	case PowerShell:
		return "$Env:" + v.Name + " = " + Quote(s, v.Value), nil
	default:
		return "export " + v.Name + "=" + Quote(s, v.Value), nil
	}
}

// Render is the lines that set vars in shell s, one per variable, each
// ended by a newline.
func Render(s Shell, vars []configurator.EnvVar) (string, error) {
	var b strings.Builder
	for _, v := range vars {
		line, err := Line(s, v)
		if err != nil {
			return "", err
		}
		b.WriteString(line + "\n")
	}
	return b.String(), nil
}

// Comment is text as a comment line of shell s (every shell here uses #).
func Comment(text string) string { return "# " + text + "\n" }
