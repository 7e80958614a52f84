package configurator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/coda-cli/coda/internal/atomicfile"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store/ownercheck"
)

// SecretPerm is the mode of every file that holds a token.
const SecretPerm os.FileMode = 0o600

// ErrChangedMeanwhile means a file changed between planning and applying.
var ErrChangedMeanwhile = errors.New("changed while coda was planning")

// WriteChanges applies a plan: for each changed file it checks the file
// still holds what the plan was computed from, keeps a .bak of the old
// content when asked (never of a file it deletes), then replaces the file
// atomically (or removes it, and the directories coda created for it that
// are left empty: see createdDirsFile). Writes are serialised across
// processes by a lock in env.StateDir.
func WriteChanges(env Env, p Plan) error {
	if p.Empty() {
		return nil
	}
	unlock, err := lockFiles(env)
	if err != nil {
		return err
	}
	defer unlock()
	// Check every file before writing any, so a file edited meanwhile
	// stops the whole plan instead of leaving it half applied.
	for _, c := range p.Changes {
		if c.Changed() {
			if err := unchangedSincePlan(c); err != nil {
				return fmt.Errorf("%s: %w", c.Path, err)
			}
		}
	}
	dirs := loadCreatedDirs(env)
	defer dirs.save()
	for _, c := range p.Changes {
		if !c.Changed() {
			continue
		}
		if err := writeChange(env, c, dirs); err != nil {
			return fmt.Errorf("%s: %w", c.Path, err)
		}
	}
	return nil
}

// privateDir makes the directory of a secret file 0700, creating it if
// needed; the home directory's mode is the user's business. A dir another
// user owns is refused (home included), like coda's store: above all root
// writing into a user's home (`sudo -E coda setup`), which would leave the
// user a token file owned by root. On Windows ownership is not checked.
func privateDir(env Env, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if err := ownercheck.Owned("directory", dir, info); err != nil {
		return err
	}
	if filepath.Clean(dir) == filepath.Clean(env.Home) {
		return nil
	}
	if info.Mode().Perm()&0o077 != 0 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}

func unchangedSincePlan(c Change) error {
	current, err := os.ReadFile(c.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		current = nil
	case err != nil:
		return err
	}
	if (current == nil) != (c.Old == nil) || !bytes.Equal(current, c.Old) {
		return fmt.Errorf("%w: run the command again", ErrChangedMeanwhile)
	}
	return nil
}

// lockFiles takes the lock that serialises writes to the tools' files;
// rotations take the same lock when they write a sink.
func lockFiles(env Env) (func(), error) {
	if env.StateDir == "" {
		return func() {}, nil
	}
	return sink.LockConfigs(filepath.Join(env.StateDir, "locks"))
}

func writeChange(env Env, c Change, dirs *createdDirs) error {
	if err := unchangedSincePlan(c); err != nil {
		return err
	}
	perm := c.Perm
	if perm == 0 {
		perm = 0o644
	}
	if info, err := os.Stat(c.Path); err == nil {
		perm = info.Mode().Perm() // keep the user's mode ...
	}
	if c.Secret {
		perm = SecretPerm // ... unless the file holds a token
	}
	// A file being deleted gets no .bak: coda deletes only a file it
	// created and that holds nothing but its own writing (pluginkit's
	// Record.Created), so a .bak would keep only coda's content.
	if c.Backup && c.Old != nil && c.New != nil {
		if err := atomicfile.Write(c.Path+".bak", c.Old, perm, nil); err != nil {
			return fmt.Errorf("keep a backup: %w", err)
		}
	}
	if c.New == nil {
		if err := os.Remove(c.Path); err != nil {
			return err
		}
		dirs.prune(env, filepath.Dir(c.Path))
		return nil
	}
	dirs.add(missing(env, filepath.Dir(c.Path)))
	if c.Secret {
		if err := privateDir(env, filepath.Dir(c.Path)); err != nil {
			return err
		}
	} else if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(c.Path, c.New, perm, nil)
}

// DiffOptions say how DiffWith renders a plan.
type DiffOptions struct {
	// Secrets are shown by their last 4 characters only, as are the
	// plan's own Secrets.
	Secrets []string
	// StateDir, when set, is coda's state directory: changes to files in
	// it (plugins' records and token files) are coda's business, not the
	// user's, and are left out.
	StateDir string
	// Color marks removed lines red, added lines green and hunk headers
	// cyan, for a terminal.
	Color bool
}

