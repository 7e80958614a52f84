//go:build unix

package exec

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// passed are the signals coda exec passes on to its child.
var passed = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}

func notify() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, passed...)
	return ch, func() { signal.Stop(ch) }
}

// forward reports whether sig must be passed on. The terminal sends
// SIGINT and SIGQUIT (Ctrl-C, Ctrl-\) to its whole foreground process
// group, the child included: passing them on as well would deliver them
// twice, and many agents exit at a second Ctrl-C.
func forward(sig os.Signal) bool {
	if sig != syscall.SIGINT && sig != syscall.SIGQUIT {
		return true
	}
	return !inForeground()
}

// inForeground reports whether coda runs in the foreground process group
// of its controlling terminal.
func inForeground() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// exitCode is the child's exit code, 128+N when signal N ended it (as
// shells report it).
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
