//go:build !windows

package proxy

import (
	"errors"
	"syscall"
)

// addrInUse reports a listen error saying another socket has the port.
func addrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
