// Package gemini is coda's configurator for Gemini CLI.
//
// Gemini CLI has no way to fetch a token while it runs: it reads
// GEMINI_API_KEY once, at start, from the environment or ~/.gemini/.env.
// So coda delivers the token literally and rewrites it after every
// rotation; a session started before a rotation keeps the old token and
// fails at its next request once that token is deleted. coda writes:
//
//   - ~/.gemini/settings.json, merged (its comments and layout kept, as
//     Gemini CLI reads comments): security.auth.selectedType =
//     "gemini-api-key" and model.name. Never the top-level
//     selectedAuthType: Gemini CLI no longer reads it, infers "gateway"
//     auth from the base URL and exits 41. A top-level selectedAuthType of
//     "gemini-api-key" is what older coda versions wrote, so coda deletes it
//     (and does not bring it back on remove); any other value is the
//     user's and stays, with a note.
//   - ~/.gemini/trustedFolders.json only with coda setup
//     --gemini-trust-home (the option "trust-home"), merged: HOME as
//     TRUST_FOLDER when no rule decides its trust yet. Gemini CLI reads
//     ~/.gemini/.env only in trusted folders, but trust covers every
//     folder below, so this trusts every repository under HOME: its
//     .gemini settings, .env files and tool auto-approval load without
//     asking. Without the option coda leaves trust to the user (Gemini CLI
//     asks the first time it starts in a folder) and says so; a rule that
//     does not trust HOME (DO_NOT_TRUST) is never overridden. A
//     TRUST_FOLDER rule an earlier setup wrote (older coda versions trusted
//     HOME always, and replaced DO_NOT_TRUST) is taken back by the next
//     setup without the option and by remove: coda's own rule deleted, the
//     user's value put back. See trust.go. (A headless gemini -p in an
//     untrusted folder reads no ~/.gemini/.env either: --skip-trust or an
//     exported GEMINI_CLI_TRUST_WORKSPACE=true trusts that one run.)
//   - ~/.gemini/.env (0600, in a 0700 directory), merged:
//     GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY_AUTH_MECHANISM=bearer,
//     GEMINI_MODEL and GEMINI_API_KEY (the token; without a token, as after
//     coda revoke, the key is removed).
//
// GEMINI_CLI_HOME replaces HOME as the place of .gemini, and
// GEMINI_CLI_TRUSTED_FOLDERS_PATH names the trusted-folders file, as in
// Gemini CLI. The values coda replaces are kept in
// <coda state dir>/plugins/gemini.json (0600: it may hold the user's own
// GEMINI_API_KEY), written in the same plan; PlanRemove restores them and
// deletes files coda created when nothing else is left in them.
package gemini

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coda-cli/coda/internal/merge/dotenv"
	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

const (
	// DefaultModel is the serving endpoint for the role "model".
	DefaultModel = "databricks-gemini-2-5-pro"
	// AuthType is the auth method coda selects in settings.json.
	AuthType = "gemini-api-key"

	name = "gemini"
)

// The .env keys coda owns, in the order it writes them.
const (
	keyBaseURL   = "GOOGLE_GEMINI_BASE_URL"
	keyMechanism = "GEMINI_API_KEY_AUTH_MECHANISM"
	keyModel     = "GEMINI_MODEL"
	keyAPIKey    = "GEMINI_API_KEY"
)

var envKeys = []string{keyBaseURL, keyMechanism, keyModel, keyAPIKey}

// settingsKeys are the settings.json paths coda owns.
var settingsKeys = []pluginkit.Key{{"security", "auth", "selectedType"}, {"model", "name"}}

// Plugin configures Gemini CLI.
type Plugin struct{}

// New returns the Gemini CLI configurator.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        name,
		Description: "Gemini CLI: ~/.gemini/.env with the base URL, model and token (read at start; rewritten after every rotation) and settings.json; trustedFolders.json only with --gemini-trust-home",
		Delivery:    configurator.DeliveryLiteral,
		InAll:       true,
		Binaries:    []string{"gemini"},
		NPMPackage:  "@google/gemini-cli@0.61.0",
		Proxy:       configurator.ProxyAuto,
	}
}

