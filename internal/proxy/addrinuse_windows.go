package proxy

import (
	"errors"

	"golang.org/x/sys/windows"
)

// addrInUse reports a listen error saying another socket has the port.
// Winsock's errors are not the syscall.E* values Go invents for Windows.
func addrInUse(err error) bool { return errors.Is(err, windows.WSAEADDRINUSE) }