// ANSI colours of a coloured diff.
const (
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
	ansiReset = "\x1b[0m"
)

// noNewline follows a line that ends its file without a newline.
const noNewline = "\\ No newline at end of file\n"

// Diff renders a plan as unified diffs, one per changed file, uncoloured
// and for every file; see DiffWith.
func Diff(p Plan, secrets ...string) string {
	return DiffWith(p, DiffOptions{Secrets: secrets})
}

// DiffWith renders a plan as unified diffs, one per changed file, followed
// by the plan's notes. The diffs are a patch that `patch -p1 -d /` (paths
// are absolute) applies to the files the plan was computed from: a file
// created comes from /dev/null, a file deleted goes to it, and a last
// line without a newline is marked "\ No newline at end of file". Every
// occurrence of a secret is shown by its last 4 characters only, so a
// hunk around a secret shows, but does not apply.
func DiffWith(p Plan, o DiffOptions) string {
	secrets := append(slices.Clone(o.Secrets), p.Secrets...)
	var b strings.Builder
	for _, c := range p.Changes {
		if !c.Changed() || (o.StateDir != "" && within(o.StateDir, c.Path)) {
			continue
		}
		before, after := redact(string(c.Old), secrets), redact(string(c.New), secrets)
		if before == "" && after == "" {
			// No line to show: patch cannot create or delete an empty file.
			what := "creates"
			if c.New == nil {
				what = "deletes"
			}
			fmt.Fprintf(&b, "note (%s): %s the empty file %s\n", p.Plugin, what, c.Path)
			continue
		}
		from, to := patchName(c.Path), patchName(c.Path)
		if c.Old == nil {
			from = "/dev/null"
		}
		if c.New == nil {
			to = "/dev/null"
		}
		writeFileDiff(&b, from, to, splitLines(before), splitLines(after), o.Color)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note (%s): %s\n", p.Plugin, n)
	}
	return b.String()
}

// within reports whether path lies in dir.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// splitLines splits s after every newline; the last line lacks one when s
// does not end in one. Unlike difflib.SplitLines it adds no line.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// writeFileDiff writes one file's unified diff with 3 lines of context.
func writeFileDiff(b *strings.Builder, from, to string, a, z []string, color bool) {
	paint := func(col, line string) {
		if color {
			b.WriteString(col + line + ansiReset + "\n")
		} else {
			b.WriteString(line + "\n")
		}
	}
	// line writes one line of a hunk; a last line without a newline gets
	// the marker.
	line := func(col, prefix, l string) {
		text, ended := strings.CutSuffix(l, "\n")
		if col == "" {
			b.WriteString(prefix + text + "\n")
		} else {
			paint(col, prefix+text)
		}
		if !ended {
			b.WriteString(noNewline)
		}
	}
	paint(ansiBold, "--- "+from)
	paint(ansiBold, "+++ "+to)
	for _, group := range difflib.NewMatcher(a, z).GetGroupedOpCodes(3) {
		first, last := group[0], group[len(group)-1]
		paint(ansiCyan, fmt.Sprintf("@@ -%s +%s @@", hunkRange(first.I1, last.I2), hunkRange(first.J1, last.J2)))
		for _, op := range group {
			if op.Tag == 'e' {
				for _, l := range a[op.I1:op.I2] {
					line("", " ", l)
				}
				continue
			}
			if op.Tag == 'r' || op.Tag == 'd' {
				for _, l := range a[op.I1:op.I2] {
					line(ansiRed, "-", l)
				}
			}
			if op.Tag == 'r' || op.Tag == 'i' {
				for _, l := range z[op.J1:op.J2] {
					line(ansiGreen, "+", l)
				}
			}
		}
	}
}

// hunkRange is the "start,count" of lines [start, stop) in a hunk header:
// the count is left out when it is 1, and an empty range starts at the
// line before it.
func hunkRange(start, stop int) string {
	n := stop - start
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// patchName is a path as a patch header names it: as it is, or, when it
// holds a space, quote, backslash or control character, C-quoted the way
// GNU diff quotes it and patch reads it.
func patchName(path string) string {
	if !strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r == 0x7f }) {
		return path
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		default:
			if c < ' ' || c == 0x7f {
				fmt.Fprintf(&b, "\\%03o", c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 8 {
			s = strings.ReplaceAll(s, sec, "<token …"+sec[len(sec)-4:]+">")
		}
	}
	return s
}
