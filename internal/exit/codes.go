package exit

import (
	"fmt"
	"strings"
)

// Meaning is one documented exit code and what it tells a script.
type Meaning struct {
	Code int
	Text string
	// Short is Text in the one-line Summary.
	Short string
}

// Documented are the exit codes any coda command may end with, in order:
// root --help, every command's help and the man pages' EXIT STATUS all
// list them from here.
var Documented = []Meaning{
	{OK, "ok", "ok"},
	{Error, "error", "error"},
	{Usage, "usage: bad flags or missing input", "usage"},
	{Auth, "not logged in, token invalid or expired: run coda login", "not logged in or token invalid/expired (run coda login)"},
	{Interrupted, "interrupted", "interrupted"},
}

// Help is the block that ends root --help's description.
func Help() string {
	var b strings.Builder
	b.WriteString("Exit codes:")
	for _, m := range Documented {
		fmt.Fprintf(&b, "\n  %-4d %s", m.Code, m.Text)
	}
	return b.String()
}

// Summary is the line that ends every command's help but the root's.
func Summary() string {
	parts := make([]string, len(Documented))
	for i, m := range Documented {
		parts[i] = fmt.Sprintf("%d %s", m.Code, m.Short)
	}
	return "Exit codes: " + strings.Join(parts, ", ") + "."
}
