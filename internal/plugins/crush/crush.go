// Package crush is coda's configurator for Crush, Charm's coding agent
// (npm @charmland/crush, github.com/charmbracelet/crush).
//
// Crush merges, lowest priority first, /etc/crush/crush.json, the user's
// crush.json and crushrc in $CRUSH_GLOBAL_CONFIG (else
// $XDG_CONFIG_HOME/crush, else ~/.config/crush), its own state file
// crush.json in $CRUSH_GLOBAL_DATA (else $XDG_DATA_HOME/crush, else
// ~/.local/share/crush), then crush.json, .crush.json, crushrc and
// .crushrc from the project up to its git root, then the project's
// .crush/crush.json. JSON files are strict JSON (Crush refuses a comment
// or a trailing comma, and so does coda); crushrc is a shell script,
// which coda does not edit.
//
// coda merges into the user's crush.json, keeping every other key and the
// file's layout:
//
//   - providers["coda-databricks"]: type "openai-compat" (Crush appends
//     /chat/completions to base_url and sends Authorization: Bearer), the
//     target's chat endpoint as base_url, the models with their context
//     windows and default max tokens, and api_key "$(TOKEN COMMAND)".
//     Crush expands $(...) with its embedded shell when it starts and again
//     before every prompt, but not while it answers one, and (in v0.90.0)
//     never after a 401 or 403 for a custom provider. So no token is ever
//     written, and each prompt starts with the token coda hands out then.
//   - models.large and models.small, which pick coda's provider and models
//     ("databricks-claude-sonnet-4-6" and "databricks-claude-haiku-4-5"
//     unless the target names others for the roles "large" and "small").
//
// Without coda's proxy the command is coda token: an answer still under
// way when coda deletes the token it started with fails with 403, so a
// rotation grace longer than the longest answer is needed. Through the
// proxy (the default, configurator.ProxyAuto) base_url is the proxy and
// api_key is the proxy's local key itself, which never rotates (crush.json
// is then written as a secret; see apiKey): the proxy sends the current
// token and retries a 403 with the new one, so running sessions survive
// any rotation. Crush is a Go program, which never sends requests for
// 127.0.0.1 through HTTP_PROXY.
//
// The files that Crush merges over the user's crush.json can hide coda's
// settings: the plan notes a state file that picks another model (Crush
// keeps the model last picked in its UI there, and replaces one whose
// provider it cannot use) or defines coda's provider, and a crushrc next
// to crush.json. Project files are the project's business.
//
// The originals of models.large and models.small, and whether coda
// created crush.json, providers or models, are kept in
// <coda state dir>/plugins/crush.json, written in the same plan.
// PlanRemove deletes coda's provider, puts back the user's models (unless
// the user has chosen others in crush.json since), deletes the objects
// coda created once they are empty, and crush.json when coda created it
// and only its $schema is left.
package crush

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

const (
	// ProviderID is coda's provider in crush.json.
	ProviderID = "coda-databricks"
	// DefaultLarge and DefaultSmall are the serving endpoints for the
	// roles "large" and "small".
	DefaultLarge = pluginkit.DefaultChatModel
	DefaultSmall = pluginkit.DefaultSmallChatModel
	// EnvGlobalConfig and EnvGlobalData move Crush's config and state
	// directories.
	EnvGlobalConfig = "CRUSH_GLOBAL_CONFIG"
	EnvGlobalData   = "CRUSH_GLOBAL_DATA"

	name         = "crush"
	schemaURL    = "https://charm.land/crush.json"
	providerType = "openai-compat"

	keySchema    = "$schema"
	keyProviders = "providers"
	keyModels    = "models"
)

// roles are the keys of models coda sets, in the order it adds them.
var roles = []string{"large", "small"}

// factProfile is the coda profile Crush is set up for.
const factProfile = "profile"

// Plugin configures Crush.
type Plugin struct{}

// New returns the Crush configurator.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        name,
		Description: "Crush: provider coda-databricks in ~/.config/crush/crush.json, holding the proxy's local key (with --proxy off, an api_key that runs coda token at start and before each prompt)",
		Delivery:    configurator.DeliveryHelper,
		InAll:       true,
		Binaries:    []string{"crush"},
		NPMPackage:  "@charmland/crush@0.96.1",
		// Crush reads the key again only at the next prompt, never after
		// a 403: an answer under way dies with its token unless the proxy
		// carries the rotation.
		Proxy: configurator.ProxyAuto,
	}
}

// paths are the files the plugin reads.
type paths struct {
	config  string // the user's crush.json, which coda edits
	crushrc string // the shell config Crush merges over it
	state   string // Crush's state file, merged over both
}

