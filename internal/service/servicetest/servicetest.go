// Package servicetest fakes the commands internal/service runs. Only tests
// import it.
package servicetest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/coda-cli/coda/internal/service"
)

// Runner records every command and answers from Responses, keyed by the
// command line joined with spaces; any other command exits 0 silently.
type Runner struct {
	mu    sync.Mutex
	calls []string
	// Responses answer given command lines.
	Responses map[string]service.Output
	// Errors make given command lines fail to run at all.
	Errors map[string]error
}

// Run is the service.Runner.
func (r *Runner) Run(_ context.Context, argv []string) (service.Output, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := strings.Join(argv, " ")
	r.calls = append(r.calls, line)
	if err := r.Errors[line]; err != nil {
		return service.Output{}, err
	}
	return r.Responses[line], nil
}

// Calls are the command lines run so far, in order.
func (r *Runner) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// Reset forgets the calls so far.
func (r *Runner) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// System is a system of goos for user alice (UID 501) whose home is a
// fresh temp dir, with a fresh Runner whose logind says lingering is off.
func System(t testing.TB, goos string) (service.System, *Runner) {
	t.Helper()
	r := &Runner{Responses: map[string]service.Output{
		"loginctl show-user alice -p Linger": {Stdout: "Linger=no\n"},
	}}
	return service.System{GOOS: goos, UID: 501, User: "alice", Home: t.TempDir(), Run: r.Run}, r
}
