//go:build unix

package store

import "syscall"

// The store refuses a config dir others can write, and t.TempDir() makes
// its dirs 0777 minus the umask: under umask 002 (common on desktops) they
// would be group-writable. The tests run with the usual 022.
func init() { syscall.Umask(0o022) }