type paths struct {
	home     string // Gemini's home: GEMINI_CLI_HOME, else HOME
	dir      string // <home>/.gemini
	settings string
	trusted  string
	env      string
}

func pathsFor(env configurator.Env) paths {
	home := env.Home
	if h := pluginkit.Getenv(env, "GEMINI_CLI_HOME"); h != "" && filepath.IsAbs(h) {
		home = h
	}
	dir := filepath.Join(home, ".gemini")
	p := paths{
		home:     home,
		dir:      dir,
		settings: filepath.Join(dir, "settings.json"),
		trusted:  filepath.Join(dir, "trustedFolders.json"),
		env:      filepath.Join(dir, ".env"),
	}
	if t := pluginkit.Getenv(env, "GEMINI_CLI_TRUSTED_FOLDERS_PATH"); t != "" && filepath.IsAbs(t) {
		p.trusted = t
	}
	return p
}

// trustKey is the folder coda trusts when asked: HOME, absolute and clean.
func trustKey(env configurator.Env) (string, error) {
	if env.Home == "" {
		return "", errors.New("gemini: HOME is not set")
	}
	h, err := filepath.Abs(env.Home)
	if err != nil {
		return "", fmt.Errorf("gemini: %w", err)
	}
	return filepath.Clean(h), nil
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	p := pathsFor(env)
	return pluginkit.Detect(env, pl.Info(), p.settings, p.trusted, p.env)
}

// current is what is on disk.
type current struct {
	env configurator.Env
	p   paths

	rec    *pluginkit.Record // nil: coda has not configured Gemini CLI
	stored pluginkit.Sidecar

	settings    *jsonedit.Object
	settingsRaw []byte // nil: missing
	trusted     *jsonedit.Object
	trustedRaw  []byte
	dotenv      *dotenv.Doc
	envRaw      []byte
}

