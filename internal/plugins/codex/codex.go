// Package codex is coda's configurator for the OpenAI Codex CLI.
//
// It merges into $CODEX_HOME/config.toml (default ~/.codex/config.toml) a
// model provider, [model_providers.coda-databricks], whose token comes from
// an auth command, `coda token`, that Codex re-runs on its refresh interval
// and on a 401, and makes it the default provider (top-level model and
// model_provider). No token is written: no env_key, no
// experimental_bearer_token, no .env.
//
// The user's previous top-level model and model_provider are kept in a
// sidecar, STATEDIR/plugins/codex.json, written with the config, so that
// `coda setup --remove` restores them exactly (as they were written).
package codex

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/coda-cli/coda/internal/merge/tomledit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// ProviderID is coda's model provider in config.toml.
const ProviderID = "coda-databricks"

// ProviderName is its display name.
const ProviderName = "Databricks (coda)"

// DefaultModel is the serving endpoint of role "model".
const DefaultModel = "databricks-gpt-5-3-codex"

// AuthTimeout is how long Codex waits for `coda token`.
const AuthTimeout = 10 * time.Second

// Root keys coda owns.
const (
	keyModel    = "model"
	keyProvider = "model_provider"
)

// RootKeys are the top-level keys coda owns.
var RootKeys = []string{keyModel, keyProvider}

var (
	providerTable = tomledit.TableName("model_providers", ProviderID)
	authTable     = tomledit.TableName("model_providers", ProviderID, "auth")
)

// ProviderTable and AuthTable are the TOML names of coda's tables.
func ProviderTable() string { return providerTable }
func AuthTable() string     { return authTable }

// Plugin configures Codex.
type Plugin struct{}

// New returns the Codex configurator.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        "codex",
		Description: "OpenAI Codex: ~/.codex/config.toml provider " + ProviderID + " runs coda token as its auth command",
		Delivery:    configurator.DeliveryHelper,
		InAll:       true,
		Binaries:    []string{"codex"},
		NPMPackage:  "@openai/codex@0.169.0",
		Proxy:       configurator.ProxyWhenAll,
	}
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	return pluginkit.Detect(env, pl.Info(), configPath(env))
}

func configPath(env configurator.Env) string {
	if dir := pluginkit.Getenv(env, "CODEX_HOME"); dir != "" {
		return filepath.Join(dir, "config.toml")
	}
	return filepath.Join(env.Home, ".codex", "config.toml")
}

// desired is what coda writes for a target.
type desired struct {
	model    string
	provider []tomledit.KV
	auth     []tomledit.KV
}

func want(t configurator.Target) (desired, error) {
	if len(t.TokenCommand) == 0 {
		return desired{}, errors.New("codex: no token command to use as the provider's auth command")
	}
	if t.Endpoints.Responses == "" {
		return desired{}, errors.New("codex: the workspace has no Responses endpoint")
	}
	return desired{
		model: t.Model("model", DefaultModel),
		provider: []tomledit.KV{
			{Key: "name", Literal: tomledit.Quote(ProviderName)},
			{Key: "base_url", Literal: tomledit.Quote(t.Endpoints.Responses)},
			{Key: "wire_api", Literal: tomledit.Quote("responses")},
		},
		auth: []tomledit.KV{
			{Key: "command", Literal: tomledit.Quote(t.TokenCommand[0])},
			{Key: "args", Literal: tomledit.QuoteArray(t.TokenCommand[1:])},
			{Key: "timeout_ms", Literal: strconv.FormatInt(AuthTimeout.Milliseconds(), 10)},
			// Codex re-runs the auth command once its answer is older than
			// this, but not on a 403 (what a deleted token gets), so the
			// policy's helper refresh keeps it well inside the grace.
			{Key: "refresh_interval_ms", Literal: strconv.FormatInt(t.HelperRefresh.Milliseconds(), 10)},
		},
	}, nil
}

// state is what Plan, PlanRemove and Status read.
type state struct {
	path string
	raw  []byte // nil: no config.toml
	doc  *tomledit.Doc
	data map[string]any // the decoded document
	// stored is the sidecar, STATEDIR/plugins/codex.json (no Path without
	// a state dir); rec is its record, nil when there is none.
	stored pluginkit.Sidecar
	rec    *pluginkit.Record
}

func (s *state) exists() bool { return s.raw != nil }

