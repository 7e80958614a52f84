// Package git is coda's configurator for git's identity: it sets the
// global user.name and user.email to the workspace user, only where they
// are unset (or with the force option), as the app coda replaces did.
//
// git owns its config syntax, so coda neither parses nor edits a git
// config: like the GitHub CLI it runs git config. It sets values with
// `git config --global`, which writes ~/.gitconfig, or
// $XDG_CONFIG_HOME/git/config (~/.config/git/config) when only that one
// exists, or $GIT_CONFIG_GLOBAL when that is set. It reads each global
// file git reads (the XDG file, then ~/.gitconfig; or $GIT_CONFIG_GLOBAL
// alone) with `git config --file`, because `git config --global` of older
// gits (2.39, for one) reads only the file it writes: a value set in
// either is the user's. git runs with an environment built from the configurator.Env alone
// (HOME, XDG_CONFIG_HOME, GIT_CONFIG_GLOBAL, no system config), never
// from coda's own process.
//
// The configurator interface is plan-based: Plan returns file changes,
// which coda shows with --dry-run and then hands to Apply. A command-based
// plugin fits it with no change to the interface:
//
//   - Plan decides the git config commands and runs them on a private copy
//     of the file they write, in a temporary directory. What git makes of
//     the copy is the plan's Change for that file, so --dry-run shows the
//     exact diff git will make, and a plan with nothing to run is empty.
//   - The commands travel in the plan's notes, one per note, as a person
//     would type them ("runs git config --global user.name Alice"), so
//     --dry-run lists them too.
//   - Apply checks that the file still holds what the plan saw, writes the
//     sidecar, keeps a .bak of the file, runs the commands from the notes
//     (only the forms Plan writes are accepted) on the real file, and
//     checks that git left it as planned.
//
// What coda set, and what --force replaced, is recorded in a sidecar
// (StateDir/plugins/git.json) so that remove restores the values (git
// rewrites the lines it sets, so a comment on a replaced line does not
// come back), and deletes the file when coda created it and nothing else
// is in it. Without git, Plan and PlanRemove fail and Status is absent.
package git

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/coda-cli/coda/internal/atomicfile"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Target options.
const (
	// OptionForce ("true") overwrites values the user set.
	OptionForce = "force"
	// OptionName overrides the display name derived from the user name.
	OptionName = "name"
)

// Keys are the git keys coda sets, as section.key.
var Keys = []string{"user.name", "user.email"}

// Plugin configures git's global identity.
type Plugin struct {
	// Git is the git executable to run; empty means the one Env.LookPath
	// finds. (Tests set it: the contract suite's PATH holds only stubs.)
	Git string
}

// New returns the git plugin.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        "git",
		Description: "git's global user.name and user.email from the workspace user, only where unset (--force overwrites)",
		Delivery:    configurator.DeliveryNone,
		InAll:       false,
		Binaries:    []string{"git"},
	}
}

// HomeConfig is ~/.gitconfig.
func HomeConfig(env configurator.Env) string { return filepath.Join(env.Home, ".gitconfig") }

// XDGConfig is $XDG_CONFIG_HOME/git/config, or ~/.config/git/config.
func XDGConfig(env configurator.Env) string {
	if x := env.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "git", "config")
	}
	return filepath.Join(env.Home, ".config", "git", "config")
}

// globalOverride is $GIT_CONFIG_GLOBAL, made absolute; "" when unset.
func globalOverride(env configurator.Env) string {
	g := pluginkit.Getenv(env, "GIT_CONFIG_GLOBAL")
	if g == "" {
		return ""
	}
	if abs, err := filepath.Abs(g); err == nil {
		return abs
	}
	return g
}

// globalFiles are the global config files git reads, in its order.
func globalFiles(env configurator.Env) []string {
	if g := globalOverride(env); g != "" {
		return []string{g}
	}
	return []string{XDGConfig(env), HomeConfig(env)}
}

