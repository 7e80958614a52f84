package service

import (
	"fmt"
	"strings"
)

// SystemdUnit is the unit file u that runs spec. The watcher's output goes
// to the journal. Exit codes 2 (usage) and 4 (log in again) stop it for
// good: restarting would fail the same way until someone acts.
func SystemdUnit(u Unit, spec Spec) string {
	// systemd substitutes $VARIABLES in the arguments, not in the
	// executable's path, where $$ would stay doubled.
	words := []string{systemdQuote(spec.Exe, false)}
	for _, a := range spec.Args() {
		words = append(words, systemdQuote(a, true))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by coda service install: coda rotate --watch for %s.\n", spec.Describe())
	fmt.Fprintf(&b, "# Remove it with: coda service uninstall%s\n", spec.Flags())
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=coda token watcher (%s)\n", spec.Describe())
	b.WriteString("Documentation=man:coda-rotate(1)\n")
	b.WriteString("\n[Service]\n")
	b.WriteString("Type=simple\n")
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(words, " "))
	for _, e := range spec.Env {
		fmt.Fprintf(&b, "Environment=%s\n", systemdQuote(e.Name+"="+e.Value, false))
	}
	b.WriteString("Restart=on-failure\n")
	fmt.Fprintf(&b, "RestartSec=%d\n", RestartDelay)
	b.WriteString("# 2: bad flags; 4: run coda login. A restart would fail the same way.\n")
	b.WriteString("RestartPreventExitStatus=2 4\n")
	b.WriteString("StandardOutput=journal\n")
	b.WriteString("StandardError=journal\n")
	b.WriteString("\n[Install]\n")
	b.WriteString("WantedBy=default.target\n")
	return b.String()
}

// systemdQuote writes s as one word of a unit file line (systemd.syntax(7)
// "Quoting"; systemd.service(5) "Command lines"). Specifiers are expanded
// in every such line, so % is always doubled; in ExecStart's arguments
// (dollar) $ is variable substitution, so it is doubled too. A word
// holding a space, a quote, a backslash or a semicolon, or an empty one,
// is double-quoted with \\ and \" escaped. Control characters never get
// here (Spec.check), nor, in the executable, a quote or backslash
// (systemdExecutable).
func systemdQuote(s string, dollar bool) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if dollar {
		s = strings.ReplaceAll(s, "$", "$$")
	}
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}

// systemdExecutable refuses a path systemd will not run: quoted or not,
// it rejects an executable holding ", ' or \ ("Executable name contains
// special characters", string_is_safe in its config_parse_exec; seen with
// systemd-analyze verify on systemd 252).
func systemdExecutable(exe string) error {
	if strings.ContainsAny(exe, "\"'\\") {
		return fmt.Errorf("systemd does not run a program whose path holds a quote or a backslash (%s): "+
			"move coda to a plain path, or link it from one, and run coda service install from there", exe)
	}
	return nil
}
