package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Output is what one command printed and its exit code.
type Output struct {
	Stdout, Stderr string
	Code           int
}

// Runner runs one command (argv[0] looked up in PATH). A non-zero exit is
// an Output with its Code, not an error; the error is for a command that
// could not run at all.
type Runner func(ctx context.Context, argv []string) (Output, error)

// CommandTimeout bounds each systemctl, loginctl or launchctl call: with no
// reachable service manager they can hang.
const CommandTimeout = 30 * time.Second

// Exec is the real Runner.
func Exec(ctx context.Context, argv []string) (Output, error) {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	o := Output{Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		o.Code = ee.ExitCode()
		return o, nil
	}
	if ctx.Err() != nil && err != nil {
		return o, fmt.Errorf("%s: %w", argv[0], ctx.Err())
	}
	return o, err
}

// CommandError is a command that ran and failed.
type CommandError struct {
	Argv []string
	Out  Output
	// Hint says what to do, when known.
	Hint string
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s failed (exit %d)", strings.Join(e.Argv, " "), e.Out.Code)
	if line := firstLine(e.Out.Stderr); line != "" {
		msg += ": " + line
	} else if line := firstLine(e.Out.Stdout); line != "" {
		msg += ": " + line
	}
	if e.Hint != "" {
		msg += ". " + e.Hint
	}
	return msg
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// run runs argv; a non-zero exit is a *CommandError unless ok accepts it.
func (s System) run(ctx context.Context, argv ...string) (Output, error) {
	out, err := s.Run(ctx, argv)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return out, fmt.Errorf("%s not found: coda service needs %s; run coda rotate --watch in a terminal instead", argv[0], s.manager())
		}
		return out, fmt.Errorf("running %s: %w", strings.Join(argv, " "), err)
	}
	if out.Code != 0 {
		return out, &CommandError{Argv: argv, Out: out, Hint: s.hint(out)}
	}
	return out, nil
}

func (s System) manager() string {
	if s.GOOS == MacOS {
		return "launchd (launchctl)"
	}
	return "systemd (systemctl --user)"
}

// hint explains the failures people meet: no user systemd instance (a
// container, su without a login session), no GUI session on macOS.
func (s System) hint(o Output) string {
	msg := o.Stderr + o.Stdout
	switch {
	case strings.Contains(msg, "Failed to connect to bus"), strings.Contains(msg, "No medium found"):
		return "systemctl --user needs your user's systemd instance: log in as yourself (not via su or sudo), " +
			"or run coda rotate --watch in a terminal instead"
	case s.GOOS == MacOS && strings.Contains(msg, "Domain does not support"):
		return "a launchd agent needs you logged in to the Mac's desktop; over SSH alone, run coda rotate --watch in a terminal instead"
	}
	return ""
}
