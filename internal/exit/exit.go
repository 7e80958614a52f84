// Package exit defines coda's exit codes and the typed errors that carry
// them, so any layer can say "the user must log in" without knowing the CLI.
package exit

import (
	"errors"
	"fmt"
)

// Exit codes are part of coda's contract with scripts; root --help lists them.
const (
	OK          = 0
	Error       = 1
	Usage       = 2
	Auth        = 4
	Interrupted = 130
)

// ExitCoder is implemented by errors that choose their own exit code.
type ExitCoder interface{ ExitCode() int }

// CodeOf maps an error to the documented exit code.
func CodeOf(err error) int {
	if err == nil {
		return OK
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return Error
}

// UsageError is bad input: wrong flags or missing values (exit 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }
func (e *UsageError) ExitCode() int { return Usage }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// AuthError means the user must log in (again): no token, an expired one or
// one the workspace rejects (exit 4).
type AuthError struct{ Msg string }

func (e *AuthError) Error() string { return e.Msg }
func (e *AuthError) ExitCode() int { return Auth }

// Authf builds an AuthError.
func Authf(format string, args ...any) error {
	return &AuthError{Msg: fmt.Sprintf(format, args...)}
}

// SilentError has already been reported to the user; only its code remains.
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }
func (e *SilentError) ExitCode() int { return e.Code }