func load(env configurator.Env) (*current, error) {
	c := &current{env: env, p: pathsFor(env)}
	var err error
	c.rec, c.stored, err = pluginkit.LoadRecord(env, pluginkit.RecordFormat{
		Plugin: name,
		Legacy: func(raw []byte) (*pluginkit.Record, error) { return legacyRecord(raw, c.p) },
		Check: func(r *pluginkit.Record) error {
			for _, path := range []string{c.p.settings, c.p.trusted} {
				if err := r.File(path).CheckJSON(); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if c.settingsRaw, c.settings, err = loadJSON(env, c.p.settings); err != nil {
		return nil, err
	}
	if c.trustedRaw, c.trusted, err = loadJSON(env, c.p.trusted); err != nil {
		return nil, err
	}
	if c.envRaw, err = pluginkit.ReadShown(env, c.p.env); err != nil {
		return nil, err
	}
	if c.dotenv, err = dotenv.Parse(c.envRaw); err != nil {
		return nil, pluginkit.Malformed(env, c.p.env, "is not a valid .env file", strings.TrimPrefix(err.Error(), "dotenv: "))
	}
	return c, nil
}

func loadJSON(env configurator.Env, path string) ([]byte, *jsonedit.Object, error) {
	raw, err := pluginkit.ReadShown(env, path)
	if err != nil || raw == nil {
		return raw, jsonedit.New(), err
	}
	// Gemini CLI strips comments, then reads strict JSON.
	obj, err := pluginkit.ParseJSON(env, path, raw, jsonedit.Comments)
	return raw, obj, err
}

func model(t configurator.Target) string { return t.Model("model", DefaultModel) }

// envValues are the .env values coda writes for t ("" = remove the key).
func envValues(t configurator.Target) map[string]string {
	return map[string]string{
		keyBaseURL:   t.Endpoints.Gemini,
		keyMechanism: "bearer",
		keyModel:     model(t),
		keyAPIKey:    t.Token,
	}
}

func checkTarget(t configurator.Target) error {
	if t.Endpoints.Gemini == "" {
		return errors.New("gemini: the target has no Gemini endpoint")
	}
	if pluginkit.HasControl(t.Token) {
		return errors.New("gemini: the token holds a control character; run coda login again")
	}
	for _, v := range []string{t.Endpoints.Gemini, model(t)} {
		if pluginkit.HasControl(v) {
			return errors.New("gemini: the endpoint or model name holds a control character")
		}
	}
	return nil
}

// created reports whether coda created the file at path.
func (c *current) created(path string) bool {
	f := c.rec.File(path)
	return f != nil && f.Created
}

// record builds coda's record of the originals: kept as it is once
// written, else taken from the files now (JSON values as JSON text, .env
// values as they read). trustedFolders.json is planTrust's.
func (c *current) record() *pluginkit.Record {
	if c.rec != nil {
		return c.rec
	}
	rec := pluginkit.NewRecord()
	settings := rec.AddFile(c.p.settings, c.settingsRaw == nil)
	for _, path := range settingsKeys {
		v, ok := c.settings.GetPath(path...)
		settings.KeepJSON(path, v, ok)
	}
	envs := rec.AddFile(c.p.env, c.envRaw == nil)
	for _, k := range envKeys {
		v, ok := c.dotenv.Get(k)
		if k == keyAPIKey && strings.HasPrefix(v, "dapi") {
			ok = false // a Databricks token: an older coda's, not the user's
		}
		envs.Keep(pluginkit.Key{k}, v, ok)
	}
	return rec
}

func (Plugin) Plan(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan, _, err := planSetup(env, t)
	return plan, err
}

// planSetup is Plan, with what it does to trustedFolders.json for Status.
func planSetup(env configurator.Env, t configurator.Target) (configurator.Plan, trustPlan, error) {
	plan := configurator.Plan{Plugin: name}
	if err := checkTarget(t); err != nil {
		return plan, trustPlan{}, err
	}
	if env.StateDir == "" || !filepath.IsAbs(env.StateDir) {
		return plan, trustPlan{}, errors.New("gemini: coda's state directory is not an absolute path")
	}
	home, err := trustKey(env)
	if err != nil {
		return plan, trustPlan{}, err
	}
	c, err := load(env)
	if err != nil {
		return plan, trustPlan{}, err
	}

	// trustedFolders.json: only what the user asked for, and the record
	// to match, saved first.
	rec := c.record()
	trust := c.planTrust(rec, home, trustHome(t))
	noProxy, setNoProxy := c.noProxy(rec, t.Proxied)
	plan.Changes = append(plan.Changes, c.stored.Save(rec))
	if trust.change != nil {
		plan.Changes = append(plan.Changes, *trust.change)
	}
	plan.Notes = append(plan.Notes, trust.notes...)

	// settings.json.
	settings := pluginkit.CloneJSON(c.settings)
	if v, ok := settings.Get("selectedAuthType"); ok {
		if v == AuthType {
			settings.Delete("selectedAuthType")
			plan.Notes = append(plan.Notes, "deleted the top-level selectedAuthType that older coda versions wrote to "+pluginkit.Display(env, c.p.settings)+": Gemini CLI reads security.auth.selectedType instead")
		} else {
			plan.Notes = append(plan.Notes, "left the top-level selectedAuthType in "+pluginkit.Display(env, c.p.settings)+" as it is: current Gemini CLI reads security.auth.selectedType, which coda sets")
		}
	}
	if v, ok := settings.GetPath("security", "auth", "enforcedType"); ok && v != AuthType {
		plan.Notes = append(plan.Notes, fmt.Sprintf("security.auth.enforcedType in %s is %v, so Gemini CLI refuses coda's %s auth: change or remove it", pluginkit.Display(env, c.p.settings), v, AuthType))
	}
	for _, set := range []struct {
		value string
		path  []string
	}{{AuthType, settingsKeys[0]}, {model(t), settingsKeys[1]}} {
		if err := settings.SetPath(set.value, set.path...); err != nil {
			return plan, trustPlan{}, fmt.Errorf("%s: %s: fix it, then run coda setup again", pluginkit.Display(env, c.p.settings), strings.TrimPrefix(err.Error(), "jsonedit: "))
		}
	}
	plan.Changes = append(plan.Changes, pluginkit.JSONChange(c.p.settings, c.settingsRaw, c.settings, settings, 0o644))

	// .env: the base URL, the model and the token.
	doc, err := dotenv.Parse(c.envRaw)
	if err != nil {
		return plan, trustPlan{}, err // parsed once already in load
	}
	values := envValues(t)
	for _, k := range envKeys {
		if values[k] == "" {
			doc.Delete(k)
			continue
		}
		if err := doc.Set(k, values[k]); err != nil {
			return plan, trustPlan{}, fmt.Errorf("%s: cannot set %s: %s", pluginkit.Display(env, c.p.env), k, redactedErr(err, values[k]))
		}
	}
	if setNoProxy {
		if noProxy == "" {
			doc.Delete(keyNoProxy)
		} else if err := doc.Set(keyNoProxy, noProxy); err != nil {
			return plan, trustPlan{}, fmt.Errorf("%s: cannot set %s: %v", pluginkit.Display(env, c.p.env), keyNoProxy, err)
		}
	}
	newEnv := doc.Bytes()
	if c.envRaw != nil && string(newEnv) == string(c.envRaw) {
		newEnv = c.envRaw
	}
	plan.Changes = append(plan.Changes, configurator.Change{
		Path: c.p.env, Old: c.envRaw, New: newEnv, Perm: configurator.SecretPerm, Secret: true,
		// A backup only of the user's own file, before coda's first
		// setup: later ones would keep a previous token around.
		Backup: c.envRaw != nil && c.rec == nil,
	})
	if t.Token == "" {
		plan.Notes = append(plan.Notes, "no token: "+keyAPIKey+" is taken out of "+pluginkit.Display(env, c.p.env)+" until you run coda login")
	}
	if info, err := os.Stat(c.p.dir); err == nil && info.Mode().Perm()&0o077 != 0 && filepath.Clean(c.p.dir) != filepath.Clean(env.Home) {
		plan.Notes = append(plan.Notes, fmt.Sprintf("makes %s private (0700), since %s holds the token", pluginkit.Display(env, c.p.dir), pluginkit.Display(env, c.p.env)))
	}
	plan.Notes = append(plan.Notes, exportedOverrides(env, t)...)
	return plan, trust, nil
}

// exportedOverrides names the variables exported in coda's environment
// that win over ~/.gemini/.env with another value (values never shown).
func exportedOverrides(env configurator.Env, t configurator.Target) []string {
	var notes []string
	values := envValues(t)
	for _, k := range envKeys {
		if v := pluginkit.Getenv(env, k); v != "" && v != values[k] {
			notes = append(notes, fmt.Sprintf("%s is exported in your shell and wins over %s: unset it for Gemini CLI to use coda's", k, pluginkit.Display(env, pathsFor(env).env)))
		}
	}
	return notes
}

func (Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: name}
	if _, err := trustKey(env); err != nil {
		return plan, err
	}
	c, err := load(env)
	if err != nil {
		return plan, err
	}
	if c.rec == nil {
		// Nothing marks coda's keys but its record: without it, coda
		// cannot tell them from the user's own and leaves everything.
		if c.pointsAtDatabricks(t) {
			plan.Notes = append(plan.Notes, pluginkit.Display(env, c.p.env)+" points at this workspace, but coda has no record of writing it: left as it is")
		}
		return plan, nil
	}
	plan.Changes = append(plan.Changes, c.stored.Remove())

	// trustedFolders.json: coda's rule goes, the user's comes back.
	if ch := c.removeTrust(); ch != nil {
		plan.Changes = append(plan.Changes, *ch)
	}

	// settings.json: restore what coda replaced.
	if c.settingsRaw != nil {
		settings := pluginkit.CloneJSON(c.settings)
		for _, path := range settingsKeys {
			if v, had := c.rec.File(c.p.settings).OriginalJSON(path...); had {
				if err := settings.SetPath(v, path...); err != nil {
					return plan, fmt.Errorf("%s: %s: fix it, then run coda setup --remove again", pluginkit.Display(env, c.p.settings), strings.TrimPrefix(err.Error(), "jsonedit: "))
				}
			} else {
				settings.DeletePathPrune(path...)
			}
		}
		plan.Changes = append(plan.Changes, removeJSON(c.p.settings, c.settingsRaw, c.settings, settings, c.created(c.p.settings), 0o644))
	}

	// .env: restore or delete coda's keys.
	if c.envRaw != nil {
		doc, err := dotenv.Parse(c.envRaw)
		if err != nil {
			return plan, err // parsed once already in load
		}
		for _, k := range envKeys {
			s, had := c.rec.File(c.p.env).Original(k)
			if !had {
				doc.Delete(k)
				continue
			}
			if err := doc.Set(k, s); err != nil {
				return plan, fmt.Errorf("%s: cannot restore your %s: %s", pluginkit.Display(env, c.p.env), k, redactedErr(err, s))
			}
		}
		// NO_PROXY: only when coda recorded it (it added loopback).
		if c.rec.File(c.p.env).Key(keyNoProxy) != nil {
			if s, had := c.rec.File(c.p.env).Original(keyNoProxy); !had {
				doc.Delete(keyNoProxy)
			} else if err := doc.Set(keyNoProxy, s); err != nil {
				return plan, fmt.Errorf("%s: cannot restore your %s: %v", pluginkit.Display(env, c.p.env), keyNoProxy, err)
			}
		}
		newEnv := doc.Bytes()
		switch {
		case c.created(c.p.env) && strings.TrimSpace(string(newEnv)) == "":
			newEnv = nil
		case string(newEnv) == string(c.envRaw):
			newEnv = c.envRaw
		}
		plan.Changes = append(plan.Changes, configurator.Change{Path: c.p.env, Old: c.envRaw, New: newEnv, Perm: configurator.SecretPerm, Secret: true})
	}
	return plan, nil
}

// redactedErr is err's message without secret in it.
func redactedErr(err error, secret string) string {
	msg := err.Error()
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "<value>")
	}
	return msg
}

// removeJSON plans a JSON file on remove: deleted when coda created it and
// nothing is left in it.
func removeJSON(path string, raw []byte, before, after *jsonedit.Object, created bool, perm os.FileMode) configurator.Change {
	if created && after.Len() == 0 {
		return configurator.Change{Path: path, Old: raw, New: nil}
	}
	return pluginkit.JSONChange(path, raw, before, after, perm)
}

// pointsAtDatabricks reports whether ~/.gemini/.env's base URL is on the
// target's workspace (or its gateway host).
func (c *current) pointsAtDatabricks(t configurator.Target) bool {
	v, ok := c.dotenv.Get(keyBaseURL)
	return ok && sameHost(v, t)
}

func sameHost(u string, t configurator.Target) bool {
	h := pluginkit.HostOf(u)
	return h != "" && (h == pluginkit.HostOf(t.Host) || h == pluginkit.HostOf(t.Endpoints.Gemini))
}

func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	c, err := load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	cwd := pluginkit.Getwd(env)
	warnings := exportedOverrides(env, t)
	cwdWarning := ProjectEnvWarning(env, cwd)
	if cwdWarning != "" {
		warnings = append(warnings, cwdWarning)
	}
	if c.rec == nil {
		if !pl.Detect(env).Installed {
			return configurator.Status{State: configurator.StateAbsent, Detail: "gemini is not on PATH"}, nil
		}
		if c.pointsAtDatabricks(t) {
			return configurator.Status{State: configurator.StateForeign, Detail: fmt.Sprintf("%s points Gemini CLI at this workspace, but coda did not write it: run coda setup gemini to let coda keep its token current", pluginkit.Display(env, c.p.env))}, nil
		}
		if v := pluginkit.Getenv(env, keyBaseURL); v != "" && sameHost(v, t) {
			return configurator.Status{State: configurator.StateForeign, Detail: keyBaseURL + " exported in your shell points Gemini CLI at this workspace, but coda did not set it"}, nil
		}
		return configurator.Status{State: configurator.StateNotConfigured, Detail: "coda has not configured Gemini CLI"}, nil
	}
	plan, trust, err := planSetup(env, t)
	if err != nil {
		return configurator.Status{}, err
	}
	const restart = "Gemini CLI reads the token only when it starts and cannot refresh it while running: a session started before a rotation fails at its next request once the old token is deleted, so restart it"
	if plan.Empty() {
		detail := fmt.Sprintf("%s, model %s; %s", t.Endpoints.Gemini, model(t), restart)
		if t.Token == "" {
			detail = fmt.Sprintf("%s, model %s, but no token (run coda login)", t.Endpoints.Gemini, model(t))
		}
		// The warning about the current folder already says how trust
		// works; the general note would repeat it.
		if trust.detail != "" && (cwdWarning == "" || trustHome(t)) {
			detail += "; " + trust.detail
		}
		return configurator.Status{State: configurator.StateConfigured, Detail: pluginkit.JoinDetail(detail, warnings)}, nil
	}
	reason := c.staleReason(t, trust.stale)
	if strings.Contains(reason, "token") {
		reason += " (" + restart + ")"
	}
	fix := "coda setup gemini"
	if trustHome(t) {
		fix += " " + trustHomeFlag // without it, setup takes the trust back
	}
	return configurator.Status{State: configurator.StateStale, Detail: pluginkit.JoinDetail(reason+": run "+fix, warnings)}, nil
}

