//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Without a session bus coda never calls go-keyring, whose D-Bus library
// would start one with dbus-launch and leave it running.
func TestSessionBus(t *testing.T) {
	withSocket := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(withSocket, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	withFile := t.TempDir()
	if err := os.WriteFile(filepath.Join(withFile, "dbus-session"), []byte("DBUS_SESSION_BUS_ADDRESS=unix:abstract=/tmp/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, address, dir string
		want               error
	}{
		{"address set", "unix:path=/run/user/1000/bus", t.TempDir(), nil},
		{"bus socket in the runtime dir", "", withSocket, nil},
		{"dbus-session file", "", withFile, nil},
		{"nothing: cron, ssh", "", t.TempDir(), errNoSessionBus},
		{"autolaunch is nothing", "autolaunch:", filepath.Join(t.TempDir(), "missing"), errNoSessionBus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := sessionBusIn(tc.address, tc.dir); !errors.Is(err, tc.want) {
				t.Fatalf("= %v, want %v", err, tc.want)
			}
		})
	}
	if env := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); env == "" {
		if _, err := os.Stat(filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "bus")); err != nil {
			// This machine has no session bus: the system keyring says so
			// without calling go-keyring.
			_, err := systemKeyring{}.Get(KeyringService, "x")
			if !errors.Is(err, errNoSessionBus) {
				t.Fatalf("system keyring without a bus: %v", err)
			}
		}
	}
}
