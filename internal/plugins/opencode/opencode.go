// Package opencode is coda's configurator for OpenCode.
//
// OpenCode reads a literal API key only once, at start, so coda does not
// give it one. Instead coda writes:
//
//   - into opencode.json (in $XDG_CONFIG_HOME/opencode, else
//     ~/.config/opencode; or opencode.jsonc, see below), merged, its
//     comments and layout kept: provider "coda-databricks" (an
//     @ai-sdk/openai-compatible provider at the workspace's chat endpoint,
//     with the default models and their limits) and the top-level model and
//     small_model pointing at it. Never options.apiKey: an apiKey that
//     resolves to "" suppresses every other credential. The id is not
//     "databricks", which OpenCode's built-in provider would merge with.
//   - a plugin, plugin/coda-databricks.js in the same directory, holding no
//     secret, whose chat.headers hook reads coda's token file on every
//     request to that provider and sets the Authorization header.
//   - the token file, <coda state dir>/tokens/opencode-<profile> (0600 in a
//     0700 directory), which coda rewrites after every rotation: running
//     OpenCode sessions follow rotations. With no token (coda revoke) the
//     file is deleted and the plugin fails requests with a clear message.
//
// OpenCode reads opencode.json and opencode.jsonc with comments and
// trailing commas, and so does coda. coda edits opencode.json, or
// opencode.jsonc when that is the user's only global config (or already
// holds coda's provider and opencode.json does not). OpenCode merges
// opencode.jsonc over opencode.json, so when coda edits opencode.json and
// opencode.jsonc sets model or small_model the plan says so, and when it
// defines coda's provider the plan is refused.
//
// Originals of the keys coda overwrites (model, small_model) are kept in
// <coda state dir>/plugins/opencode.json, written in the same plan;
// PlanRemove restores them, deletes coda's provider, the plugin and the
// token file, and deletes opencode.json when coda created it and only its
// $schema remains.
package opencode

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/pkg/configurator"
)

const (
	// ProviderID is the id of coda's provider in opencode.json.
	ProviderID = "coda-databricks"
	// DefaultModel and DefaultSmallModel are the serving endpoints for the
	// roles "model" and "small_model".
	DefaultModel      = pluginkit.DefaultChatModel
	DefaultSmallModel = pluginkit.DefaultSmallChatModel

	name      = "opencode"
	schemaURL = "https://opencode.ai/config.json"
	npmSDK    = "@ai-sdk/openai-compatible"
)

// The facts coda keeps in its record besides the originals.
const (
	factProfile   = "profile"    // the coda profile OpenCode is set up for
	factTokenFile = "token_file" // the token file the plugin reads
)

// ownedTop are the top-level keys of opencode.json coda sets (besides its
// provider) and restores on remove.
var ownedTop = []string{"model", "small_model"}

// Plugin configures OpenCode.
type Plugin struct{}

// New returns the OpenCode configurator.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        name,
		Description: "OpenCode: provider coda-databricks in opencode.json, and a plugin that sends coda's current token with every request",
		Delivery:    configurator.DeliveryLiteral,
		InAll:       true,
		Binaries:    []string{"opencode"},
		NPMPackage:  "opencode-ai@1.18.33",
		Proxy:       configurator.ProxyWhenAll,
	}
}

// paths are the files the plugin manages.
type paths struct {
	dir    string // OpenCode's global config dir
	config string // opencode.json
	jsonc  string // opencode.jsonc
	plugin string // plugin/coda-databricks.js
}

// ConfigDir is OpenCode's global config dir: $XDG_CONFIG_HOME/opencode
// when XDG_CONFIG_HOME is an absolute path, else ~/.config/opencode.
func ConfigDir(env configurator.Env) string {
	if x := pluginkit.Getenv(env, "XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "opencode")
	}
	return filepath.Join(env.Home, ".config", "opencode")
}

