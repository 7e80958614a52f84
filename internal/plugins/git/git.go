// Package git is coda's configurator for git's identity: it sets the
// global user.name and user.email to the workspace user, only where they
// are unset (or with the force option), as the app coda replaces did.
//
// The global config is git's: ~/.gitconfig, or $XDG_CONFIG_HOME/git/config
// (~/.config/git/config) when only that one exists, which is where
// `git config --global` writes. Both are read, as git reads both: a value
// set in either is the user's. The file is edited line by line with
// iniedit, on top of which this package adds what git config syntax needs
// and an INI reader does not give: case-insensitive section and key names,
// values written only in a form git and INI read alike, and keys that
// appear more than once (git's multi-valued keys) left alone. What coda
// set, and what --force replaced, is recorded in a sidecar
// (StateDir/plugins/git.json) so that remove restores it.
package git

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

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
type Plugin struct{}

// New returns the git plugin.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Name() string { return "git" }

func (Plugin) Description() string {
	return "git's global user.name and user.email from the workspace user, only where unset (--force overwrites)"
}

func (Plugin) Delivery() configurator.Delivery { return configurator.DeliveryNone }

func (Plugin) InAll() bool { return false }

// HomeConfig is ~/.gitconfig.
func HomeConfig(env configurator.Env) string { return filepath.Join(env.Home, ".gitconfig") }

// XDGConfig is $XDG_CONFIG_HOME/git/config, or ~/.config/git/config.
func XDGConfig(env configurator.Env) string {
	if x := env.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "git", "config")
	}
	return filepath.Join(env.Home, ".config", "git", "config")
}

// GlobalConfig is the file `git config --global` writes: ~/.gitconfig
// unless only the XDG file exists.
func GlobalConfig(env configurator.Env) string {
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

func (Plugin) Detect(env configurator.Env) configurator.Detection {
	return pluginkit.Detect(env, "git", GlobalConfig(env))
}

func (Plugin) Apply(env configurator.Env, p configurator.Plan) error {
	return configurator.WriteChanges(env, p)
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
		if err := gitSafe(want[k]); err != nil {
			return nil, fmt.Errorf("%s %q: %w", k, want[k], err)
		}
	}
	return want, nil
}

// gitSafe accepts values that iniedit writes bare (no quotes) and that git
// and an INI reader then read back unchanged: git treats " \ # ; as
// syntax where INI does not, and INI strips quotes git would keep.
func gitSafe(v string) error {
	switch {
	case v == "":
		return errors.New("is empty")
	case strings.TrimSpace(v) != v:
		return errors.New("has leading or trailing spaces, which coda does not write into a git config")
	case strings.ContainsFunc(v, unicode.IsControl):
		return errors.New("has control characters")
	case strings.ContainsAny(v, "\"\\#;`"):
		return errors.New("has one of \" \\ # ; ` which coda does not write into a git config: set it with git config --global")
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
		return errors.New("is quoted with '")
	}
	return nil
}

