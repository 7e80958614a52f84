// Package claude is coda's configurator for Claude Code.
//
// It merges into ~/.claude/settings.json an apiKeyHelper that runs
// `coda token` (so Claude Code follows rotations on its own and no token is
// ever written) and an env block that points Claude Code at the workspace's
// Anthropic endpoint with Databricks model names. It also marks onboarding as
// complete in ~/.claude.json, so the interactive CLI does not ask for an
// Anthropic login.
//
// Both files honour CLAUDE_CONFIG_DIR the way Claude Code does:
// $CLAUDE_CONFIG_DIR/settings.json and $CLAUDE_CONFIG_DIR/.claude.json.
//
// The user's previous values of every key coda owns are kept in a sidecar,
// STATEDIR/plugins/claude.json, written together with the configs, so that
// `coda setup --remove` restores them exactly.
package claude

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Default models (serving-endpoint names) per role; Sonnet and Haiku are
// every agent's defaults (pluginkit owns them).
const (
	DefaultSonnet = pluginkit.DefaultChatModel
	DefaultOpus   = "databricks-claude-opus-4-6"
	DefaultHaiku  = pluginkit.DefaultSmallChatModel
)

// CodingAgentHeader is sent with every request (ANTHROPIC_CUSTOM_HEADERS).
const CodingAgentHeader = "x-databricks-use-coding-agent-mode: true"

// Keys coda owns.
const (
	keyHelper     = "apiKeyHelper"
	keyEnv        = "env"
	keyOnboarding = "hasCompletedOnboarding"

	envBaseURL   = "ANTHROPIC_BASE_URL"
	envAuthToken = "ANTHROPIC_AUTH_TOKEN"
	envModel     = "ANTHROPIC_MODEL"
	envOpus      = "ANTHROPIC_DEFAULT_OPUS_MODEL"
	envSonnet    = "ANTHROPIC_DEFAULT_SONNET_MODEL"
	envHaiku     = "ANTHROPIC_DEFAULT_HAIKU_MODEL"
	envHeaders   = "ANTHROPIC_CUSTOM_HEADERS"
	envHelperTTL = "CLAUDE_CODE_API_KEY_HELPER_TTL_MS"
)

// EnvKeys are the keys of settings.json's env object that coda owns, in the
// order coda adds them.
var EnvKeys = []string{envBaseURL, envAuthToken, envModel, envOpus, envSonnet, envHaiku, envHeaders, envHelperTTL}

// Plugin configures Claude Code.
type Plugin struct{}

// New returns the Claude Code configurator.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        "claude",
		Description: "Claude Code: ~/.claude/settings.json runs coda token as its apiKeyHelper",
		Delivery:    configurator.DeliveryHelper,
		InAll:       true,
		Binaries:    []string{"claude"},
		NPMPackage:  "@anthropic-ai/claude-code@2.1.328",
		Proxy:       configurator.ProxyWhenAll,
	}
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	p := pathsFor(env)
	return pluginkit.Detect(env, pl.Info(), p.settings, p.claudeJSON)
}

type paths struct {
	settings, claudeJSON string
}

func pathsFor(env configurator.Env) paths {
	var p paths
	if dir := pluginkit.Getenv(env, "CLAUDE_CONFIG_DIR"); dir != "" {
		p.settings = filepath.Join(dir, "settings.json")
		p.claudeJSON = filepath.Join(dir, ".claude.json")
	} else {
		p.settings = filepath.Join(env.Home, ".claude", "settings.json")
		p.claudeJSON = filepath.Join(env.Home, ".claude.json")
	}
	return p
}

// desired is what coda writes for a target.
type desired struct {
	helper string
	env    [][2]string // EnvKeys order
}

func want(t configurator.Target) (desired, error) {
	if len(t.TokenCommand) == 0 {
		return desired{}, errors.New("claude: no token command to use as apiKeyHelper")
	}
	if t.Endpoints.Anthropic == "" {
		return desired{}, errors.New("claude: the workspace has no Anthropic endpoint")
	}
	sonnet := t.Model("sonnet", DefaultSonnet)
	return desired{
		helper: pluginkit.ShellCommand(t.TokenCommand),
		env: [][2]string{
			{envBaseURL, t.Endpoints.Anthropic},
			{envAuthToken, ""},
			{envModel, t.Model("model", sonnet)},
			{envOpus, t.Model("opus", DefaultOpus)},
			{envSonnet, sonnet},
			{envHaiku, t.Model("haiku", DefaultHaiku)},
			{envHeaders, CodingAgentHeader},
			// Claude Code keeps a helper's answer this long (and sends the
			// cached token once more while the helper re-runs), so the
			// policy's helper refresh keeps it well inside the grace.
			{envHelperTTL, strconv.FormatInt(t.HelperRefresh.Milliseconds(), 10)},
		},
	}, nil
}