func pathsFor(env configurator.Env) paths {
	dir := ConfigDir(env)
	return paths{
		dir:    dir,
		config: filepath.Join(dir, "opencode.json"),
		jsonc:  filepath.Join(dir, "opencode.jsonc"),
		plugin: filepath.Join(dir, "plugin", "coda-databricks.js"),
	}
}

// TokenFile is where coda keeps profile's token for the plugin to read.
func TokenFile(env configurator.Env, profile string) (string, error) {
	if env.StateDir == "" || !filepath.IsAbs(env.StateDir) {
		return "", errors.New("opencode: coda's state directory is not an absolute path")
	}
	if err := store.ValidateProfileName(profile); err != nil {
		return "", fmt.Errorf("opencode: %w", err)
	}
	return filepath.Join(env.StateDir, "tokens", name+"-"+profile), nil
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	p := pathsFor(env)
	return pluginkit.Detect(env, pl.Info(), p.config, p.plugin)
}

// current is what is on disk.
type current struct {
	env    configurator.Env
	p      paths
	rec    *pluginkit.Record // nil: coda has not configured OpenCode
	stored pluginkit.Sidecar
	config string           // the config coda edits: p.config, or p.jsonc
	cfg    *jsonedit.Object // the config, parsed; empty when missing
	cfgRaw []byte           // nil: the config does not exist
	jsonc  []byte           // opencode.jsonc when coda edits opencode.json
	plugin []byte
}

func load(env configurator.Env) (*current, error) {
	c := &current{env: env, p: pathsFor(env)}
	var err error
	if c.cfgRaw, err = pluginkit.ReadShown(env, c.p.config); err != nil {
		return nil, err
	}
	if c.jsonc, err = pluginkit.ReadShown(env, c.p.jsonc); err != nil {
		return nil, err
	}
	c.config = c.p.config
	if c.jsonc != nil && (c.cfgRaw == nil || hasProvider(c.jsonc) && !hasProvider(c.cfgRaw)) {
		c.config, c.cfgRaw, c.jsonc = c.p.jsonc, c.jsonc, nil
	}
	// The record of originals: those of the config coda edits.
	c.rec, c.stored, err = pluginkit.LoadRecord(env, pluginkit.RecordFormat{
		Plugin: name,
		Legacy: func(raw []byte) (*pluginkit.Record, error) { return legacyRecord(raw, c.config) },
		Check:  func(r *pluginkit.Record) error { return r.File(c.config).CheckJSON() },
	})
	if err != nil {
		return nil, err
	}
	c.cfg = jsonedit.New()
	if c.cfgRaw != nil {
		if c.cfg, err = pluginkit.ParseJSON(env, c.config, c.cfgRaw, jsonedit.JWCC); err != nil {
			return nil, err
		}
	}
	if c.plugin, err = pluginkit.ReadShown(env, c.p.plugin); err != nil {
		return nil, err
	}
	return c, nil
}

// hasProvider reports whether a config defines coda's provider.
func hasProvider(data []byte) bool {
	o, err := jsonedit.ParseDialect(data, jsonedit.JWCC)
	if err != nil {
		return false
	}
	_, ok := o.GetPath("provider", ProviderID)
	return ok
}

// models returns the model and small model for t.
func models(t configurator.Target) (model, small string) {
	return t.Model("model", DefaultModel), t.Model("small_model", DefaultSmallModel)
}

// provider builds coda's provider entry.
func provider(t configurator.Target) *jsonedit.Object {
	model, small := models(t)
	ms := jsonedit.New()
	for _, m := range []string{model, small} {
		if _, dup := ms.Get(m); dup {
			continue
		}
		info := pluginkit.Limits(m)
		limit := jsonedit.New()
		limit.Set("context", info.Context)
		limit.Set("output", info.Output)
		entry := jsonedit.New()
		entry.Set("name", info.Name)
		entry.Set("limit", limit)
		ms.Set(m, entry)
	}
	options := jsonedit.New()
	options.Set("baseURL", t.Endpoints.Chat)
	pr := jsonedit.New()
	pr.Set("npm", npmSDK)
	pr.Set("name", "Databricks (coda)")
	pr.Set("options", options)
	pr.Set("models", ms)
	return pr
}

