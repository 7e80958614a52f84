// Package atomicfile replaces files so that readers see the old or the new
// content, never a mix, and the new content survives a crash.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data so that readers see either the
// old or the new content, never a mix: temp file in the same dir (rename is
// only atomic within a filesystem), perm set before any byte is written, fsync,
// rename, fsync dir. The temp file is removed on any failure.
func Write(path string, data []byte, perm os.FileMode, beforeRename func(tmp string) error) (err error) {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	// CreateTemp already uses 0600; Chmod makes that independent of its
	// implementation and of any umask quirks.
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("restricting permissions of temporary file: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing temporary file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("syncing temporary file: %w", err)
	}
	closed = true
	if err = f.Close(); err != nil {
		return fmt.Errorf("closing temporary file: %w", err)
	}
	if beforeRename != nil {
		if err = beforeRename(tmp); err != nil {
			return err
		}
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	// Best effort: the rename has happened, so reporting a failure here would
	// make callers act as if the new state (e.g. a freshly created token) were
	// not saved when it is. Some filesystems cannot fsync a dir at all.
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
