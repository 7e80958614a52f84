package atomicfile

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// replaceBudget bounds how long replace waits for other processes to let
// go of the file (the go command waits as long: cmd/go/internal/robustio).
const replaceBudget = 2 * time.Second

// replace renames tmp over path. os.Rename is MoveFileEx with
// MOVEFILE_REPLACE_EXISTING, which replaces an existing file atomically,
// but fails while another process has path open without FILE_SHARE_DELETE:
// Go's os.Open (another coda reading the credentials file), virus scanners
// and indexers. Such opens are short, so the rename is retried for a while.
func replace(tmp, path string) error {
	return retry(func() error { return os.Rename(tmp, path) }, inUse, replaceBudget)
}

// inUse reports the errors MoveFileEx gives while path is open elsewhere.
func inUse(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && (errno == windows.ERROR_ACCESS_DENIED || errno == windows.ERROR_SHARING_VIOLATION)
}
