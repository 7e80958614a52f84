//go:build unix

package ownercheck

import (
	"io/fs"
	"syscall"
)

// checksModes: Unix permission bits say who else may read or write.
const checksModes = true

// ownerOf returns the uid that owns fi.
func ownerOf(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
