// Package cmdutil holds what every command shares: IO streams, output
// printing and the lazy dependency Factory.
package cmdutil

import (
	"bytes"
	"encoding/json"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
)

// IOStreams are a command's streams. Results go to Out, everything meant
// for a person (prompts, progress, hints, warnings) to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
}

// System returns the process's streams.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		stdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// TestStreams returns in-memory streams for tests; tty says whether they
// pretend to be a terminal.
func TestStreams(tty bool) (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, stdinTTY: tty, stdoutTTY: tty, stderrTTY: tty}, in, out, errOut
}

// CanPrompt reports whether a person can answer a prompt: only when both
// the input and the prompt's stream are terminals.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// ColorOut reports whether results on Out may be coloured: only on a
// terminal, and never with NO_COLOR set (https://no-color.org).
func (s *IOStreams) ColorOut(getenv func(string) string) bool {
	return s.stdoutTTY && getenv("NO_COLOR") == ""
}

// JSONVersion is the schema version of every JSON document coda prints.
const JSONVersion = 1

// PendingJSON is an old token waiting for deletion, as rotate and status
// print it: the id's last 4 characters, never the token.
type PendingJSON struct {
	TokenID     string `json:"token_id"`
	DeleteAfter Time   `json:"delete_after"`
	Attempts    int    `json:"attempts"`
	LastError   string `json:"last_error,omitempty"`
	HeldBy      string `json:"held_by,omitempty"`
	// Host is set for a token of the host the profile used before.
	Host      string `json:"host,omitempty"`
	ExpiresAt Time   `json:"expires_at"`
}

// Pending is pe's JSON form.
func Pending(pe store.Pending) PendingJSON {
	return PendingJSON{redact.Suffix(pe.TokenID), NewTime(pe.DeleteAfter), pe.Attempts, pe.LastError, pe.HeldBy, pe.Host, NewTime(pe.ExpiresAt)}
}

// PrintJSON writes v as indented JSON with a trailing newline.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
