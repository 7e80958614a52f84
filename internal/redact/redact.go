// Package redact shows secrets and ids the one way coda ever shows them.
package redact

import (
	"regexp"
	"strings"
)

// Suffix shows at most the last four characters of a secret or an id.
func Suffix(s string) string {
	if len(s) < 8 { // too short to show any of it safely
		return "…"
	}
	return "…" + s[len(s)-4:]
}

// patShaped matches a Databricks personal access token in free text:
// "dapi" and letters or digits, with the "-N" suffix some clouds add.
var patShaped = regexp.MustCompile(`dapi[0-9A-Za-z]+(?:-[0-9]+)?`)

// bearerShaped matches the credential of an Authorization "Bearer ..."
// header quoted in free text; it needs 16 token characters so that prose
// such as "a Bearer token" stays as it is.
var bearerShaped = regexp.MustCompile(`(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{16,})`)

// Secrets returns s with every token-shaped string and every one of known
// (the values a caller holds: the token it authenticates with, one it has
// just received) replaced by its Suffix. It is a last line of defence for
// text coda did not write itself, such as an error from a server or a
// library: nothing coda prints should depend on it.
func Secrets(s string, known ...string) string {
	for _, k := range known {
		if k != "" && strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, Suffix(k))
		}
	}
	s = patShaped.ReplaceAllStringFunc(s, Suffix)
	return bearerShaped.ReplaceAllStringFunc(s, func(m string) string {
		sub := bearerShaped.FindStringSubmatch(m)
		return sub[1] + Suffix(sub[2])
	})
}

// Line makes s one line of at most max bytes (cut on a rune boundary, with
// "…" appended when cut) with every control character replaced by a
// space, so text from elsewhere cannot break a message apart, move the
// cursor or recolour a terminal.
func Line(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// IsControl reports whether r is a character Line replaces: C0 and C1
// controls, DEL, and the Unicode line and paragraph separators.
func IsControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
