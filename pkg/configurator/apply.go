package configurator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/coda-cli/coda/internal/atomicfile"
)

// SecretPerm is the mode of every file that holds a token.
const SecretPerm os.FileMode = 0o600

// ErrChangedMeanwhile means a file changed between planning and applying.
var ErrChangedMeanwhile = errors.New("changed while coda was planning")

// WriteChanges applies a plan: for each changed file it checks the file
// still holds what the plan was computed from, keeps a .bak of the old
// content when asked, then replaces the file atomically (or removes it).
// Writes are serialised across processes by a lock in env.StateDir.
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
	for _, c := range p.Changes {
		if !c.Changed() {
			continue
		}
		if err := writeChange(env, c); err != nil {
			return fmt.Errorf("%s: %w", c.Path, err)
		}
	}
	return nil
}

// privateDir makes the directory of a secret file 0700, creating it if
// needed; the home directory itself is the user's business.
func privateDir(env Env, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if filepath.Clean(dir) == filepath.Clean(env.Home) {
		return nil
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
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

func lockFiles(env Env) (func(), error) {
	if env.StateDir == "" {
		return func() {}, nil
	}
	dir := filepath.Join(env.StateDir, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	fl := flock.New(filepath.Join(dir, "configs.lock"), flock.SetPermissions(0o600))
	if err := fl.Lock(); err != nil {
		return nil, fmt.Errorf("lock coda's config writes: %w", err)
	}
	return func() { _ = fl.Unlock() }, nil
}

func writeChange(env Env, c Change) error {
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
	if c.Backup && c.Old != nil {
		if err := atomicfile.Write(c.Path+".bak", c.Old, perm, nil); err != nil {
			return fmt.Errorf("keep a backup: %w", err)
		}
	}
	if c.New == nil {
		return os.Remove(c.Path)
	}
	if c.Secret {
		if err := privateDir(env, filepath.Dir(c.Path)); err != nil {
			return err
		}
	} else if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(c.Path, c.New, perm, nil)
}

// Diff renders a plan as unified diffs, one per changed file. Every
// occurrence of a secret (given, or listed in p.Secrets) is shown by its
// last 4 characters only.
func Diff(p Plan, secrets ...string) string {
	secrets = append(secrets, p.Secrets...)
	var b strings.Builder
	for _, c := range p.Changes {
		if !c.Changed() {
			continue
		}
		from, to := c.Path, c.Path
		if c.Old == nil {
			from = "/dev/null"
		}
		if c.New == nil {
			to = "/dev/null"
		}
		text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(redact(string(c.Old), secrets)), B: difflib.SplitLines(redact(string(c.New), secrets)),
			FromFile: from, ToFile: to, Context: 3,
		})
		b.WriteString(text)
		if text != "" && !strings.HasSuffix(text, "\n") {
			b.WriteString("\n")
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note (%s): %s\n", p.Plugin, n)
	}
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