func load(env configurator.Env) (*state, error) {
	s := &state{path: configPath(env)}
	raw, err := pluginkit.ReadOptional(s.path)
	if err != nil {
		return nil, err
	}
	s.raw = raw
	if s.doc, err = tomledit.Parse(raw); err != nil {
		msg := strings.TrimPrefix(err.Error(), "tomledit: ")
		if strings.HasPrefix(msg, "cannot edit") {
			return nil, fmt.Errorf("coda cannot edit %s safely (%s): simplify that line or move the file aside, then run coda setup again", pluginkit.Display(env, s.path), strings.TrimPrefix(msg, "cannot edit this document safely: "))
		}
		return nil, pluginkit.Malformed(env, s.path, "is not valid TOML", strings.TrimPrefix(msg, "invalid TOML at "))
	}
	if err := toml.Unmarshal(raw, &s.data); err != nil { // Parse validated it
		return nil, pluginkit.Malformed(env, s.path, "is not valid TOML", "")
	}
	if s.data == nil {
		s.data = map[string]any{}
	}
	if env.StateDir != "" {
		s.rec, s.stored, err = pluginkit.LoadRecord(env, pluginkit.RecordFormat{
			Plugin: "codex",
			Legacy: func(raw []byte) (*pluginkit.Record, error) { return legacyRecord(raw, s.path) },
			Check:  checkRecord,
		})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkRecord refuses originals that are not TOML values.
func checkRecord(r *pluginkit.Record) error {
	for _, f := range r.Files {
		for _, k := range f.Keys {
			if k.Original != nil && decode(*k.Original) == nil {
				return fmt.Errorf("the original %s is not a TOML value", strings.Join(k.Key, "."))
			}
		}
	}
	return nil
}

// record returns the originals to keep: the sidecar's, or, on coda's first
// apply (or once config.toml is deleted), the file's current root keys as
// TOML literals, exactly as written. replaced names the user's values coda
// is about to overwrite, for a note.
func (s *state) record(d desired) (rec *pluginkit.Record, replaced []string) {
	if s.rec.File(s.path) != nil && s.exists() {
		return s.rec, nil
	}
	rec = pluginkit.NewRecord()
	f := rec.AddFile(s.path, !s.exists())
	// Without a sidecar, a config that already holds coda's table was
	// configured by coda (its state was lost): its root keys are coda's.
	mine := !s.hasCodaTable()
	ours := map[string]string{keyModel: d.model, keyProvider: ProviderID}
	for _, k := range RootKeys {
		v, ok := s.doc.RootKey(k)
		if f.Keep(pluginkit.Key{k}, v, ok && mine); ok && mine && decode(v) != ours[k] {
			replaced = append(replaced, k)
		}
	}
	return rec, replaced
}

// provider returns the decoded [model_providers.ID] table, if any.
func (s *state) provider(id string) (map[string]any, bool) {
	mp, _ := s.data["model_providers"].(map[string]any)
	p, ok := mp[id].(map[string]any)
	return p, ok
}

// dottedProviders returns the line of the first dotted key that defines
// part of model_providers from outside a [model_providers.NAME] header
// (model_providers.x.y = ... at the root, or x.y = ... in [model_providers]),
// or 0. tomledit keeps such definitions intact but cannot edit or remove
// them, so coda refuses the file.
func dottedProviders(raw []byte) int {
	var p unstable.Parser
	p.Reset(raw)
	var section []string
	for p.NextExpression() {
		e := p.Expression()
		var key []string
		var first *unstable.Node
		for it := e.Key(); it.Next(); {
			if first == nil {
				first = it.Node()
			}
			key = append(key, string(it.Node().Data))
		}
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			section = key
		case unstable.KeyValue:
			full := append(slices.Clone(section), key...)
			if len(key) > 1 && len(section) < 2 && full[0] == "model_providers" {
				return max(p.Shape(first.Raw).Start.Line, 1)
			}
		}
	}
	return 0
}

// hasCodaTable reports whether coda's provider is defined.
func (s *state) hasCodaTable() bool {
	_, ok := s.provider(ProviderID)
	return ok
}

// decode returns the value of a TOML literal.
func decode(literal string) any {
	var m map[string]any
	if err := toml.Unmarshal([]byte("v = "+literal+"\n"), &m); err != nil {
		return nil
	}
	return m["v"]
}

func decodeKVs(kvs []tomledit.KV) map[string]any {
	var b strings.Builder
	for _, kv := range kvs {
		b.WriteString(kv.Key + " = " + kv.Literal + "\n")
	}
	var m map[string]any
	_ = toml.Unmarshal([]byte(b.String()), &m)
	return m
}

// sameKVs reports whether two table bodies hold the same values, however
// they are written.
func sameKVs(got []tomledit.KV, want []tomledit.KV) bool {
	g, w := decodeKVs(got), decodeKVs(want)
	return g != nil && reflect.DeepEqual(g, w)
}

// Plan merges coda's provider into config.toml.
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
	where := pluginkit.Display(env, s.path)
	if line := dottedProviders(s.raw); line > 0 {
		return plan, fmt.Errorf("%s defines model_providers with dotted keys (line %d), which coda cannot edit safely: write each provider as a [model_providers.NAME] table, then run coda setup again", where, line)
	}
	rec, replaced := s.record(d)
	if len(replaced) > 0 {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s: replaced your %s (coda setup --remove restores %s)", where, strings.Join(replaced, " and "), pronoun(len(replaced))))
	}

	if err := preflight(s.raw, d, where); err != nil {
		return plan, err
	}
	doc := s.doc
	setRoot := func(key, literal string) error {
		if cur, ok := doc.RootKey(key); ok && reflect.DeepEqual(decode(cur), decode(literal)) {
			return nil // the same value, however the user wrote it
		}
		return doc.SetRootKey(key, literal)
	}
	if err := setRoot(keyModel, tomledit.Quote(d.model)); err != nil {
		return plan, fmt.Errorf("%s: %v", where, err)
	}
	if err := setRoot(keyProvider, tomledit.Quote(ProviderID)); err != nil {
		return plan, fmt.Errorf("%s: %v", where, err)
	}
	var dropped []string
	for _, tb := range []struct {
		name string
		body []tomledit.KV
	}{{providerTable, d.provider}, {authTable, d.auth}} {
		cur, ok := doc.Table(tb.name)
		if ok && sameKVs(cur, tb.body) {
			continue
		}
		for _, kv := range cur {
			if !containsKey(tb.body, kv.Key) {
				dropped = append(dropped, kv.Key)
			}
		}
		if err := doc.SetTable(tb.name, tb.body); err != nil {
			return plan, fmt.Errorf("%s: %v", where, err)
		}
	}
	out := doc.Bytes()
	if len(dropped) > 0 {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s: [%s] is coda's table; removed its %s (Codex reads the token from coda's auth command)", where, providerTable, strings.Join(dropped, ", ")))
	}
	if n := commentLines(s.raw) - commentLines(out); n > 0 {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s: %d comment line(s) inside coda's tables [%s] are replaced", where, n, providerTable))
	}
	if note := s.profileNote(where); note != "" {
		plan.Notes = append(plan.Notes, note)
	}

	// The sidecar goes first: if config.toml cannot be written, the
	// originals are still known to the next run.
	if s.stored.Path != "" {
		plan.Changes = pluginkit.AppendChanged(plan.Changes, s.stored.Save(rec))
	}
	plan.Changes = pluginkit.AppendChanged(plan.Changes, configurator.Change{Path: s.path, Old: s.raw, New: out, Perm: 0o644, Backup: s.exists()})
	return plan, nil
}

