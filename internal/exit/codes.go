package exit

import (
	"fmt"
	"strings"
)

// Meaning is one documented exit code and what it tells a script.
type Meaning struct {
	Code int
	Text string
}

// Documented are the exit codes any coda command may end with, in order:
// root --help and the man pages' EXIT STATUS both list them from here.
var Documented = []Meaning{
	{OK, "ok"},
	{Error, "error"},
	{Usage, "usage: bad flags or missing input"},
	{Auth, "not logged in, token invalid or expired: run coda login"},
	{Interrupted, "interrupted"},
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
