// Package cmdutil holds what every command shares: IO streams, output
// printing and the lazy dependency Factory.
package cmdutil

import (
	"bytes"
	"encoding/json"
	"io"
	"os"

	"golang.org/x/term"
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

// PrintJSON writes v as indented JSON with a trailing newline.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
