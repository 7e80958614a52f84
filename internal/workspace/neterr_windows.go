package workspace

import "golang.org/x/sys/windows"

// The errnos of a refused and a reset connection, for describeNetErr: on
// Windows they are Winsock's, not the syscall.ECONN* values Go invents
// there.
var (
	errConnRefused error = windows.WSAECONNREFUSED
	errConnReset   error = windows.WSAECONNRESET
)