// preflight tries Plan's edits on the user's file as it is, so that a
// refusal names a line of the user's file rather than of a half-edited
// one (the auth table is tried after its parent's body is replaced, as
// Plan does: dotted keys there are coda's to replace).
func preflight(raw []byte, d desired, where string) error {
	edits := []func(*tomledit.Doc) error{
		func(doc *tomledit.Doc) error { return doc.SetRootKey(keyModel, tomledit.Quote(d.model)) },
		func(doc *tomledit.Doc) error { return doc.SetRootKey(keyProvider, tomledit.Quote(ProviderID)) },
		func(doc *tomledit.Doc) error {
			if err := doc.SetTable(providerTable, d.provider); err != nil {
				return err
			}
			return doc.SetTable(authTable, d.auth)
		},
	}
	for i, edit := range edits {
		doc, err := tomledit.Parse(raw)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		err = edit(doc)
		if err == nil {
			continue
		}
		why := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "tomledit: "), ": "+tomledit.ErrConflict.Error())
		switch {
		case !errors.Is(err, tomledit.ErrConflict):
			return fmt.Errorf("%s: %v", where, err)
		case i < 2:
			return fmt.Errorf("%s: %s, which coda cannot edit safely: make it a plain top-level key, then run coda setup again", where, why)
		default:
			return fmt.Errorf("%s: %s, which coda cannot edit safely: write each provider as a [model_providers.NAME] table, then run coda setup again", where, why)
		}
	}
	return nil
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func containsKey(kvs []tomledit.KV, key string) bool {
	for _, kv := range kvs {
		if kv.Key == key {
			return true
		}
	}
	return false
}

// commentLines counts the lines that are comments.
func commentLines(b []byte) int {
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			n++
		}
	}
	return n
}

