package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// gitTimeout bounds one git config run; it never takes more than a moment.
const gitTimeout = 30 * time.Second

// errNoGit is the error when no git can be run.
var errNoGit = errors.New("git is not on PATH: coda sets user.name and user.email with git config, so install git first")

// gitRunner runs git config for one Env.
type gitRunner struct {
	bin string
	env []string
}

// runner returns the git to run for env: pl.Git, or the git on env's PATH.
// Its environment is built from env alone, never from coda's own process,
// so a test's HOME is the only home git sees: HOME, XDG_CONFIG_HOME and
// GIT_CONFIG_GLOBAL (which choose the global files), PATH, no system
// config, and messages in English.
func (pl Plugin) runner(env configurator.Env) (*gitRunner, error) {
	bin := pl.Git
	if bin == "" {
		if env.LookPath == nil {
			return nil, errNoGit
		}
		var err error
		if bin, err = env.LookPath("git"); err != nil {
			return nil, errNoGit
		}
	}
	vars := []string{"HOME=" + env.Home, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"}
	for _, k := range []string{"XDG_CONFIG_HOME", "PATH"} {
		if v := pluginkit.Getenv(env, k); v != "" {
			vars = append(vars, k+"="+v)
		}
	}
	if g := globalOverride(env); g != "" {
		vars = append(vars, "GIT_CONFIG_GLOBAL="+g)
	}
	return &gitRunner{bin: bin, env: vars}, nil
}

// gitError is a git config run that failed: its exit status and the first
// line git wrote to stderr, without git's "fatal: " or "error: ".
type gitError struct {
	code int
	msg  string
}

func (e *gitError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.msg
}

// notFound reports whether err is git config's exit status 1: the key (or
// section) is not there.
func notFound(err error) bool {
	var ge *gitError
	return errors.As(err, &ge) && ge.code == 1
}

// config runs `git config args...` in dir and returns its standard output.
func (g *gitRunner) config(dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, append([]string{"config"}, args...)...)
	cmd.Env, cmd.Dir = g.env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		for _, p := range []string{"fatal: ", "error: "} {
			msg = strings.TrimPrefix(msg, p)
		}
		return nil, &gitError{code: ee.ExitCode(), msg: msg}
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", g.bin, err)
	}
	return stdout.Bytes(), nil
}