// file is one JSON file as found on disk.
type file struct {
	path string
	raw  []byte // nil: the file does not exist
	obj  *jsonedit.Object
}

func (f file) exists() bool { return f.raw != nil }

// state is everything Plan, PlanRemove and Status read.
type state struct {
	paths    paths
	settings file
	claude   file
	// stored is the sidecar, STATEDIR/plugins/claude.json (no Path
	// without a state dir); rec is its record, nil when there is none.
	stored pluginkit.Sidecar
	rec    *pluginkit.Record
}

func load(env configurator.Env) (*state, error) {
	s := &state{paths: pathsFor(env)}
	var err error
	if s.settings, err = readJSON(env, s.paths.settings); err != nil {
		return nil, err
	}
	if v, ok := s.settings.obj.Get(keyEnv); ok {
		if _, isObj := v.(*jsonedit.Object); !isObj {
			return nil, fmt.Errorf("%s: %q is not an object: fix it or move the file aside, then run coda setup again", pluginkit.Display(env, s.paths.settings), keyEnv)
		}
	}
	if s.claude, err = readJSON(env, s.paths.claudeJSON); err != nil {
		return nil, err
	}
	if env.StateDir != "" {
		s.rec, s.stored, err = pluginkit.LoadRecord(env, pluginkit.RecordFormat{
			Plugin: "claude",
			Legacy: func(raw []byte) (*pluginkit.Record, error) { return legacyRecord(raw, s.paths) },
			Check:  pluginkit.CheckAllJSON,
		})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// record returns the originals to keep, file by file: the sidecar's record
// of the file when there is one and the file is still there, else the
// file's current values (coda's first apply, or a file deleted since).
// replaced lists the user's values coda is about to overwrite, for a note.
func (s *state) record(d desired) (rec *pluginkit.Record, replaced []string) {
	rec = pluginkit.NewRecord()
	if old := s.rec.File(s.paths.settings); old != nil && s.settings.exists() {
		rec.Files = append(rec.Files, old)
	} else {
		settings := s.settings.obj
		envObj := envObject(settings)
		f := rec.AddFile(s.paths.settings, !s.settings.exists())
		f.AddParent(pluginkit.Key{keyEnv}, envObj == nil)
		// Without a sidecar, settings that already run coda's helper were
		// written by coda (its state was lost): nothing of the user's to
		// keep.
		mine := !s.helperIsCoda(d)
		v, ok := settings.Get(keyHelper)
		if f.KeepJSON(pluginkit.Key{keyHelper}, v, ok && mine); ok && mine {
			replaced = append(replaced, keyHelper)
		}
		for _, kv := range d.env {
			var v any
			ok := false
			if envObj != nil && mine {
				v, ok = envObj.Get(kv[0])
			}
			if f.KeepJSON(pluginkit.Key{keyEnv, kv[0]}, v, ok); ok && v != kv[1] {
				replaced = append(replaced, keyEnv+"."+kv[0])
			}
		}
	}
	if old := s.rec.File(s.paths.claudeJSON); old != nil && s.claude.exists() {
		rec.Files = append(rec.Files, old)
	} else {
		v, ok := s.claude.obj.Get(keyOnboarding)
		rec.AddFile(s.paths.claudeJSON, !s.claude.exists()).KeepJSON(pluginkit.Key{keyOnboarding}, v, ok)
	}
	return rec, replaced
}

func readJSON(env configurator.Env, path string) (file, error) {
	f := file{path: path}
	raw, err := pluginkit.ReadOptional(path)
	if err != nil {
		return f, err
	}
	f.raw = raw
	if raw == nil {
		f.obj = jsonedit.New()
		return f, nil
	}
	// Claude Code reads strict JSON: a comment or a trailing comma makes
	// it refuse the file, and so does coda.
	f.obj, err = pluginkit.ParseJSON(env, path, raw, jsonedit.Strict)
	return f, err
}

func envObject(o *jsonedit.Object) *jsonedit.Object {
	v, _ := o.Get(keyEnv)
	e, _ := v.(*jsonedit.Object)
	return e
}

// helperIsCoda reports whether settings hold coda's helper for this target.
func (s *state) helperIsCoda(d desired) bool {
	v, _ := s.settings.obj.Get(keyHelper)
	return v == d.helper
}

// Plan merges coda's keys into settings.json and ~/.claude.json.
func (pl Plugin) Plan(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Info().Name}
	d, err := want(t)
	if err != nil {
		return plan, err
	}
	s, err := load(env)
	if err != nil {
		return plan, err
	}
	rec, replaced := s.record(d)
	np := s.noProxy(rec, t.Proxied)
	for _, k := range replaced {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s: replaced your %s (coda setup --remove restores it)", pluginkit.Display(env, s.paths.settings), k))
	}

	// The sidecar goes first: if a later file cannot be written (Claude
	// Code rewrites ~/.claude.json while it runs), the originals are kept
	// and the next run still knows them. It is secret: it may hold a
	// user's own ANTHROPIC_AUTH_TOKEN.
	if s.stored.Path != "" {
		plan.Changes = pluginkit.AppendChanged(plan.Changes, s.stored.Save(rec))
	}

	// settings.json: rewritten only when one of coda's keys differs; the
	// rest of the file keeps its bytes.
	if s.differs(d) || np.any {
		settings := s.settings.obj
		settings.Set(keyHelper, d.helper)
		if envObject(settings) == nil {
			settings.Set(keyEnv, jsonedit.New())
		}
		envObj := envObject(settings)
		for _, kv := range d.env {
			envObj.Set(kv[0], kv[1])
		}
		np.apply(settings)
		plan.Changes = pluginkit.AppendChanged(plan.Changes, change(s.settings, jsonedit.Marshal(settings), 0o644))
	}

	// ~/.claude.json: Claude Code's own large state file; touched only when
	// onboarding is not marked complete yet.
	if v, _ := s.claude.obj.Get(keyOnboarding); v != true {
		s.claude.obj.Set(keyOnboarding, true)
		plan.Changes = pluginkit.AppendChanged(plan.Changes, change(s.claude, jsonedit.Marshal(s.claude.obj), 0o600))
	}

	return plan, nil
}

// PlanRemove deletes coda's keys and restores the values coda replaced.
func (pl Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Info().Name}
	s, err := load(env)
	if err != nil {
		return plan, err
	}
	if s.rec == nil {
		// No record (coda's state was lost): settings that run exactly
		// coda's helper are coda's; restore nothing, delete coda's keys.
		d, err := want(t)
		if err != nil || !s.helperIsCoda(d) {
			return plan, nil
		}
	}
	// A file the record does not know keeps nothing of the user's to
	// restore in settings.json, and ~/.claude.json is left as it is.
	rs := s.rec.File(s.paths.settings)
	if rs == nil {
		rs = &pluginkit.FileRecord{Path: s.paths.settings}
	}

	if s.settings.exists() {
		settings := s.settings.obj
		changed := restore(settings, rs, keyHelper)
		hadEnv := slices.ContainsFunc(EnvKeys, func(k string) bool { _, ok := rs.Original(keyEnv, k); return ok })
		if envObject(settings) == nil && hadEnv {
			settings.Set(keyEnv, jsonedit.New())
		}
		envObj := envObject(settings)
		if envObj != nil {
			for _, k := range EnvKeys {
				changed = restore(envObj, rs, keyEnv, k) || changed
			}
			// NO_PROXY only when coda recorded it (it added loopback).
			if rs.Key(keyEnv, envNoProxy) != nil {
				changed = restore(envObj, rs, keyEnv, envNoProxy) || changed
			}
			if p := rs.Parent(keyEnv); changed && envObj.Len() == 0 && p != nil && p.Created {
				settings.Delete(keyEnv)
			}
		}
		// A file that holds nothing of coda's is left as it is.
		if changed {
			var out []byte
			if settings.Len() > 0 || !rs.Created {
				out = jsonedit.Marshal(settings)
			}
			plan.Changes = pluginkit.AppendChanged(plan.Changes, change(s.settings, out, 0o644))
		}
	}

	if rc := s.rec.File(s.paths.claudeJSON); s.claude.exists() && rc != nil && restore(s.claude.obj, rc, keyOnboarding) {
		var out []byte
		if s.claude.obj.Len() > 0 || !rc.Created {
			out = jsonedit.Marshal(s.claude.obj)
		}
		plan.Changes = pluginkit.AppendChanged(plan.Changes, change(s.claude, out, 0o600))
	}

	// The sidecar goes last, once everything it describes is restored.
	if s.rec != nil {
		plan.Changes = append(plan.Changes, s.stored.Remove())
	}
	return plan, nil
}