func checkTarget(t configurator.Target) error {
	if t.Endpoints.Chat == "" {
		return errors.New("opencode: the target has no chat endpoint")
	}
	if pluginkit.HasControl(t.Token) {
		return errors.New("opencode: the token holds a control character; run coda login again")
	}
	return nil
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

// plan is Plan on the files load read (Status reuses them).
func (c *current) plan(t configurator.Target) (configurator.Plan, error) {
	env := c.env
	plan := configurator.Plan{Plugin: name}
	tokenFile, err := TokenFile(env, t.Profile)
	if err != nil {
		return plan, err
	}
	notes, err := c.overrides()
	if err != nil {
		return plan, err
	}
	plan.Notes = append(plan.Notes, notes...)

	// The record of what coda found, kept from the first setup on, and of
	// the profile and token file it sets up.
	rec := pluginkit.NewRecord()
	rec.SetFact(factProfile, t.Profile)
	rec.SetFact(factTokenFile, tokenFile)
	if old := c.rec.File(c.config); old != nil {
		rec.Files = append(rec.Files, old)
	} else {
		f := rec.AddFile(c.config, c.cfgRaw == nil)
		for _, k := range ownedTop {
			v, ok := c.cfg.Get(k)
			f.KeepJSON(pluginkit.Key{k}, v, ok && !isCodaModel(v))
		}
	}
	plan.Changes = append(plan.Changes, c.stored.Save(rec))

	// The token file the plugin reads.
	oldToken, err := pluginkit.ReadShown(env, tokenFile)
	if err != nil {
		return plan, err
	}
	var newToken []byte
	if t.Token != "" {
		newToken = []byte(t.Token + "\n")
	} else {
		plan.Notes = append(plan.Notes, "no token: OpenCode requests to coda-databricks fail until you run coda login")
	}
	plan.Changes = append(plan.Changes, configurator.Change{
		Path: tokenFile, Old: oldToken, New: newToken, Perm: configurator.SecretPerm, Secret: true,
	})

	// The plugin.
	plan.Changes = append(plan.Changes, configurator.Change{
		Path: c.p.plugin, Old: c.plugin, New: pluginJS(tokenFile), Perm: 0o644,
		Backup: c.plugin != nil && !isCodaPlugin(c.plugin),
	})

	// opencode.json (or .jsonc).
	cfg := pluginkit.CloneJSON(c.cfg)
	if c.cfgRaw == nil {
		cfg.Set("$schema", schemaURL)
	}
	if err := cfg.SetPath(provider(t), "provider", ProviderID); err != nil {
		return plan, fmt.Errorf("%s: %s: fix it, then run coda setup again", pluginkit.Display(env, c.config), strings.TrimPrefix(err.Error(), "jsonedit: "))
	}
	model, small := models(t)
	cfg.Set("model", ProviderID+"/"+model)
	cfg.Set("small_model", ProviderID+"/"+small)
	plan.Changes = append(plan.Changes, pluginkit.JSONChange(c.config, c.cfgRaw, c.cfg, cfg, 0o644))
	plan.Notes = append(plan.Notes, c.providerFilters()...)
	return plan, nil
}

func (Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: name}
	c, err := load(env)
	if err != nil {
		return plan, err
	}
	if c.rec != nil {
		plan.Changes = append(plan.Changes, c.stored.Remove())
	}

	// Token files: the target profile's and the one the plugin was set
	// up for.
	var tokenFiles []string
	if f, err := TokenFile(env, t.Profile); err == nil {
		tokenFiles = append(tokenFiles, f)
	}
	if s := c.rec.Fact(factTokenFile); filepath.IsAbs(s) && filepath.Dir(s) == filepath.Join(env.StateDir, "tokens") && !slices.Contains(tokenFiles, s) {
		tokenFiles = append(tokenFiles, s)
	}
	for _, f := range tokenFiles {
		old, err := pluginkit.ReadShown(env, f)
		if err != nil {
			return plan, err
		}
		if old != nil {
			plan.Changes = append(plan.Changes, configurator.Change{Path: f, Old: old, New: nil, Secret: true})
		}
	}

	if c.plugin != nil {
		if isCodaPlugin(c.plugin) {
			plan.Changes = append(plan.Changes, configurator.Change{Path: c.p.plugin, Old: c.plugin, New: nil})
		} else {
			plan.Notes = append(plan.Notes, pluginkit.Display(env, c.p.plugin)+" was not written by coda (or was edited): left in place")
		}
	}

	if c.cfgRaw != nil {
		cfg := pluginkit.CloneJSON(c.cfg)
		cfg.DeletePath("provider", ProviderID)
		if pv, ok := cfg.Get("provider"); ok {
			if obj, ok := pv.(*jsonedit.Object); ok && obj.Len() == 0 {
				cfg.Delete("provider")
			}
		}
		rec := c.rec.File(c.config)
		for _, k := range ownedTop {
			if rec == nil {
				// No record: take out only what is recognisably coda's.
				if v, ok := cfg.Get(k); ok && isCodaModel(v) {
					cfg.Delete(k)
				}
				continue
			}
			if v, had := rec.OriginalJSON(k); had {
				cfg.Set(k, v)
				continue
			}
			cfg.Delete(k)
		}
		ch := pluginkit.JSONChange(c.config, c.cfgRaw, c.cfg, cfg, 0o644)
		if rec != nil && rec.Created && pluginkit.OnlySchema(cfg, schemaURL) {
			ch.New = nil // a backup is still kept
		}
		plan.Changes = append(plan.Changes, ch)
	}
	return plan, nil
}