// userValues returns the values of the [user] keys (not of [user "x"]
// subsections) in the config file at path, by key in git's lower-case
// spelling ("user.name"), in file order.
func (g *gitRunner) userValues(path string) (map[string][]string, error) {
	out, err := g.config(os.TempDir(), "--file", path, "--null", "--get-regexp", `^user\.[^.]+$`)
	if notFound(err) {
		return map[string][]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	vals := map[string][]string{}
	for _, entry := range strings.Split(string(out), "\x00") {
		if entry == "" {
			continue
		}
		key, value, _ := strings.Cut(entry, "\n") // a bare key is a boolean: no value
		vals[key] = append(vals[key], value)
	}
	return vals, nil
}

// gitCommand is the arguments of one `git config` run after its target
// (--global or --file PATH): "KEY VALUE" or "--unset KEY".
type gitCommand []string

func setCommand(key, value string) gitCommand { return gitCommand{key, value} }
func unsetCommand(key string) gitCommand      { return gitCommand{"--unset", key} }

// preview runs cmds on a private copy of a config file whose content is old
// (nil: missing) and returns the copy's content afterwards: what the same
// commands will make of the real file.
func (g *gitRunner) preview(old []byte, cmds []gitCommand) ([]byte, error) {
	dir, err := os.MkdirTemp("", "coda-git-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	copyPath := filepath.Join(dir, "config")
	if old != nil {
		if err := os.WriteFile(copyPath, old, 0o600); err != nil {
			return nil, err
		}
	}
	for _, c := range cmds {
		if _, err := g.config(dir, append([]string{"--file", copyPath}, c...)...); err != nil {
			return nil, fmt.Errorf("git config %s: %w", strings.Join(c, " "), err)
		}
	}
	return pluginkit.ReadOptional(copyPath)
}

// gitFile is one global config file git reads.
type gitFile struct {
	path, shown string
	rank        int    // git reads files in rank order: a higher rank wins
	old         []byte // nil when missing
	vals        map[string][]string
}

// state is the global files, the one git config --global writes, and
// coda's record.
type state struct {
	files  []*gitFile // git's reading order
	global string
	// rec is coda's record of the file it wrote into: a key recorded there
	// is one coda set (Wrote), with the value --force replaced (Original;
	// absent: there was none there). Created: coda made the file, so
	// remove deletes it once nothing else is in it (git itself drops a
	// [user] section that remove empties).
	rec    *pluginkit.FileRecord
	stored pluginkit.Sidecar // the record's file, as found
	git    *gitRunner
}

func load(env configurator.Env, g *gitRunner) (*state, error) {
	s := &state{global: GlobalConfig(env), git: g}
	for rank, path := range globalFiles(env) {
		f := &gitFile{path: path, shown: pluginkit.Display(env, path), rank: rank, vals: map[string][]string{}}
		data, err := pluginkit.ReadShown(env, path)
		if err != nil {
			return nil, err
		}
		f.old = data
		if data != nil {
			if f.vals, err = g.userValues(path); err != nil {
				// git names the file in its message; coda names it once.
				detail := strings.ReplaceAll(err.Error(), " in file "+path, "")
				return nil, pluginkit.Malformed(env, path, "is not a git config git can read", detail)
			}
		}
		s.files = append(s.files, f)
	}
	var err error
	if s.rec, s.stored, err = loadRecord(env); err != nil {
		return nil, err
	}
	return s, nil
}

// file returns the loaded file at path, or nil.
func (s *state) file(path string) *gitFile {
	for _, f := range s.files {
		if f.path == path {
			return f
		}
	}
	return nil
}

// value is a key's value in one file (or, from effective, in git's view).
type value struct {
	set   bool
	value string
	// multi: the key appears more than once in the file (git's
	// multi-valued keys, or the same key in two [user] blocks).
	multi bool
	file  *gitFile
}

// get is a key ("user.name") as git reads it from the file: the last of
// its values.
func (f *gitFile) get(key string) value {
	vals := f.vals[key]
	v := value{file: f, set: len(vals) > 0, multi: len(vals) > 1}
	if v.set {
		v.value = vals[len(vals)-1]
	}
	return v
}

// effective is the value git uses: the one in the file it reads last.
func (s *state) effective(key string) value {
	var eff value
	for _, f := range s.files {
		if v := f.get(key); v.set {
			eff = v
		}
	}
	return eff
}

// owned reports, per key, whether the value in the record's file is still
// the one coda set (once, not among several).
func (s *state) owned(rec *pluginkit.FileRecord) map[string]bool {
	out := map[string]bool{}
	f := s.file(rec.Path)
	if f == nil {
		return out
	}
	for _, kr := range rec.Keys {
		key := strings.Join(kr.Key, ".")
		if v := f.get(key); v.set && !v.multi && v.value == kr.Wrote {
			out[key] = true
		}
	}
	return out
}

// recordKey is a key ("user.name") as a key path of the record.
func recordKey(key string) pluginkit.Key { return strings.Split(key, ".") }

// change runs cmds on a copy of w and returns the Change they make to it:
// a git config holds no secret, keeps its mode (git keeps it), and gets a
// .bak when it existed.
func (s *state) change(w *gitFile, cmds []gitCommand) (configurator.Change, error) {
	c := configurator.Change{Path: w.path, Old: w.old, New: w.old, Perm: 0o644, Backup: w.old != nil}
	if len(cmds) == 0 {
		return c, nil
	}
	var err error
	if c.New, err = s.git.preview(w.old, cmds); err != nil {
		return c, fmt.Errorf("%s: %w", w.shown, err)
	}
	return c, nil
}

// loadRecord reads the sidecar: rec is nil when there is none.
func loadRecord(env configurator.Env) (rec *pluginkit.FileRecord, stored pluginkit.Sidecar, err error) {
	r, stored, err := pluginkit.LoadRecord(env, pluginkit.RecordFormat{
		Plugin: "git",
		Legacy: legacyRecord,
		Check: func(r *pluginkit.Record) error {
			if len(r.Files) != 1 {
				return errors.New("not one config file")
			}
			return nil
		},
	})
	if r == nil {
		return nil, stored, err
	}
	return r.Files[0], stored, nil
}

// sidecarChange writes rec, or deletes the sidecar when rec is nil or
// records no key.
func (s *state) sidecarChange(rec *pluginkit.FileRecord) configurator.Change {
	if rec == nil || len(rec.Keys) == 0 {
		return s.stored.Remove()
	}
	return s.stored.Save(&pluginkit.Record{Version: pluginkit.RecordVersion, Files: []*pluginkit.FileRecord{rec}})
}

// Commands travel from Plan to Apply in the plan's notes, one per note, as
// a person would type them: commandPrefix, then shell words.
const commandPrefix = "runs "

// commandNotes are the notes that carry cmds, run on w.
func (s *state) commandNotes(env configurator.Env, w *gitFile, cmds []gitCommand) []string {
	target := "--global"
	if w.path != s.global {
		target = "--file " + shellQuote(pluginkit.Display(env, w.path))
	}
	var notes []string
	for _, c := range cmds {
		words := make([]string, len(c))
		for i, a := range c {
			words[i] = shellQuote(a)
		}
		notes = append(notes, commandPrefix+"git config "+target+" "+strings.Join(words, " "))
	}
	return notes
}

// plannedCommand is a command read back from a note.
type plannedCommand struct {
	global bool // --global, else --file (the plan's file)
	args   gitCommand
}

// parseCommands reads the commands back from a plan's notes. It accepts
// only the forms Plan writes: a plan is data, never a script.
func parseCommands(notes []string) ([]plannedCommand, error) {
	var out []plannedCommand
	for _, n := range notes {
		rest, ok := strings.CutPrefix(n, commandPrefix)
		if !ok {
			continue
		}
		words, err := shellWords(rest)
		bad := fmt.Errorf("the plan's note %q is not a command coda runs", n)
		if err != nil || len(words) < 3 || words[0] != "git" || words[1] != "config" {
			return nil, bad
		}
		pc := plannedCommand{}
		switch {
		case words[2] == "--global":
			pc.global, words = true, words[3:]
		case words[2] == "--file" && len(words) > 3:
			words = words[4:]
		default:
			return nil, bad
		}
		switch {
		case len(words) == 2 && words[0] == "--unset" && isKey(words[1]):
		case len(words) == 2 && isKey(words[0]) && valueOK(words[1]) == nil:
		default:
			return nil, bad
		}
		pc.args = words
		out = append(out, pc)
	}
	return out, nil
}

func isKey(k string) bool {
	for _, key := range Keys {
		if k == key {
			return true
		}
	}
	return false
}

// shellQuote quotes s for a POSIX shell: as it is when it is plain, else
// in single quotes.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_~-", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellWords splits what shellQuote wrote back into words: blanks
// separate words, single quotes quote, a backslash outside them escapes
// the next character.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quoted:
			if r == '\'' {
				quoted = false
			} else {
				cur.WriteRune(r)
			}
		case r == '\'':
			quoted, inWord = true, true
		case r == '\\':
			escaped, inWord = true, true
		case r == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted || escaped {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