// restore sets the last key of path in o to its original in rec, or
// deletes it when it had none, and reports whether that changed o.
func restore(o *jsonedit.Object, rec *pluginkit.FileRecord, path ...string) bool {
	key := path[len(path)-1]
	cur, had := o.Get(key)
	v, ok := rec.OriginalJSON(path...)
	if !ok {
		return o.Delete(key)
	}
	if had && jsonedit.Equal(cur, v) {
		return false
	}
	o.Set(key, v)
	return true
}

// Status compares settings.json with what Plan would write.
func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	s, err := load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	d, err := want(t)
	if err != nil {
		return configurator.Status{}, err
	}
	where := pluginkit.Display(env, s.paths.settings)
	envObj := envObject(s.settings.obj)
	str := func(k string) string {
		if envObj == nil {
			return ""
		}
		v, _ := envObj.Get(k)
		sv, _ := v.(string)
		return sv
	}
	here := pluginkit.PointsAt(str(envBaseURL), t.Host, t.Endpoints.Anthropic)
	if here && str(envAuthToken) != "" {
		return configurator.Status{State: configurator.StateForeign,
			Detail: where + " sets a literal ANTHROPIC_AUTH_TOKEN, which Claude Code sends instead of coda's helper"}, nil
	}
	if s.rec != nil || s.helperIsCoda(d) {
		if diff := s.difference(d); diff != "" {
			return configurator.Status{State: configurator.StateStale, Detail: diff + ": run coda setup claude"}, nil
		}
		if t.Proxied && !pluginkit.CoversLoopback(str(envNoProxy)) {
			return configurator.Status{State: configurator.StateStale,
				Detail: "NO_PROXY in " + where + " does not cover 127.0.0.1, where coda's proxy listens: run coda setup claude"}, nil
		}
		return configurator.Status{State: configurator.StateConfigured,
			Detail: fmt.Sprintf("%s runs coda token for %s against %s", where, t.Profile, t.Endpoints.Anthropic)}, nil
	}
	if here {
		return configurator.Status{State: configurator.StateForeign,
			Detail: where + " points at this workspace without coda's apiKeyHelper"}, nil
	}
	if !pl.Detect(env).Installed {
		return configurator.Status{State: configurator.StateAbsent, Detail: "claude is not on PATH"}, nil
	}
	return configurator.Status{State: configurator.StateNotConfigured, Detail: where + " has no coda settings"}, nil
}