// staleReason names the first difference Plan would fix; trust is why
// trustedFolders.json changes, if it does.
func (c *current) staleReason(t configurator.Target, trust string) string {
	envName := pluginkit.Display(c.env, c.p.env)
	if v, _ := c.dotenv.Get(keyBaseURL); v != t.Endpoints.Gemini {
		if v == "" {
			return envName + " has no " + keyBaseURL
		}
		return "Gemini CLI points at " + v + ", not " + t.Endpoints.Gemini
	}
	if v, _ := c.dotenv.Get(keyModel); v != model(t) {
		return "the model is not " + model(t)
	}
	if v, _ := c.settings.GetPath("model", "name"); v != model(t) {
		return "model.name in " + pluginkit.Display(c.env, c.p.settings) + " is not " + model(t)
	}
	if v, ok := c.dotenv.Get(keyAPIKey); v != t.Token {
		switch {
		case t.Token == "":
			return envName + " still holds a token although coda has none"
		case !ok:
			return envName + " holds no token"
		}
		return "the token in " + envName + " is not the current one"
	}
	if v, _ := c.dotenv.Get(keyMechanism); v != "bearer" {
		return keyMechanism + " is not bearer"
	}
	if v, _ := c.dotenv.Get(keyNoProxy); t.Proxied && !pluginkit.CoversLoopback(v) {
		return keyNoProxy + " in " + envName + " does not cover 127.0.0.1, where coda's proxy listens"
	}
	if v, _ := c.settings.GetPath("security", "auth", "selectedType"); v != AuthType {
		return "security.auth.selectedType is not " + AuthType
	}
	if trust != "" {
		return trust
	}
	return "coda's files differ from what coda setup gemini writes"
}