// GlobalConfig is the file `git config --global` writes: $GIT_CONFIG_GLOBAL
// when set, else ~/.gitconfig unless only the XDG file exists.
func GlobalConfig(env configurator.Env) string {
	if g := globalOverride(env); g != "" {
		return g
	}
	home, xdg := HomeConfig(env), XDGConfig(env)
	if !exists(home) && exists(xdg) {
		return xdg
	}
	return home
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	return pluginkit.Detect(env, pl.Info(), GlobalConfig(env))
}

// Apply carries out a plan from Plan or PlanRemove: the sidecar through
// configurator.WriteChanges, the git config file by running the plan's
// commands with git config.
func (pl Plugin) Apply(env configurator.Env, p configurator.Plan) error {
	cmds, err := parseCommands(p.Notes)
	if err != nil {
		return err
	}
	side := pluginkit.SidecarPath(env, "git")
	var cfg *configurator.Change
	for i, c := range p.Changes {
		if c.Path == side || !c.Changed() {
			continue
		}
		if cfg != nil {
			return fmt.Errorf("a git plan changes one config file, this one changes %s and %s", cfg.Path, c.Path)
		}
		cfg = &p.Changes[i]
	}
	if cfg == nil {
		if len(cmds) > 0 {
			return errors.New("the git plan runs git config but changes no config file")
		}
		return configurator.WriteChanges(env, p)
	}
	global := cfg.Path == GlobalConfig(env)
	for _, c := range cmds {
		if c.global != global {
			return fmt.Errorf("the git plan's commands do not target %s", pluginkit.Display(env, cfg.Path))
		}
	}
	// Check the file before writing anything, so a file edited meanwhile
	// stops the whole plan.
	if err := unchangedSincePlan(env, *cfg); err != nil {
		return err
	}
	// In the plan's order: the record before the config when setting (if
	// the config then fails, the values it records are not in the file,
	// so coda does not count them as its own), after it when removing.
	for _, c := range p.Changes {
		if !c.Changed() {
			continue
		}
		if c.Path == side {
			if err := configurator.WriteChanges(env, configurator.Plan{Plugin: p.Plugin, Changes: []configurator.Change{c}}); err != nil {
				return err
			}
			continue
		}
		if err := pl.applyConfig(env, c, cmds); err != nil {
			return err
		}
	}
	return nil
}

// unchangedSincePlan checks that the file still holds what c was planned
// from.
func unchangedSincePlan(env configurator.Env, c configurator.Change) error {
	current, err := pluginkit.ReadShown(env, c.Path)
	if err != nil {
		return err
	}
	if (current == nil) != (c.Old == nil) || !bytes.Equal(current, c.Old) {
		return fmt.Errorf("%s: %w: run the command again", pluginkit.Display(env, c.Path), configurator.ErrChangedMeanwhile)
	}
	return nil
}