// differs reports whether settings.json lacks one of coda's values.
func (s *state) differs(d desired) bool {
	if v, _ := s.settings.obj.Get(keyHelper); v != d.helper {
		return true
	}
	envObj := envObject(s.settings.obj)
	for _, kv := range d.env {
		var v any
		if envObj != nil {
			v, _ = envObj.Get(kv[0])
		}
		if v != kv[1] {
			return true
		}
	}
	return false
}

// difference names the first of coda's keys that differs from d, or "".
func (s *state) difference(d desired) string {
	where := filepath.Base(s.paths.settings)
	if v, _ := s.settings.obj.Get(keyHelper); v != d.helper {
		if v == nil {
			return where + " has no apiKeyHelper"
		}
		return where + " runs another apiKeyHelper"
	}
	envObj := envObject(s.settings.obj)
	for _, kv := range d.env {
		var v any
		if envObj != nil {
			v, _ = envObj.Get(kv[0])
		}
		if v != kv[1] {
			switch kv[0] {
			case envBaseURL:
				return fmt.Sprintf("%s points Claude Code at another endpoint than %s", where, kv[1])
			case envAuthToken:
				return where + " sets ANTHROPIC_AUTH_TOKEN"
			}
			return fmt.Sprintf("%s has another %s than %q", where, kv[0], kv[1])
		}
	}
	if v, _ := s.claude.obj.Get(keyOnboarding); v != true {
		return filepath.Base(s.paths.claudeJSON) + " does not mark onboarding as complete"
	}
	return ""
}

func change(f file, out []byte, perm os.FileMode) configurator.Change {
	return configurator.Change{Path: f.path, Old: f.raw, New: out, Perm: perm, Backup: f.exists()}
}