// abs returns the variable's value when it is an absolute path: Crush
// would resolve a relative one against whatever directory it starts in.
func abs(env configurator.Env, key string) string {
	if v := pluginkit.Getenv(env, key); filepath.IsAbs(v) {
		return v
	}
	return ""
}

// ConfigDir is the directory of the user's crush.json.
func ConfigDir(env configurator.Env) string {
	if d := abs(env, EnvGlobalConfig); d != "" {
		return d
	}
	if x := abs(env, "XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, name)
	}
	return filepath.Join(env.Home, ".config", name)
}

// DataDir is the directory of Crush's state file.
func DataDir(env configurator.Env) string {
	if d := abs(env, EnvGlobalData); d != "" {
		return d
	}
	if x := abs(env, "XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, name)
	}
	return filepath.Join(env.Home, ".local", "share", name)
}

func pathsFor(env configurator.Env) paths {
	dir := ConfigDir(env)
	return paths{
		config:  filepath.Join(dir, "crush.json"),
		crushrc: filepath.Join(dir, "crushrc"),
		state:   filepath.Join(DataDir(env), "crush.json"),
	}
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	return pluginkit.Detect(env, pl.Info(), pathsFor(env).config)
}

// current is what is on disk.
type current struct {
	env    configurator.Env
	p      paths
	rec    *pluginkit.Record // nil: coda has not configured Crush
	stored pluginkit.Sidecar
	raw    []byte           // crush.json; nil when missing
	cfg    *jsonedit.Object // crush.json parsed; empty when missing or empty
}