func isCodaModel(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(s, ProviderID+"/")
}

func isCodaPlugin(data []byte) bool {
	return strings.HasPrefix(string(data), pluginMarker)
}

// overrides inspects opencode.jsonc, which OpenCode merges over
// opencode.json, when coda edits opencode.json.
func (c *current) overrides() ([]string, error) {
	if c.jsonc == nil {
		return nil, nil
	}
	name := pluginkit.Display(c.env, c.p.jsonc)
	obj, err := jsonedit.ParseDialect(c.jsonc, jsonedit.JWCC)
	if err != nil {
		return []string{name + " exists and coda cannot read it (it is not valid JSON, even with comments); OpenCode merges it over opencode.json, so check that it sets neither model nor small_model"}, nil
	}
	if _, ok := obj.GetPath("provider", ProviderID); ok {
		return nil, fmt.Errorf("%s also defines provider %q, which OpenCode would merge over coda's: remove it there, then run coda setup again", name, ProviderID)
	}
	var keys []string
	for _, k := range ownedTop {
		if _, ok := obj.Get(k); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		return []string{fmt.Sprintf("%s sets %s, which OpenCode merges over coda's opencode.json: remove that there to use coda's models", name, strings.Join(keys, " and "))}, nil
	}
	return nil, nil
}

// providerFilters notes when the user's enabled_providers or
// disabled_providers hide coda's provider (coda does not own them).
func (c *current) providerFilters() []string {
	var notes []string
	if v, ok := c.cfg.Get("enabled_providers"); ok {
		if list, ok := v.([]any); ok && !slices.Contains(list, any(ProviderID)) {
			notes = append(notes, fmt.Sprintf("enabled_providers in %s does not list %q, so OpenCode hides coda's provider: add it there", pluginkit.Display(c.env, c.config), ProviderID))
		}
	}
	if v, ok := c.cfg.Get("disabled_providers"); ok {
		if list, ok := v.([]any); ok && slices.Contains(list, any(ProviderID)) {
			notes = append(notes, fmt.Sprintf("disabled_providers in %s lists %q, so OpenCode hides coda's provider: remove it there", pluginkit.Display(c.env, c.config), ProviderID))
		}
	}
	return notes
}

