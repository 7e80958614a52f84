package cmdutil

import (
	"os"
	"sync"
)

// SignalRelay routes the process's interrupt signals (SIGINT, SIGTERM,
// SIGHUP), which the root command turns into a cancelled context and, at
// the second, an immediate exit. A command that runs a child in the
// foreground (coda exec) takes them for its lifetime: the child decides
// when to stop, and coda must outlive it to pass on its exit code.
type SignalRelay struct {
	mu    sync.Mutex
	taken bool
}

// Take makes Deliver report the signals as handled until release.
func (r *SignalRelay) Take() (release func()) {
	if r == nil {
		return func() {}
	}
	r.mu.Lock()
	r.taken = true
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.taken = false
		r.mu.Unlock()
	}
}

// Deliver reports whether a command has taken sig; when it returns false
// the root's own handling applies.
func (r *SignalRelay) Deliver(sig os.Signal) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.taken
}