// applyConfig keeps a .bak of the file, runs the commands on it and
// checks that git left it as the plan's preview did.
func (pl Plugin) applyConfig(env configurator.Env, c configurator.Change, cmds []plannedCommand) error {
	shown := pluginkit.Display(env, c.Path)
	g, err := pl.runner(env)
	if err != nil {
		return err
	}
	if c.Backup && c.Old != nil {
		perm := os.FileMode(0o644)
		if info, err := os.Stat(c.Path); err == nil {
			perm = info.Mode().Perm()
		}
		if err := atomicfile.Write(c.Path+".bak", c.Old, perm, nil); err != nil {
			return fmt.Errorf("%s: keep a backup: %w", shown, err)
		}
	}
	if c.Old == nil && len(cmds) > 0 {
		if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
			return err
		}
	}
	for _, cmd := range cmds {
		args := []string{"--global"}
		if !cmd.global {
			args = []string{"--file", c.Path}
		}
		if _, err := g.config(os.TempDir(), append(args, cmd.args...)...); err != nil {
			return fmt.Errorf("%s: git config %s: %w", shown, strings.Join(cmd.args, " "), err)
		}
	}
	if c.New == nil {
		if err := os.Remove(c.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	got, err := pluginkit.ReadShown(env, c.Path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, c.New) {
		return fmt.Errorf("%s: git config left the file other than planned: check user.name and user.email there", shown)
	}
	return nil
}

// DisplayName derives a name from an email's local part, the way people
// spell theirs: "alice.smith+dev@x" → "Alice Smith". Without a usable
// local part it returns the address.
func DisplayName(email string) string {
	local, _, _ := strings.Cut(email, "@")
	local, _, _ = strings.Cut(local, "+")
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' || unicode.IsSpace(r) })
	for i, p := range parts {
		r, n := utf8.DecodeRuneInString(p)
		parts[i] = string(unicode.ToUpper(r)) + p[n:]
	}
	if len(parts) == 0 {
		return email
	}
	return strings.Join(parts, " ")
}

// wanted returns the values coda sets, keyed like Keys.
func wanted(t configurator.Target) (map[string]string, error) {
	if t.User == "" {
		return nil, errors.New("the profile has no workspace user name: run coda login")
	}
	want := map[string]string{"user.name": t.Option(OptionName, DisplayName(t.User)), "user.email": t.User}
	for _, k := range Keys {
		if err := valueOK(want[k]); err != nil {
			return nil, fmt.Errorf("%s %q: %w", k, want[k], err)
		}
	}
	return want, nil
}

// valueOK accepts a value for user.name or user.email: git config quotes
// and escapes whatever it needs, so only an empty value and control
// characters (a line break in an identity) are refused.
func valueOK(v string) error {
	switch {
	case v == "":
		return errors.New("is empty")
	case pluginkit.HasControl(v):
		return errors.New("has control characters")
	}
	return nil
}

// Plan sets each of user.name and user.email that is unset (in both global
// files), that coda set before, or, with force, that holds another value.
func (pl Plugin) Plan(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Info().Name}
	g, err := pl.runner(env)
	if err != nil {
		return plan, err
	}
	s, err := load(env, g)
	if err != nil {
		return plan, err
	}
	want, err := wanted(t)
	if err != nil {
		return plan, err
	}
	force := t.Option(OptionForce, "") == "true"
	// coda keeps writing into the file it wrote before while it still owns
	// a key there; otherwise into the file git config --global writes.
	rec := s.rec
	w := s.file(s.global)
	if rec != nil && s.file(rec.Path) != nil && len(s.owned(rec)) > 0 {
		w = s.file(rec.Path)
	}
	if rec == nil || rec.Path != w.path {
		rec = &pluginkit.FileRecord{Path: w.path, Created: w.old == nil}
	}
	// A recorded key whose value the user changed is theirs: owned says so,
	// and remove leaves it (with a note).
	owned := s.owned(rec)
	var cmds []gitCommand
	for _, key := range Keys {
		v := want[key]
		cur := w.get(key)
		eff := s.effective(key)
		switch {
		case owned[key]:
			if cur.value != v {
				cmds = append(cmds, setCommand(key, v))
				rec.Key(recordKey(key)...).Wrote = v
			}
			if eff.file.rank > w.rank && eff.value != v {
				plan.Notes = append(plan.Notes, overridden(key, eff.file, w))
			}
		case eff.multi:
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s is set more than once in %s (git reads several values): coda leaves it alone", key, eff.file.shown))
		case !eff.set:
			cmds = append(cmds, setCommand(key, v))
			rec.Keep(recordKey(key), "", false).Wrote = v
		case eff.value == v:
			// The user's own value is coda's: nothing to do or to own.
		case !force:
			plan.Notes = append(plan.Notes, fmt.Sprintf("keeps your %s %q (coda setup git --force replaces it)", key, eff.value))
		case eff.file.rank > w.rank:
			plan.Notes = append(plan.Notes, overridden(key, eff.file, w))
		default:
			// --force: the value replaced in this file comes back on
			// remove (absent: there was none here).
			cmds = append(cmds, setCommand(key, v))
			rec.Keep(recordKey(key), cur.value, cur.set).Wrote = v
		}
	}
	side := s.sidecarChange(rec)
	c, err := s.change(w, cmds)
	if err != nil {
		return plan, err
	}
	plan.Changes = pluginkit.AppendChanged(plan.Changes, side, c)
	plan.Notes = append(plan.Notes, s.commandNotes(env, w, cmds)...)
	return plan, nil
}