func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	c, err := load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	_, hasProvider := c.cfg.GetPath("provider", ProviderID)
	managed := c.rec != nil || hasProvider || (c.plugin != nil && isCodaPlugin(c.plugin))
	if !managed {
		if !pl.Detect(env).Installed {
			return configurator.Status{State: configurator.StateAbsent, Detail: "opencode is not on PATH"}, nil
		}
		if id := c.foreignProvider(t); id != "" {
			return configurator.Status{State: configurator.StateForeign,
				Detail: fmt.Sprintf("provider %q in %s points at this workspace, but coda did not write it: run coda setup opencode to add coda's provider, whose token follows rotations", id, pluginkit.Display(env, c.config))}, nil
		}
		return configurator.Status{State: configurator.StateNotConfigured, Detail: "no coda-databricks provider in " + pluginkit.Display(env, c.config)}, nil
	}
	if err := checkTarget(t); err != nil {
		return configurator.Status{}, err
	}
	plan, err := c.plan(t)
	if err != nil {
		return configurator.Status{}, err
	}
	notes := plan.Notes
	if plan.Empty() {
		model, _ := models(t)
		detail := fmt.Sprintf("provider coda-databricks at %s, model %s; the plugin reads the token file on every request, so running sessions follow rotations", t.Endpoints.Chat, model)
		return configurator.Status{State: configurator.StateConfigured, Detail: pluginkit.JoinDetail(detail, notes)}, nil
	}
	return configurator.Status{State: configurator.StateStale, Detail: pluginkit.JoinDetail(c.staleReason(t, plan)+": run coda setup opencode", notes)}, nil
}

// staleReason names the first difference the plan would fix.
func (c *current) staleReason(t configurator.Target, plan configurator.Plan) string {
	if v, ok := c.cfg.GetPath("provider", ProviderID, "options", "baseURL"); !ok || v != t.Endpoints.Chat {
		if s, ok := v.(string); ok {
			return "coda-databricks points at " + s + ", not " + t.Endpoints.Chat
		}
		return "coda-databricks is missing from " + pluginkit.Display(c.env, c.config)
	}
	model, small := models(t)
	if v, _ := c.cfg.Get("model"); v != ProviderID+"/"+model {
		return "model is not " + ProviderID + "/" + model
	}
	if v, _ := c.cfg.Get("small_model"); v != ProviderID+"/"+small {
		return "small_model is not " + ProviderID + "/" + small
	}
	if p := c.rec.Fact(factProfile); c.rec != nil && p != t.Profile {
		return fmt.Sprintf("set up for profile %s, not %s", p, t.Profile)
	}
	for _, ch := range plan.Changes {
		if !ch.Changed() {
			continue
		}
		switch {
		case ch.Path == c.p.plugin:
			return "the coda-databricks plugin is missing or out of date"
		case filepath.Dir(ch.Path) == filepath.Join(c.env.StateDir, "tokens"):
			return "the token file does not hold the current token (once coda rewrites it, running sessions use the new one at their next request)"
		case ch.Path == c.config:
			return "coda's provider in " + pluginkit.Display(c.env, c.config) + " differs from what coda writes"
		}
	}
	return "coda's record of the original settings is missing"
}

// foreignProvider returns the id of a provider that is not coda's but
// points at the target's workspace (or its AI Gateway host).
func (c *current) foreignProvider(t configurator.Target) string {
	hosts := map[string]bool{}
	for _, u := range []string{t.Host, t.Endpoints.Chat} {
		if h := pluginkit.HostOf(u); h != "" {
			hosts[h] = true
		}
	}
	pv, _ := c.cfg.Get("provider")
	providers, ok := pv.(*jsonedit.Object)
	if !ok {
		return ""
	}
	for _, id := range providers.Keys() {
		if id == ProviderID {
			continue
		}
		base, _ := providers.GetPath(id, "options", "baseURL")
		if s, ok := base.(string); ok && hosts[pluginkit.HostOf(s)] {
			return id
		}
	}
	return ""
}
