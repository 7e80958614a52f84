//go:build !windows

package atomicfile

import "os"

// replace renames tmp over path: rename(2) replaces it atomically, even
// while others have it open.
func replace(tmp, path string) error { return os.Rename(tmp, path) }