func overridden(key string, by, w *gitFile) string {
	return fmt.Sprintf("cannot replace %s: it is set in %s, which git reads after %s", key, by.shown, w.shown)
}

// PlanRemove deletes the values coda set that still hold what it set and
// puts back the values --force replaced.
func (pl Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Info().Name}
	g, err := pl.runner(env)
	if err != nil {
		return plan, err
	}
	s, err := load(env, g)
	if err != nil {
		return plan, err
	}
	rec := s.rec
	if rec == nil {
		return plan, nil
	}
	if w := s.file(rec.Path); w != nil {
		owned := s.owned(rec)
		var cmds []gitCommand
		for _, key := range Keys {
			kr := rec.Key(recordKey(key)...)
			if kr == nil {
				continue
			}
			if !owned[key] {
				if w.get(key).set {
					plan.Notes = append(plan.Notes, fmt.Sprintf("kept %s in %s: changed since coda set it", key, w.shown))
				}
				continue
			}
			if kr.Original != nil {
				cmds = append(cmds, setCommand(key, *kr.Original))
			} else {
				cmds = append(cmds, unsetCommand(key))
			}
		}
		c, err := s.change(w, cmds)
		if err != nil {
			return plan, err
		}
		if rec.Created && c.New != nil && len(bytes.TrimSpace(c.New)) == 0 {
			c.New, c.Backup = nil, false
		}
		plan.Changes = pluginkit.AppendChanged(plan.Changes, c)
		plan.Notes = append(plan.Notes, s.commandNotes(env, w, cmds)...)
	}
	plan.Changes = append(plan.Changes, s.sidecarChange(nil))
	return plan, nil
}

// Status compares git's effective identity with the workspace user's.
func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	want, err := wanted(t)
	if err != nil {
		return configurator.Status{}, err
	}
	if !pl.Detect(env).Installed {
		rec, _, err := loadRecord(env)
		if err != nil {
			return configurator.Status{}, err
		}
		if rec == nil {
			return configurator.Status{State: configurator.StateAbsent, Detail: "git is not on PATH"}, nil
		}
	}
	g, err := pl.runner(env)
	if err != nil {
		return configurator.Status{State: configurator.StateAbsent,
			Detail: "git is not on PATH, so coda cannot read the user.name and user.email it set"}, nil
	}
	s, err := load(env, g)
	if err != nil {
		return configurator.Status{}, err
	}
	owned := map[string]bool{}
	if s.rec != nil {
		owned = s.owned(s.rec)
	}
	var stale, foreign, unset []string
	for _, key := range Keys {
		eff := s.effective(key)
		ours := owned[key] && eff.file != nil && eff.file.path == s.rec.Path
		switch {
		case !eff.set:
			unset = append(unset, key)
		case eff.value == want[key] && !eff.multi:
		case ours:
			stale = append(stale, fmt.Sprintf("%s is %q, the profile's is %q", key, eff.value, want[key]))
		default:
			foreign = append(foreign, key)
		}
	}
	switch {
	case len(stale) > 0:
		return configurator.Status{State: configurator.StateStale, Detail: "coda set " + strings.Join(stale, "; ") + ": run coda setup git"}, nil
	case len(foreign) > 0:
		return configurator.Status{State: configurator.StateForeign,
			Detail: fmt.Sprintf("you set %s to other values; coda keeps them (coda setup git --force replaces them)", strings.Join(foreign, " and "))}, nil
	case len(unset) > 0:
		return configurator.Status{State: configurator.StateNotConfigured, Detail: strings.Join(unset, " and ") + " not set"}, nil
	}
	return configurator.Status{State: configurator.StateConfigured,
		Detail: fmt.Sprintf("git commits as %s <%s>", want["user.name"], want["user.email"])}, nil
}
