// Package pi is coda's configurator for Pi, the coding agent of
// @mariozechner/pi-coding-agent.
//
// Pi keeps its global configuration in its agent directory,
// $PI_CODING_AGENT_DIR (a leading ~ is the home directory, as Pi expands
// it) or else ~/.pi/agent. coda merges two of its files there:
//
//   - models.json, the custom providers: coda adds provider
//     "coda-databricks" with the workspace's chat endpoint as baseUrl, api
//     "openai-completions" (Pi appends /chat/completions and sends
//     Authorization: Bearer), the model with its limits, compat settings
//     for Databricks (max_tokens, no store, the system role), and apiKey
//     "!" + the token command. Pi runs an apiKey that starts with "!" as a
//     shell command before every model request, uncached, so every request
//     carries the token coda hands out at that moment: running sessions
//     follow rotations and no token is ever written. Pi does not retry a
//     401 or 403, so a request sent with a token deleted meanwhile fails
//     its turn: the rotation grace (or coda's proxy, which retries a 403
//     with the new token) covers requests under way. Pi reads models.json
//     with // comments and trailing commas (it strips both, then calls
//     JSON.parse), not /* */ comments; coda keeps the user's comments and
//     refuses what Pi would refuse.
//   - settings.json: defaultProvider and defaultModel, without which Pi
//     starts with another vendor's model. Pi reads it with JSON.parse and
//     rewrites it itself (when a setting changes), so it is strict JSON.
//
// In proxy mode the provider has the same shape: the target's endpoint and
// token command already point at coda's proxy and its local key.
//
// The originals of the settings coda overwrites, and what coda created,
// are kept in <coda state dir>/plugins/pi.json, written in the same plan.
// PlanRemove deletes coda's provider, puts back the user's defaultProvider
// and defaultModel (unless the user has chosen another model in Pi since),
// and deletes a file coda created once nothing else is left in it.
package pi

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

const (
	// ProviderID is coda's provider in models.json.
	ProviderID = "coda-databricks"
	// DefaultModel is the serving endpoint for the role "model".
	DefaultModel = pluginkit.DefaultChatModel
	// EnvAgentDir moves Pi's agent directory.
	EnvAgentDir = "PI_CODING_AGENT_DIR"

	name    = "pi"
	chatAPI = "openai-completions"

	keyProviders       = "providers"
	keyDefaultProvider = "defaultProvider"
	keyDefaultModel    = "defaultModel"
	keyEnabledModels   = "enabledModels"
)

// ownedSettings are the keys of settings.json coda sets and restores.
var ownedSettings = []string{keyDefaultProvider, keyDefaultModel}

// Plugin configures Pi.
type Plugin struct{}

// New returns the Pi configurator.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        name,
		Description: "Pi: provider coda-databricks in ~/.pi/agent/models.json, whose apiKey runs coda token before every request",
		Delivery:    configurator.DeliveryHelper,
		InAll:       true,
		Binaries:    []string{"pi"},
		NPMPackage:  "@mariozechner/pi-coding-agent@0.73.1",
		Proxy:       configurator.ProxyWhenAll,
	}
}

// AgentDir is Pi's agent directory: $PI_CODING_AGENT_DIR, whose leading
// "~" or "~/" Pi expands to the home directory, else ~/.pi/agent. A
// relative directory is an error: Pi resolves it from wherever it starts.
func AgentDir(env configurator.Env) (string, error) {
	dir := pluginkit.Getenv(env, EnvAgentDir)
	switch {
	case dir == "":
		return filepath.Join(env.Home, ".pi", "agent"), nil
	case dir == "~":
		return env.Home, nil
	case strings.HasPrefix(dir, "~/"):
		return filepath.Join(env.Home, dir[2:]), nil
	case !filepath.IsAbs(dir):
		return "", fmt.Errorf("pi: %s is a relative path, which Pi resolves from the directory it starts in: set it to an absolute path, then run coda setup again", EnvAgentDir)
	}
	return filepath.Clean(dir), nil
}

// paths are the files of one agent directory.
type paths struct {
	dir      string
	models   string // models.json
	settings string // settings.json
	auth     string // auth.json, read only for a note
}

