// Package atomicfile replaces files so that readers see the old or the new
// content, never a mix, and the new content survives a crash.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write replaces path with data so that readers see either the
// old or the new content, never a mix: temp file in the same dir (rename is
// only atomic within a filesystem), perm set before any byte is written, fsync,
// rename (on Windows retried while another process has path open: see
// replace_windows.go), fsync dir. The temp file is removed on any failure,
// but not if the process dies mid-write: see RemoveTemps.
func Write(path string, data []byte, perm os.FileMode, beforeRename func(tmp string) error) (err error) {
	dir, name := split(path)
	f, err := os.CreateTemp(dir, tempPrefix(name)+"*")
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
	if err = replace(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	// Best effort: the rename has happened, so reporting a failure here would
	// make callers act as if the new state (e.g. a freshly created token) were
	// not saved when it is. Some filesystems cannot fsync a dir at all.
	syncDir(dir)
	return nil
}

// RemoveTemps removes the temp files that Writes of path left behind when
// their process died mid-write (.NAME.tmp-DIGITS next to path): they may
// hold a whole secret. Temp files of other targets are left alone. It
// returns the first removal error, after trying them all.
//
// Call it only while holding a lock that every writer of path holds for
// its whole Write: otherwise it may delete a temp file a concurrent Write is
// about to rename, and that Write fails. Callers without such a lock must
// not call it (Write never does).
func RemoveTemps(path string) error {
	dir, name := split(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("listing temporary files: %w", err)
	}
	prefix := tempPrefix(name)
	var first error
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !allDigits(suffix) || !e.Type().IsRegular() {
			continue
		}
		err := os.Remove(filepath.Join(dir, e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = fmt.Errorf("removing a leftover temporary file: %w", err)
		}
	}
	return first
}

// tempPrefix starts the names of name's temp files; os.CreateTemp replaces
// the "*" after it with decimal digits.
func tempPrefix(name string) string { return "." + name + ".tmp-" }

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func split(path string) (dir, name string) {
	dir, name = filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return dir, name
}

func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