func load(env configurator.Env) (*current, error) {
	c := &current{env: env, p: pathsFor(env)}
	var err error
	if c.raw, err = pluginkit.ReadShown(env, c.p.config); err != nil {
		return nil, err
	}
	c.rec, c.stored, err = pluginkit.LoadRecord(env, pluginkit.RecordFormat{
		Plugin: name,
		Check:  func(r *pluginkit.Record) error { return r.File(c.p.config).CheckJSON() },
	})
	if err != nil {
		return nil, err
	}
	c.cfg = jsonedit.New()
	// Crush skips an empty file; anything else must be strict JSON.
	if len(c.raw) > 0 {
		if c.cfg, err = pluginkit.ParseJSON(env, c.p.config, c.raw, jsonedit.Strict); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// models returns the large and small models for t.
func models(t configurator.Target) (large, small string) {
	return t.Model("large", DefaultLarge), t.Model("small", DefaultSmall)
}

// modelFor returns t's model for role, one of roles.
func modelFor(t configurator.Target, role string) string {
	large, small := models(t)
	if role == "large" {
		return large
	}
	return small
}

// apiKey is what Crush expands into the key. Through the proxy it is the
// proxy's local key itself, which never changes and opens nothing but the
// proxy: Crush expands a $(command) key 17 times at start and 4 times per
// prompt, which with coda's ~0.15 s start-up made a one-prompt run 3 s
// slower. Off the proxy it is the token command, run by Crush's shell.
func apiKey(t configurator.Target) string {
	if t.Proxied {
		return t.Token
	}
	return "$(" + pluginkit.ShellCommand(t.TokenCommand) + ")"
}

// provider builds coda's provider entry.
func provider(t configurator.Target) *jsonedit.Object {
	large, small := models(t)
	var list []any
	for i, m := range []string{large, small} {
		if i == 1 && m == large {
			break
		}
		info := pluginkit.Limits(m)
		entry := jsonedit.New()
		entry.Set("id", m)
		entry.Set("name", info.Name)
		entry.Set("context_window", info.Context)
		entry.Set("default_max_tokens", info.Output)
		list = append(list, entry)
	}
	pr := jsonedit.New()
	pr.Set("type", providerType)
	pr.Set("name", "Databricks (coda)")
	pr.Set("base_url", t.Endpoints.Chat)
	pr.Set("api_key", apiKey(t))
	pr.Set("models", list)
	return pr
}

// selection is the value of models.ROLE that picks model of coda's
// provider.
func selection(model string) *jsonedit.Object {
	o := jsonedit.New()
	o.Set("provider", ProviderID)
	o.Set("model", model)
	return o
}

// isCodaModel reports whether a value of models.ROLE picks coda's
// provider.
func isCodaModel(v any) bool {
	o, ok := v.(*jsonedit.Object)
	if !ok {
		return false
	}
	p, _ := o.Get("provider")
	return p == ProviderID
}

func checkTarget(t configurator.Target) error {
	if t.Endpoints.Chat == "" {
		return errors.New("crush: the target has no chat endpoint")
	}
	if len(t.TokenCommand) == 0 {
		return errors.New("crush: no token command to use as the api_key")
	}
	for _, a := range t.TokenCommand {
		// A line break would end the $(...) word early in Crush's shell.
		if pluginkit.HasControl(a) {
			return errors.New("crush: the token command holds a control character")
		}
	}
	return nil
}

// refused is the error for a crush.json whose shape keeps coda from
// merging (providers or models is not an object).
func (c *current) refused(err error) error {
	return fmt.Errorf("%s: %s: fix it, then run coda setup again", pluginkit.Display(c.env, c.p.config), strings.TrimPrefix(err.Error(), "jsonedit: "))
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

	// The record of what coda found, kept from the first setup on.
	rec := pluginkit.NewRecord()
	rec.SetFact(factProfile, t.Profile)
	if old := c.rec.File(c.p.config); old != nil {
		rec.Files = append(rec.Files, old)
	} else {
		f := rec.AddFile(c.p.config, len(c.raw) == 0)
		for _, parent := range []string{keyProviders, keyModels} {
			_, had := c.cfg.Get(parent)
			f.AddParent(pluginkit.Key{parent}, !had)
		}
		for _, role := range roles {
			v, ok := c.cfg.GetPath(keyModels, role)
			f.KeepJSON(pluginkit.Key{keyModels, role}, v, ok && !isCodaModel(v))
		}
	}
	plan.Changes = append(plan.Changes, c.stored.Save(rec))

	cfg := pluginkit.CloneJSON(c.cfg)
	if len(c.raw) == 0 {
		cfg.Set(keySchema, schemaURL)
	}
	if err := cfg.SetPath(provider(t), keyProviders, ProviderID); err != nil {
		return plan, c.refused(err)
	}
	for _, role := range roles {
		if err := cfg.SetPath(selection(modelFor(t, role)), keyModels, role); err != nil {
			return plan, c.refused(err)
		}
	}
	// Crush writes its own files 0600: they may hold other providers' keys.
	ch := pluginkit.JSONChange(c.p.config, c.raw, c.cfg, cfg, 0o600)
	ch.Secret = t.Proxied // the local key: 0600, and never shown in a diff
	plan.Changes = append(plan.Changes, ch)
	plan.Notes = append(plan.Notes, c.overrides(t)...)
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
	if c.raw == nil {
		return plan, nil
	}
	rec := c.rec.File(c.p.config)
	cfg := pluginkit.CloneJSON(c.cfg)
	cfg.DeletePath(keyProviders, ProviderID)
	for _, role := range roles {
		v, ok := cfg.GetPath(keyModels, role)
		if !ok || !isCodaModel(v) {
			continue // the user's own choice, made since
		}
		if orig, had := rec.OriginalJSON(keyModels, role); had {
			if err := cfg.SetPath(orig, keyModels, role); err != nil {
				return plan, c.refused(err)
			}
			continue
		}
		cfg.DeletePath(keyModels, role)
	}
	for _, parent := range []string{keyProviders, keyModels} {
		// Without a record, an empty object is taken to be coda's.
		created := rec == nil || rec.Parent(parent) != nil && rec.Parent(parent).Created
		if v, ok := cfg.Get(parent); ok && created {
			if o, ok := v.(*jsonedit.Object); ok && o.Len() == 0 {
				cfg.Delete(parent)
			}
		}
	}
	ch := pluginkit.JSONChange(c.p.config, c.raw, c.cfg, cfg, 0o600)
	if rec != nil && rec.Created && pluginkit.OnlySchema(cfg, schemaURL) {
		ch.New = nil // a backup is still kept
	}
	plan.Changes = append(plan.Changes, ch)
	return plan, nil
}

// overrides notes the files Crush merges over crush.json that can hide
// coda's settings. coda reads them but never edits them.
func (c *current) overrides(t configurator.Target) []string {
	var notes []string
	if raw, err := pluginkit.ReadOptional(c.p.crushrc); err == nil && len(raw) > 0 {
		notes = append(notes, fmt.Sprintf("%s exists and Crush merges it over crush.json: check that it sets neither models nor provider %s", pluginkit.Display(c.env, c.p.crushrc), ProviderID))
	}
	raw, err := pluginkit.ReadOptional(c.p.state)
	if err != nil || len(raw) == 0 {
		return notes
	}
	state := pluginkit.Display(c.env, c.p.state)
	doc, err := jsonedit.Parse(raw)
	if err != nil {
		return append(notes, state+" is not a valid JSON object, and Crush does not start until it is fixed or deleted")
	}
	if _, ok := doc.GetPath(keyProviders, ProviderID); ok {
		notes = append(notes, fmt.Sprintf("%s defines provider %s, which Crush merges over coda's: delete it there", state, ProviderID))
	}
	// Crush keeps the model last picked in its UI there, over crush.json
	// (and replaces a pick whose provider it cannot use).
	for _, role := range roles {
		v, ok := doc.GetPath(keyModels, role)
		if !ok {
			continue
		}
		m, _ := v.(*jsonedit.Object)
		var picked any
		if m != nil {
			picked, _ = m.Get("model")
		}
		switch want := modelFor(t, role); {
		case !isCodaModel(v):
			notes = append(notes, fmt.Sprintf("%s sets models.%s to another provider's model (the one last picked in Crush), which wins over crush.json while that provider works: pick a %s model in Crush (ctrl+l), or delete models.%s there", state, role, ProviderID, role))
		case picked != want:
			notes = append(notes, fmt.Sprintf("%s sets models.%s to %s's %v (the one last picked in Crush), which wins over crush.json's %s: pick it in Crush (ctrl+l), or delete models.%s there", state, role, ProviderID, picked, want, role))
		}
	}
	return notes
}

func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	c, err := load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	config := pluginkit.Display(env, c.p.config)
	_, hasProvider := c.cfg.GetPath(keyProviders, ProviderID)
	if c.rec == nil && !hasProvider {
		if !pl.Detect(env).Installed {
			return configurator.Status{State: configurator.StateAbsent, Detail: "crush is not on PATH"}, nil
		}
		if id := pluginkit.ForeignProvider(c.cfg, keyProviders, ProviderID, "base_url", t.Host, t.Endpoints.Chat); id != "" {
			return configurator.Status{State: configurator.StateForeign,
				Detail: fmt.Sprintf("provider %q in %s points at this workspace, but coda did not write it: run coda setup crush to add coda's provider, whose key follows rotations", id, config)}, nil
		}
		return configurator.Status{State: configurator.StateNotConfigured, Detail: "no " + ProviderID + " provider in " + config}, nil
	}
	if err := checkTarget(t); err != nil {
		return configurator.Status{}, err
	}
	plan, err := c.plan(t)
	if err != nil {
		return configurator.Status{}, err
	}
	if !plan.Empty() {
		return configurator.Status{State: configurator.StateStale, Detail: pluginkit.JoinDetail(c.staleReason(t)+": run coda setup crush", plan.Notes)}, nil
	}
	large, small := models(t)
	command := pluginkit.ShellCommand(t.TokenCommand)
	detail := fmt.Sprintf("provider %s at coda's proxy %s, models %s and %s; Crush holds the proxy's local key, and the proxy sends the current token, so running sessions survive rotations",
		ProviderID, t.Endpoints.Chat, large, small)
	if !t.Proxied {
		detail = fmt.Sprintf("provider %s at %s, models %s and %s; Crush runs %s at start and before each prompt, but not during an answer nor after a 401 or 403: a running session dies when coda deletes the token it loaded while it answers, so use coda setup crush --proxy auto",
			ProviderID, t.Endpoints.Chat, large, small, command)
	}
	return configurator.Status{State: configurator.StateConfigured, Detail: pluginkit.JoinDetail(detail, plan.Notes)}, nil
}

// staleReason names the first difference a setup would fix.
func (c *current) staleReason(t configurator.Target) string {
	config := pluginkit.Display(c.env, c.p.config)
	got, _ := c.cfg.GetPath(keyProviders, ProviderID)
	pr, ok := got.(*jsonedit.Object)
	if !ok {
		return ProviderID + " is missing from " + config
	}
	want := provider(t)
	for _, k := range []string{"base_url", "api_key"} {
		w, _ := want.Get(k)
		v, _ := pr.Get(k)
		if v == w {
			continue
		}
		what := map[string]string{"base_url": "points at", "api_key": "runs"}[k]
		show := func(s string) string { return strings.TrimSuffix(strings.TrimPrefix(s, "$("), ")") }
		if s, ok := v.(string); ok {
			return fmt.Sprintf("%s %s %s, not %s", ProviderID, what, show(s), show(w.(string)))
		}
		return ProviderID + " has no " + k
	}
	if !jsonedit.Equal(pr, want) {
		return "coda's provider in " + config + " differs from what coda writes"
	}
	for _, role := range roles {
		m := modelFor(t, role)
		if v, _ := c.cfg.GetPath(keyModels, role); !jsonedit.Equal(v, selection(m)) {
			return fmt.Sprintf("models.%s in %s is not %s's %s", role, config, ProviderID, m)
		}
	}
	if p := c.rec.Fact(factProfile); c.rec != nil && p != t.Profile {
		return fmt.Sprintf("set up for profile %s, not %s", p, t.Profile)
	}
	return "coda's record of the original settings is missing"
}
