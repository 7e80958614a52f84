//go:build !unix

package exec

import (
	"os"
	"os/signal"
)

// notify catches Ctrl-C, which the console also delivers to the child:
// coda waits for the child to decide.
func notify() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, os.Interrupt)
	return ch, func() { signal.Stop(ch) }
}

// forward is false: the console sends Ctrl-C to every process attached to
// it, the child included, and Windows has no other signal to pass on.
func forward(os.Signal) bool { return false }

func exitCode(ps *os.ProcessState) int { return ps.ExitCode() }
