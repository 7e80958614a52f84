// Package ownercheck refuses files and dirs that are not the running user's
// own, the way ssh refuses a key that another user owns or can read: coda
// must not read credentials from, or write them into, a place someone else
// controls, and a process running as root (a `sudo -E coda ...` slip) must
// not take a user's store over, which would re-own its files to root and
// lock that user's credential helpers out.
//
// The checks use Unix owners and permission bits. Elsewhere (Windows) they
// always pass: access there is governed by ACLs, which Go's os package does
// not expose, and the mode bits it reports say nothing about other users.
package ownercheck

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Error says why a path is refused and how to fix it. Its message is one
// line ending in the fix.
type Error struct {
	What   string // what the path is to coda: "config dir", "lock file", ...
	Path   string
	Reason string // "belongs to uid 1000, not to you (uid 1001)"
	Fix    string // "fix it with: chmod 700 /path"
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s %s; %s", e.What, e.Path, e.Reason, e.Fix)
}

// ModesMatter reports whether permission bits say who else may use a file
// here: on Unix. On Windows they do not (os.Chmod only flips the read-only
// attribute), so callers skip tightening them.
func ModesMatter() bool { return checksModes }

// geteuid is the effective uid the checks compare owners with (a var so
// tests can play another user).
var geteuid = os.Geteuid

// Owned refuses fi, the Stat of path, unless the running user owns it.
// what names the path in the message ("credentials file").
func Owned(what, path string, fi fs.FileInfo) error {
	uid, ok := ownerOf(fi)
	if !ok {
		return nil
	}
	me := geteuid()
	if uid == me {
		return nil
	}
	e := &Error{What: what, Path: path}
	if me == 0 {
		// Running as root over someone else's files: writing would hand
		// them to root. The fix is not a chown but running as the owner.
		e.Reason = fmt.Sprintf("belongs to uid %d but coda is running as root", uid)
		e.Fix = "run coda as that user, not with sudo"
		return e
	}
	e.Reason = fmt.Sprintf("belongs to uid %d, not to you (uid %d)", uid, me)
	chown := "chown"
	if fi.IsDir() {
		chown = "chown -R"
	}
	e.Fix = fmt.Sprintf("use one of your own, or take it over with: sudo %s %d %s", chown, me, shellQuote(path))
	return e
}

// Unshared is Owned plus a check that no other user can write path. A path
// others can write is refused rather than chmod-ed: by the time coda looks,
// someone may already have replaced or planted files in it, so the user
// must decide. The fix makes it 0700 (a dir) or 0600 (a file).
//
// Access others have only to read (0755) is the caller's business: a dir
// whose files are all 0600 leaks nothing but their names, and the caller
// may tighten it itself.
func Unshared(what, path string, fi fs.FileInfo) error {
	if err := Owned(what, path, fi); err != nil {
		return err
	}
	if !checksModes {
		return nil
	}
	mode := fi.Mode().Perm()
	if mode&0o022 == 0 {
		return nil
	}
	want := "600"
	if fi.IsDir() {
		want = "700"
	}
	return &Error{
		What:   what,
		Path:   path,
		Reason: fmt.Sprintf("is writable by other users (mode %04o)", mode),
		Fix:    fmt.Sprintf("fix it with: chmod %s %s", want, shellQuote(path)),
	}
}

// OwnedPath is Owned for a path that may not exist. A path that cannot be
// stat-ed passes: a missing one will be created by the caller, who will own
// it, and opening any other will report why it failed.
func OwnedPath(what, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	return Owned(what, path, fi)
}

// shellQuote quotes s for a POSIX shell when it needs it, so a fix can be
// pasted as it is.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@%~", r)) {
			safe = false
			break
		}
	}
	if safe && !strings.HasPrefix(s, "~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