// profileNote warns when the default profile overrides coda's root keys.
func (s *state) profileNote(where string) string {
	name, _ := s.data["profile"].(string)
	if name == "" {
		return ""
	}
	profiles, _ := s.data["profiles"].(map[string]any)
	p, _ := profiles[name].(map[string]any)
	var keys []string
	for _, k := range RootKeys {
		if _, ok := p[k]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: your default profile %q sets %s, which wins over coda's: use codex --profile or edit that profile", where, name, strings.Join(keys, " and "))
}

// PlanRemove deletes coda's tables and restores the user's root keys.
func (pl Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Info().Name}
	s, err := load(env)
	if err != nil {
		return plan, err
	}
	rec := s.rec.File(s.path)
	if rec == nil {
		if s.rec == nil && !s.hasCodaTable() {
			return plan, nil
		}
		// coda's state was lost: its table is coda's, and so are the root
		// keys that hold coda's values; others are kept as they are.
		rec = &pluginkit.FileRecord{Path: s.path}
		ours := map[string]string{keyProvider: ProviderID}
		if d, err := want(t); err == nil {
			ours[keyModel] = d.model
		}
		for _, k := range RootKeys {
			v, ok := s.doc.RootKey(k)
			rec.Keep(pluginkit.Key{k}, v, ok && decode(v) != ours[k])
		}
	}
	if s.exists() {
		doc := s.doc
		for _, k := range RootKeys {
			cur, had := doc.RootKey(k)
			orig, ok := rec.Original(k)
			switch {
			case !ok:
				doc.DeleteRootKey(k)
			case !had || cur != orig:
				if err := doc.SetRootKey(k, orig); err != nil {
					return plan, fmt.Errorf("%s: cannot restore %s: %v", pluginkit.Display(env, s.path), k, err)
				}
			}
		}
		if _, err := doc.DeleteTable(providerTable, true); err != nil {
			return plan, fmt.Errorf("%s: %v", pluginkit.Display(env, s.path), err)
		}
		out := doc.Bytes()
		var left map[string]any
		if err := toml.Unmarshal(out, &left); err == nil {
			if mp, _ := left["model_providers"].(map[string]any); mp[ProviderID] != nil {
				return plan, fmt.Errorf("%s defines %s outside its own table (dotted keys or an inline table), which coda cannot remove safely: delete those lines by hand", pluginkit.Display(env, s.path), providerTable)
			}
		}
		if rec.Created && strings.TrimSpace(string(out)) == "" {
			out = nil
		}
		plan.Changes = pluginkit.AppendChanged(plan.Changes, configurator.Change{Path: s.path, Old: s.raw, New: out, Backup: true})
	}
	// The sidecar goes last, once config.toml is restored.
	if s.rec != nil {
		plan.Changes = append(plan.Changes, s.stored.Remove())
	}
	return plan, nil
}

// Status compares config.toml with what Plan would write.
func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	s, err := load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	d, err := want(t)
	if err != nil {
		return configurator.Status{}, err
	}
	where := pluginkit.Display(env, s.path)
	active, _ := s.data[keyProvider].(string)
	if active != "" && active != ProviderID {
		if p, ok := s.provider(active); ok {
			if base, _ := p["base_url"].(string); pluginkit.PointsAt(base, t.Host, t.Endpoints.Responses) {
				return configurator.Status{State: configurator.StateForeign,
					Detail: fmt.Sprintf("%s: model provider %q points at this workspace without coda's auth command", where, active)}, nil
			}
		}
	}
	if s.rec != nil || s.hasCodaTable() {
		if diff := s.difference(d); diff != "" {
			return configurator.Status{State: configurator.StateStale, Detail: where + ": " + diff + ": run coda setup codex"}, nil
		}
		return configurator.Status{State: configurator.StateConfigured,
			Detail: fmt.Sprintf("%s: provider %s runs coda token for %s against %s", where, ProviderID, t.Profile, t.Endpoints.Responses)}, nil
	}
	if !pl.Detect(env).Installed {
		return configurator.Status{State: configurator.StateAbsent, Detail: "codex is not on PATH"}, nil
	}
	return configurator.Status{State: configurator.StateNotConfigured, Detail: where + " has no coda provider"}, nil
}

// difference says how config.toml differs from d, or "".
func (s *state) difference(d desired) string {
	if v, _ := s.data[keyProvider].(string); v != ProviderID {
		return "model_provider is not " + ProviderID
	}
	if v, _ := s.data[keyModel].(string); v != d.model {
		return fmt.Sprintf("model is not %q", d.model)
	}
	cur, ok := s.doc.Table(providerTable)
	if !ok {
		return "no [" + providerTable + "] table"
	}
	if base := decodeKVs(cur)["base_url"]; base != decodeKVs(d.provider)["base_url"] {
		return fmt.Sprintf("Codex is pointed at another endpoint than %s", decodeKVs(d.provider)["base_url"])
	}
	if !sameKVs(cur, d.provider) {
		return "[" + providerTable + "] differs from coda's"
	}
	if cur, ok := s.doc.Table(authTable); !ok || !sameKVs(cur, d.auth) {
		return "[" + authTable + "] differs from coda's"
	}
	return ""
}
