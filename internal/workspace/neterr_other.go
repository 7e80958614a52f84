//go:build !windows

package workspace

import "syscall"

// The errnos of a refused and a reset connection, for describeNetErr.
var (
	errConnRefused error = syscall.ECONNREFUSED
	errConnReset   error = syscall.ECONNRESET
)