// Plan sets each of user.name and user.email that is unset (in both global
// files), that coda set before, or, with force, that holds another value.
func (pl Plugin) Plan(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Name()}
	s, err := load(env)
	if err != nil {
		return plan, err
	}
	want, err := wanted(t)
	if err != nil {
		return plan, err
	}
	force := t.Option(OptionForce, "") == "true"
	// coda keeps writing into the file it wrote before while it still owns
	// a key there; otherwise into the file git config --global uses.
	rec := s.rec
	w := s.file(GlobalConfig(env))
	if rec != nil && s.file(rec.File) != nil && len(s.owned(rec)) > 0 {
		w = s.file(rec.File)
	}
	if rec == nil || rec.File != w.path {
		rec = &record{Version: recordVersion, File: w.path, CreatedFile: w.old == nil, Keys: map[string]*keyRecord{}}
	}
	// A recorded key whose value the user changed is theirs: owned says so,
	// and remove leaves it (with a note).
	owned := s.owned(rec)
	for _, key := range Keys {
		v := want[key]
		cur := w.get(key)
		eff := s.effective(key)
		switch {
		case owned[key]:
			if cur.value != v {
				if err := w.set(key, cur, v); err != nil {
					return plan, err
				}
				rec.Keys[key].Value = v
			}
			if eff.file.rank > w.rank && eff.value != v {
				plan.Notes = append(plan.Notes, overridden(key, eff.file, w))
			}
		case eff.multi:
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s is set more than once in %s (git reads several values): coda leaves it alone", key, eff.file.shown))
		case !eff.set:
			if err := w.set(key, cur, v); err != nil {
				return plan, err
			}
			rec.Keys[key] = &keyRecord{Value: v}
		case eff.value == v:
			// The user's own value is coda's: nothing to do or to own.
		case !force:
			plan.Notes = append(plan.Notes, fmt.Sprintf("keeps your %s %q (coda setup git --force replaces it)", key, eff.value))
		case eff.file.rank > w.rank:
			plan.Notes = append(plan.Notes, overridden(key, eff.file, w))
		case cur.set && gitSafe(cur.value) != nil:
			// Remove could not write it back as it was.
			plan.Notes = append(plan.Notes, fmt.Sprintf("cannot replace %s: coda could not restore its current value exactly; change it with git config --global", key))
		default:
			kr := &keyRecord{Value: v}
			if cur.set {
				prev := cur.value
				kr.Previous = &prev
			}
			if err := w.set(key, cur, v); err != nil {
				return plan, err
			}
			rec.Keys[key] = kr
		}
	}
	if w.createdSection {
		rec.CreatedSection = true
	}
	// The record first: if the config write then fails, the values it
	// records are not in the file, so coda does not count them as its own
	// (owned compares them), and a --force still knows what it replaced.
	side, err := s.sidecarChange(rec)
	if err != nil {
		return plan, err
	}
	plan.Changes = pluginkit.AppendChanged(plan.Changes, side, w.change())
	return plan, nil
}

func overridden(key string, by, w *gitFile) string {
	return fmt.Sprintf("cannot replace %s: it is set in %s, which git reads after %s", key, by.shown, w.shown)
}

// PlanRemove deletes the values coda set that still hold what it set and
// puts back the values --force replaced.
func (pl Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Name()}
	s, err := load(env)
	if err != nil {
		return plan, err
	}
	rec := s.rec
	if rec == nil {
		return plan, nil
	}
	if w := s.file(rec.File); w != nil {
		owned := s.owned(rec)
		for _, key := range Keys {
			kr := rec.Keys[key]
			if kr == nil {
				continue
			}
			cur := w.get(key)
			if !owned[key] {
				if cur.set {
					plan.Notes = append(plan.Notes, fmt.Sprintf("kept %s in %s: changed since coda set it", key, w.shown))
				}
				continue
			}
			if kr.Previous != nil {
				if err := w.set(key, cur, *kr.Previous); err != nil {
					return plan, err
				}
			} else {
				w.doc.Delete(cur.section, cur.key)
			}
		}
		if rec.CreatedSection {
			if kvs, ok := w.doc.SectionKeys("user"); ok && len(kvs) == 0 {
				w.doc.DeleteSection("user")
			}
		}
		c := w.change()
		if rec.CreatedFile && len(strings.TrimSpace(string(c.New))) == 0 {
			c.New, c.Backup = nil, false
		}
		plan.Changes = pluginkit.AppendChanged(plan.Changes, c)
	}
	side, err := s.sidecarChange(nil)
	if err != nil {
		return plan, err
	}
	plan.Changes = append(plan.Changes, side)
	return plan, nil
}

// Status compares git's effective identity with the workspace user's.
func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	s, err := load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	want, err := wanted(t)
	if err != nil {
		return configurator.Status{}, err
	}
	if !pl.Detect(env).Installed && s.rec == nil {
		return configurator.Status{State: configurator.StateAbsent, Detail: "git is not on PATH"}, nil
	}
	owned := map[string]bool{}
	if s.rec != nil {
		owned = s.owned(s.rec)
	}
	var stale, foreign, unset []string
	for _, key := range Keys {
		eff := s.effective(key)
		ours := owned[key] && eff.file != nil && eff.file.path == s.rec.File
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