func pathsIn(dir string) paths {
	return paths{
		dir:      dir,
		models:   filepath.Join(dir, "models.json"),
		settings: filepath.Join(dir, "settings.json"),
		auth:     filepath.Join(dir, "auth.json"),
	}
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	dir, err := AgentDir(env)
	if err != nil {
		return pluginkit.Detect(env, pl.Info())
	}
	p := pathsIn(dir)
	return pluginkit.Detect(env, pl.Info(), p.models, p.settings)
}

// KeyCommand is the apiKey coda writes: "!" and the token command as one
// POSIX shell command (Pi runs it with /bin/sh).
func KeyCommand(t configurator.Target) string {
	return "!" + pluginkit.ShellCommand(t.TokenCommand)
}

// file is one JSON file as found on disk.
type file struct {
	path string
	raw  []byte // nil: the file does not exist
	obj  *jsonedit.Object
}

// dirFiles are the two files coda merges in one agent directory.
type dirFiles struct {
	p        paths
	models   file
	settings file
}

// current is what is on disk: the agent directory's files and coda's
// record.
type current struct {
	env configurator.Env
	dirFiles
	rec    *pluginkit.Record // nil: coda has not configured Pi
	stored pluginkit.Sidecar
}

func load(env configurator.Env) (*current, error) {
	dir, err := AgentDir(env)
	if err != nil {
		return nil, err
	}
	c := &current{env: env}
	if c.dirFiles, err = loadDir(env, dir); err != nil {
		return nil, err
	}
	c.rec, c.stored, err = pluginkit.LoadRecord(env, pluginkit.RecordFormat{
		Plugin: name,
		Check:  pluginkit.CheckAllJSON,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func loadDir(env configurator.Env, dir string) (dirFiles, error) {
	d := dirFiles{p: pathsIn(dir)}
	var err error
	if d.models, err = readModels(env, d.p.models); err != nil {
		return d, err
	}
	d.settings, err = readJSON(env, d.p.settings, jsonedit.Strict)
	return d, err
}

func readJSON(env configurator.Env, path string, dialect jsonedit.Dialect) (file, error) {
	f := file{path: path, obj: jsonedit.New()}
	var err error
	if f.raw, err = pluginkit.ReadShown(env, path); err != nil || f.raw == nil {
		return f, err
	}
	f.obj, err = pluginkit.ParseJSON(env, path, f.raw, dialect)
	return f, err
}

// readModels reads models.json as Pi does: // comments and trailing commas
// are fine, a /* */ comment is not, and providers must be an object.
func readModels(env configurator.Env, path string) (file, error) {
	f, err := readJSON(env, path, jsonedit.JWCC)
	if err != nil {
		return f, err
	}
	if line, col, ok := jsonedit.BlockComment(f.raw); ok {
		return f, pluginkit.Malformed(env, path, "is not JSON that Pi reads", fmt.Sprintf("line %d:%d: a /* */ comment; Pi takes only // comments", line, col))
	}
	if v, ok := f.obj.Get(keyProviders); ok {
		if _, isObj := v.(*jsonedit.Object); !isObj {
			return f, pluginkit.Malformed(env, path, "is not a models.json Pi reads", "providers is not an object")
		}
	}
	return f, nil
}

// model is the model coda configures for t.
func model(t configurator.Target) string { return t.Model("model", DefaultModel) }

// provider builds coda's provider entry for t.
func provider(t configurator.Target) *jsonedit.Object {
	m := model(t)
	// Pi sends min(maxTokens, 32000) as max_tokens and compacts the
	// conversation before the context window fills.
	info := pluginkit.Limits(m)
	entry := jsonedit.New()
	entry.Set("id", m)
	entry.Set("name", info.Name)
	entry.Set("contextWindow", info.Context)
	entry.Set("maxTokens", info.Output)

	// Pi guesses these from the URL; Databricks' chat endpoint documents
	// max_tokens and the system role, and has no use for OpenAI's store.
	compat := jsonedit.New()
	compat.Set("supportsStore", false)
	compat.Set("supportsDeveloperRole", false)
	compat.Set("supportsReasoningEffort", false)
	compat.Set("maxTokensField", "max_tokens")

	pr := jsonedit.New()
	pr.Set("baseUrl", t.Endpoints.Chat)
	pr.Set("api", chatAPI)
	pr.Set("apiKey", KeyCommand(t))
	pr.Set("compat", compat)
	pr.Set("models", []any{entry})
	return pr
}

func checkTarget(t configurator.Target) error {
	if t.Endpoints.Chat == "" {
		return errors.New("pi: the target has no chat endpoint")
	}
	if len(t.TokenCommand) == 0 {
		return errors.New("pi: no token command to use as Pi's apiKey command")
	}
	// Pi takes the command's first line of output; a line break in an
	// argument would make a different command.
	if slices.ContainsFunc(t.TokenCommand, pluginkit.HasControl) {
		return errors.New("pi: the token command holds a control character")
	}
	return nil
}

// record returns the record to save: the one on disk, completed with what
// coda finds now for a file it has no record of (its first setup, a moved
// agent directory, or a file deleted since). replaced names the user's
// settings coda is about to overwrite, for a note.
func (c *current) record() (rec *pluginkit.Record, replaced []string) {
	rec = c.rec
	if rec == nil {
		rec = pluginkit.NewRecord()
	}
	if rec.File(c.p.models) == nil || c.models.raw == nil {
		_, had := c.models.obj.Get(keyProviders)
		rec.AddFile(c.p.models, c.models.raw == nil).AddParent(pluginkit.Key{keyProviders}, !had)
	}
	if rec.File(c.p.settings) == nil || c.settings.raw == nil {
		f := rec.AddFile(c.p.settings, c.settings.raw == nil)
		// Settings that already name coda's provider were written by coda
		// (its record was lost): nothing of the user's to keep.
		mine := !c.codaDefault()
		for _, k := range ownedSettings {
			v, ok := c.settings.obj.Get(k)
			f.KeepJSON(pluginkit.Key{k}, v, ok && mine)
			if ok && mine {
				replaced = append(replaced, k)
			}
		}
	}
	return rec, replaced
}

// codaDefault reports whether settings.json makes coda's provider Pi's
// default.
func (d *dirFiles) codaDefault() bool {
	v, _ := d.settings.obj.Get(keyDefaultProvider)
	return v == ProviderID
}

func (Plugin) Plan(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	if err := checkTarget(t); err != nil {
		return configurator.Plan{Plugin: name}, err
	}
	c, err := load(env)
	if err != nil {
		return configurator.Plan{Plugin: name}, err
	}
	return c.plan(t)
}

// plan is the Plan for t of what load found (t checked).
func (c *current) plan(t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: name}
	rec, replaced := c.record()
	for _, k := range replaced {
		if v, _ := c.settings.obj.Get(k); v != want(t, k) {
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s: replaced your %s (coda setup --remove restores it)", pluginkit.Display(c.env, c.p.settings), k))
		}
	}
	// The sidecar goes first, so that the originals are known even when a
	// later write fails.
	plan.Changes = append(plan.Changes, c.stored.Save(rec))

	models := pluginkit.CloneJSON(c.models.obj)
	if err := models.SetPath(provider(t), keyProviders, ProviderID); err != nil {
		return plan, pluginkit.Malformed(c.env, c.p.models, "is not a models.json Pi reads", strings.TrimPrefix(err.Error(), "jsonedit: "))
	}
	// models.json often holds the user's own API keys of other providers.
	plan.Changes = append(plan.Changes, pluginkit.JSONChange(c.p.models, c.models.raw, c.models.obj, models, 0o600))

	settings := pluginkit.CloneJSON(c.settings.obj)
	for _, k := range ownedSettings {
		settings.Set(k, want(t, k))
	}
	plan.Changes = append(plan.Changes, pluginkit.JSONChange(c.p.settings, c.settings.raw, c.settings.obj, settings, 0o644))

	plan.Notes = append(plan.Notes, c.notes(t)...)
	return plan, nil
}

// want is coda's value of an owned setting.
func want(t configurator.Target, key string) string {
	if key == keyDefaultProvider {
		return ProviderID
	}
	return model(t)
}

func (Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: name}
	c, err := load(env)
	if err != nil {
		return plan, err
	}
	// The agent directory now, and any other one coda set up before
	// PI_CODING_AGENT_DIR changed.
	dirs := []dirFiles{c.dirFiles}
	if c.rec != nil {
		for _, f := range c.rec.Files {
			dir := filepath.Dir(f.Path)
			if slices.ContainsFunc(dirs, func(d dirFiles) bool { return d.p.dir == dir }) {
				continue
			}
			d, err := loadDir(env, dir)
			if err != nil {
				return plan, err
			}
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if ch, ok := removeModels(d.models, c.rec.File(d.p.models)); ok {
			plan.Changes = append(plan.Changes, ch)
		}
		if ch, ok := removeSettings(d.settings, c.rec.File(d.p.settings)); ok {
			plan.Changes = append(plan.Changes, ch)
		}
	}
	if c.rec != nil {
		plan.Changes = append(plan.Changes, c.stored.Remove())
	}
	return plan, nil
}

// removeModels deletes coda's provider from models.json, and the providers
// object when coda created it and it is empty now; the file too when coda
// created it and nothing is left. rec is nil without coda's record.
func removeModels(f file, rec *pluginkit.FileRecord) (configurator.Change, bool) {
	if f.raw == nil {
		return configurator.Change{}, false
	}
	doc := pluginkit.CloneJSON(f.obj)
	doc.DeletePath(keyProviders, ProviderID)
	if v, ok := doc.Get(keyProviders); ok {
		parent := rec.Parent(keyProviders)
		if obj, isObj := v.(*jsonedit.Object); isObj && obj.Len() == 0 && (parent == nil || parent.Created) {
			doc.Delete(keyProviders)
		}
	}
	ch := pluginkit.JSONChange(f.path, f.raw, f.obj, doc, 0o600)
	if rec != nil && rec.Created && empty(doc) {
		ch.New = nil // a backup is still kept
	}
	return ch, true
}

// removeSettings puts back the user's defaultProvider and defaultModel
// while they still name coda's provider (a model the user picked in Pi
// since stays), and deletes settings.json when coda created it and
// nothing is left.
func removeSettings(f file, rec *pluginkit.FileRecord) (configurator.Change, bool) {
	if f.raw == nil {
		return configurator.Change{}, false
	}
	doc := pluginkit.CloneJSON(f.obj)
	if v, _ := doc.Get(keyDefaultProvider); v == ProviderID {
		for _, k := range ownedSettings {
			if v, had := rec.OriginalJSON(k); rec != nil && had {
				doc.Set(k, v)
			} else {
				doc.Delete(k)
			}
		}
	}
	ch := pluginkit.JSONChange(f.path, f.raw, f.obj, doc, 0o644)
	if rec != nil && rec.Created && empty(doc) {
		ch.New = nil
	}
	return ch, true
}

// empty reports whether a document is an empty object without even a
// comment of the user's.
func empty(doc *jsonedit.Object) bool {
	return doc.Len() == 0 && bytes.Equal(bytes.Join(bytes.Fields(jsonedit.Marshal(doc)), nil), []byte("{}"))
}

func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	c, err := load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	_, hasProvider := c.models.obj.GetPath(keyProviders, ProviderID)
	if c.rec == nil && !hasProvider && !c.codaDefault() {
		if !pl.Detect(env).Installed {
			return configurator.Status{State: configurator.StateAbsent, Detail: "pi is not on PATH"}, nil
		}
		if id := pluginkit.ForeignProvider(c.models.obj, keyProviders, ProviderID, "baseUrl", t.Host, t.Endpoints.Chat); id != "" {
			return configurator.Status{State: configurator.StateForeign,
				Detail: fmt.Sprintf("provider %q in %s points at this workspace, but coda did not write it: run coda setup pi to add coda's provider, whose key command follows rotations", id, pluginkit.Display(env, c.p.models))}, nil
		}
		return configurator.Status{State: configurator.StateNotConfigured, Detail: "no coda-databricks provider in " + pluginkit.Display(env, c.p.models)}, nil
	}
	if err := checkTarget(t); err != nil {
		return configurator.Status{}, err
	}
	plan, err := c.plan(t)
	if err != nil {
		return configurator.Status{}, err
	}
	if !plan.Empty() {
		return configurator.Status{State: configurator.StateStale, Detail: pluginkit.JoinDetail(c.staleReason(t)+": run coda setup pi", plan.Notes)}, nil
	}
	command := pluginkit.ShellCommand(t.TokenCommand)
	detail := fmt.Sprintf("provider coda-databricks at %s, model %s; Pi runs %s before every request, so running sessions follow rotations", t.Endpoints.Chat, model(t), command)
	if t.Proxied {
		detail = fmt.Sprintf("provider coda-databricks at coda's proxy %s, model %s; Pi runs %s before every request and the proxy sends the current token", t.Endpoints.Chat, model(t), command)
	}
	return configurator.Status{State: configurator.StateConfigured, Detail: pluginkit.JoinDetail(detail, plan.Notes)}, nil
}

// staleReason names the first difference a setup would fix.
func (c *current) staleReason(t configurator.Target) string {
	models := pluginkit.Display(c.env, c.p.models)
	got, ok := c.models.obj.GetPath(keyProviders, ProviderID)
	pr, isObj := got.(*jsonedit.Object)
	if !ok || !isObj {
		return "coda-databricks is missing from " + models
	}
	wantPr := provider(t)
	for _, k := range []string{"baseUrl", "apiKey"} {
		w, _ := wantPr.Get(k)
		if v, _ := pr.Get(k); v != w {
			what := map[string]string{"baseUrl": "points at", "apiKey": "runs"}[k]
			if s, ok := v.(string); ok {
				return fmt.Sprintf("coda-databricks %s %s, not %s", what, strings.TrimPrefix(s, "!"), strings.TrimPrefix(w.(string), "!"))
			}
			return "coda-databricks has no " + k
		}
	}
	if !jsonedit.Equal(pr, wantPr) {
		return "coda's provider in " + models + " differs from what coda writes (model " + model(t) + ")"
	}
	for _, k := range ownedSettings {
		if v, _ := c.settings.obj.Get(k); v != want(t, k) {
			return fmt.Sprintf("%s in %s is not %s", k, pluginkit.Display(c.env, c.p.settings), want(t, k))
		}
	}
	return "coda's record of the original settings is missing"
}

// notes are what can keep Pi from using coda's provider that coda does
// not own.
func (c *current) notes(t configurator.Target) []string {
	var notes []string
	settings := pluginkit.Display(c.env, c.p.settings)
	// Pi starts with the first model of enabledModels when the default is
	// not among them.
	if v, ok := c.settings.obj.Get(keyEnabledModels); ok {
		if list, ok := v.([]any); ok && len(list) > 0 && !slices.ContainsFunc(list, func(e any) bool {
			s, _ := e.(string)
			return strings.Contains(s, ProviderID)
		}) {
			notes = append(notes, fmt.Sprintf("enabledModels in %s does not list %s/%s, so Pi starts with another model: add it there", settings, ProviderID, model(t)))
		}
	}
	// A key stored in auth.json (by /login) wins over models.json's apiKey.
	if raw, err := pluginkit.ReadOptional(c.p.auth); err == nil && raw != nil {
		if auth, err := jsonedit.Parse(raw); err == nil {
			if _, ok := auth.Get(ProviderID); ok {
				notes = append(notes, fmt.Sprintf("%s holds a key for %s, which Pi sends instead of running coda's key command: run /logout %s in Pi, or delete that entry", pluginkit.Display(c.env, c.p.auth), ProviderID, ProviderID))
			}
		}
	}
	// Pi sends every request through HTTP_PROXY unless NO_PROXY exempts
	// the host, loopback included, and no file of Pi's can set them.
	if t.Proxied {
		proxy := pluginkit.Getenv(c.env, "http_proxy")
		if proxy == "" {
			proxy = pluginkit.Getenv(c.env, "HTTP_PROXY")
		}
		noProxy := pluginkit.Getenv(c.env, "no_proxy")
		if noProxy == "" {
			noProxy = pluginkit.Getenv(c.env, "NO_PROXY")
		}
		if proxy != "" && !pluginkit.CoversLoopback(noProxy) {
			notes = append(notes, "HTTP_PROXY is set and NO_PROXY does not cover 127.0.0.1, so Pi would send its requests for coda's proxy to that proxy: add "+pluginkit.LoopbackNoProxy+" to NO_PROXY where you start pi")
		}
	}
	return notes
}
