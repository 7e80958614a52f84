// Package shellquote quotes words for a POSIX shell only where they need
// it, so the commands coda writes (key commands agents run through sh) and
// prints (fixes to paste) stay readable. It imports nothing of coda's, so
// any layer can use it. (internal/shellenv quotes values for every shell
// coda env supports and always quotes; git's and ownercheck's quoting keep
// their own rules for a leading ~.)
package shellquote

import (
	"regexp"
	"strings"
)

var safe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// Quote is s as one POSIX shell word: as it is when every character is
// plain, else in single quotes.
func Quote(s string) string {
	if safe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join is argv as one POSIX shell command line.
func Join(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = Quote(a)
	}
	return strings.Join(quoted, " ")
}
