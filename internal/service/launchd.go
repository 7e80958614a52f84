package service

import (
	"fmt"
	"strings"
)

// Plist is the launchd agent u that runs spec: started at load (login),
// restarted when it exits with a failure (KeepAlive SuccessfulExit=false,
// at most every RestartDelay seconds), its output appended to u.LogFile.
func Plist(u Unit, spec Spec) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
`)
	// No flags here: an XML comment may not hold "--".
	fmt.Fprintf(&b, "<!-- Written by coda service install: the coda token watcher for %s.\n", spec.Describe())
	b.WriteString("     coda service uninstall removes it. -->\n")
	b.WriteString("<plist version=\"1.0\">\n<dict>\n")
	key := func(k string) { fmt.Fprintf(&b, "\t<key>%s</key>\n", k) }
	str := func(indent, v string) { fmt.Fprintf(&b, "%s<string>%s</string>\n", indent, xmlEscape(v)) }
	key("Label")
	str("\t", u.Name)
	key("ProgramArguments")
	b.WriteString("\t<array>\n")
	for _, a := range append([]string{spec.Exe}, spec.Args()...) {
		str("\t\t", a)
	}
	b.WriteString("\t</array>\n")
	if len(spec.Env) > 0 {
		key("EnvironmentVariables")
		b.WriteString("\t<dict>\n")
		for _, e := range spec.Env {
			fmt.Fprintf(&b, "\t\t<key>%s</key>\n", xmlEscape(e.Name))
			str("\t\t", e.Value)
		}
		b.WriteString("\t</dict>\n")
	}
	key("RunAtLoad")
	b.WriteString("\t<true/>\n")
	key("KeepAlive")
	b.WriteString("\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n")
	key("ThrottleInterval")
	fmt.Fprintf(&b, "\t<integer>%d</integer>\n", RestartDelay)
	key("StandardOutPath")
	str("\t", u.LogFile)
	key("StandardErrorPath")
	str("\t", u.LogFile)
	b.WriteString("</dict>\n</plist>\n")
	return b.String()
}

// xmlEscape escapes the characters XML character data may not hold as
// they are. Control characters never get here (Spec.check).
var xmlEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
