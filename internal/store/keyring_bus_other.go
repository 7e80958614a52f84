//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package store

// sessionBus: only the Secret Service needs a D-Bus session; the macOS
// Keychain and the Windows Credential Manager need none.
func sessionBus() error { return nil }
