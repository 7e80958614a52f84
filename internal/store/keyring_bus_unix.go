//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// errNoSessionBus is the Secret Service out of reach for want of a D-Bus
// session: cron, ssh, a tmux server started from either, a systemd
// service without a user bus.
var errNoSessionBus = errors.New("no D-Bus session here (DBUS_SESSION_BUS_ADDRESS is unset and /run/user/UID/bus does not exist), as under cron, ssh or a service without a user bus")

// sessionBus checks that a D-Bus session bus can be found the way
// go-keyring's D-Bus library finds one, short of its last resort: with
// neither, that library runs dbus-launch, which starts a new bus (and
// leaves its daemon running) on every call of every coda token.
func sessionBus() error {
	return sessionBusIn(os.Getenv("DBUS_SESSION_BUS_ADDRESS"), fmt.Sprintf("/run/user/%d", os.Getuid()))
}

// sessionBusIn is sessionBus with its address and runtime dir given.
func sessionBusIn(address, runtimeDir string) error {
	if address != "" && address != "autolaunch:" {
		return nil
	}
	for _, name := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(filepath.Join(runtimeDir, name)); err == nil {
			return nil
		}
	}
	return errNoSessionBus
}
