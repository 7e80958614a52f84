// Package databricks is coda's configurator for the Databricks CLI and
// every Databricks SDK: it writes one profile of ~/.databrickscfg (or
// $DATABRICKS_CONFIG_FILE) with the workspace host, coda's current token
// and auth_type = pat, and rewrites the token after every rotation.
//
// coda owns three keys of one section (host, token, auth_type) and nothing
// else in the file; the file is edited line by line with iniedit, so other
// profiles, keys, comments and blank lines stay byte for byte. A section
// that holds someone else's credentials or points at another workspace is
// refused, never taken over. What coda wrote, and what it overwrote, is
// recorded in a sidecar (StateDir/plugins/databricks.json) so that remove
// puts the file back as it was.
package databricks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coda-cli/coda/internal/merge/iniedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Keys coda owns in its section.
const (
	keyHost     = "host"
	keyToken    = "token"
	keyAuthType = "auth_type"
	authTypePAT = "pat"
)

// OwnedKeys are the keys coda writes into its profile, in the order it adds
// them.
var OwnedKeys = []string{keyHost, keyToken, keyAuthType}

// settingsSection is reserved by the SDK and the CLI for tool settings
// (default_profile); it is never a profile.
const settingsSection = "__settings__"

// OptionProfile is the Target option naming the section (coda setup
// databricks --databricks-profile NAME); the default is DEFAULT.
const OptionProfile = "profile"

// Plugin configures ~/.databrickscfg.
type Plugin struct{}

// New returns the databricks plugin.
func New() configurator.Configurator { return Plugin{} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        "databricks",
		Description: "Databricks CLI and SDK profile in ~/.databrickscfg (host, token, auth_type = pat)",
		Delivery:    configurator.DeliveryLiteral,
		InAll:       true,
		Binaries:    []string{"databricks"},
	}
}

// ConfigPath is the file the CLI and the SDKs read: $DATABRICKS_CONFIG_FILE
// or ~/.databrickscfg. A leading ~ is expanded as the SDK does.
func ConfigPath(env configurator.Env) string {
	if p := env.Getenv("DATABRICKS_CONFIG_FILE"); p != "" {
		if p == "~" || strings.HasPrefix(p, "~/") {
			p = filepath.Join(env.Home, p[1:])
		}
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return filepath.Join(env.Home, ".databrickscfg")
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	return pluginkit.Detect(env, pl.Info(), ConfigPath(env))
}

// state is what Plan, PlanRemove and Status read.
type state struct {
	path    string // the config file
	shown   string // the path as shown to the user (~/...)
	section string
	old     []byte // nil when the file does not exist
	doc     *iniedit.Doc
	rec     *pluginkit.Record // coda's record of the sections it wrote
	stored  pluginkit.Sidecar // the sidecar's file, as found
	entry   *entry            // coda's record of the section, or nil
}

func load(env configurator.Env, t configurator.Target) (*state, error) {
	s := &state{path: ConfigPath(env), section: t.Option(OptionProfile, iniedit.DefaultSection)}
	s.shown = pluginkit.Display(env, s.path)
	if err := validSection(s.section); err != nil {
		return nil, err
	}
	data, err := pluginkit.ReadOptional(s.path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.shown, errors.Unwrap(err))
	}
	s.old = data
	if s.doc, err = iniedit.Parse(data); err != nil {
		return nil, pluginkit.Malformed(env, s.path, "is not a valid INI file", strings.TrimPrefix(err.Error(), "iniedit: "))
	}
	if s.rec, s.stored, err = pluginkit.LoadRecord(env, pluginkit.RecordFormat{Plugin: "databricks", Legacy: legacyRecord}); err != nil {
		return nil, err
	}
	if s.rec == nil {
		s.rec = pluginkit.NewRecord()
	}
	s.entry = find(s.rec, s.path, s.section)
	return s, nil
}

func validSection(name string) error {
	switch {
	case name == settingsSection:
		return fmt.Errorf("%s is reserved for Databricks tool settings, not a profile: pick another with coda setup databricks --databricks-profile NAME", settingsSection)
	case strings.TrimSpace(name) != name || strings.ContainsAny(name, "[]\r\n") || pluginkit.HasControl(name):
		return fmt.Errorf("%q cannot be a profile name in ~/.databrickscfg: pick another with coda setup databricks --databricks-profile NAME", name)
	}
	return nil
}

// NormalizeHost makes workspace URLs comparable: scheme added when missing
// (the SDK assumes https), lower case, no trailing slash.
func NormalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if h != "" && !strings.Contains(h, "://") {
		h = "https://" + h
	}
	return strings.TrimRight(h, "/")
}

// foreignCredentials returns the keys of a section that authenticate some
// other way than coda's PAT: a token (when coda did not write it is the
// caller's call), basic auth, OAuth service principals, Azure, Google,
// OIDC and metadata-service settings, and an auth_type other than pat.
func foreignCredentials(kvs []iniedit.KeyValue) []string {
	var found []string
	for _, kv := range kvs {
		k := kv.Key
		switch {
		case k == "client_id", k == "client_secret", k == "username", k == "password",
			k == "metadata_service_url", k == "databricks_id_token_filepath", k == "oidc_token_env",
			strings.HasPrefix(k, "azure_"), strings.HasPrefix(k, "google_"):
			found = append(found, k)
		case k == keyAuthType && kv.Value != authTypePAT:
			found = append(found, "auth_type = "+kv.Value)
		}
	}
	return found
}

// Plan writes host, token and auth_type = pat into the section, creating
// it (and the file) when missing. With an empty Target.Token the token key
// is removed: that is how coda revoke takes it out.
func (pl Plugin) Plan(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Info().Name}
	s, err := load(env, t)
	if err != nil {
		return plan, err
	}
	if t.Host == "" {
		return plan, errors.New("the profile has no workspace host: run coda login")
	}
	host := NormalizeHost(t.Host)
	kvs, exists := s.doc.SectionKeys(s.section)
	current := kvMap(kvs)
	e := s.entry
	retry := fmt.Sprintf("pick another with coda setup databricks --databricks-profile %s", suggestProfile(s.doc, s.section))

	if e != nil && e.profile() != t.Profile && exists {
		return plan, fmt.Errorf("%s: the [%s] profile is coda's for its profile %q; %s", s.shown, s.section, e.profile(), retry)
	}
	// A section coda did not write must be empty of credentials and point
	// at this workspace (or nowhere) before coda adopts it.
	if exists && e == nil {
		if h, ok := current[keyHost]; ok && NormalizeHost(h) != host {
			return plan, fmt.Errorf("%s already has a [%s] profile for %s; %s", s.shown, s.section, NormalizeHost(h), retry)
		}
		creds := foreignCredentials(kvs)
		if _, ok := current[keyToken]; ok {
			creds = append([]string{"a token"}, creds...)
		}
		if len(creds) > 0 {
			return plan, fmt.Errorf("%s already has a [%s] profile with its own credentials (%s); %s", s.shown, s.section, strings.Join(creds, ", "), retry)
		}
	}
	// A token in coda's section that coda did not write is the user's.
	if tok, ok := current[keyToken]; ok && e != nil && exists && !e.wrote(tok) && tok != t.Token {
		return plan, fmt.Errorf("%s: the [%s] profile holds a token coda did not write; %s, or remove that token", s.shown, s.section, retry)
	}

	adopted := e == nil && exists
	if e == nil || !exists {
		// A new record: for a section coda creates, or one it adopts.
		createdFile := s.old == nil || s.rec.File(s.path) != nil && s.rec.File(s.path).Created
		if e != nil {
			e.drop(s.rec)
		}
		e = addEntry(s.rec, s.path, s.section, createdFile, !exists)
		for _, k := range OwnedKeys {
			v, ok := current[k]
			e.file.Keep(pluginkit.Key{s.section, k}, v, ok)
		}
		if exists {
			plan.Notes = append(plan.Notes, fmt.Sprintf("coda takes over the existing [%s] profile in %s; coda setup --remove puts it back", s.section, s.shown))
		}
	}
	e.sec.SetFact(factProfile, t.Profile)
	e.setHost(host)

	// structural is set by any edit other than the token's value: only those
	// are worth a .bak (a rotation's .bak would only keep a dead token).
	structural := !exists || adopted
	if h, ok := current[keyHost]; !ok || NormalizeHost(h) != host {
		structural = true
		if err := s.doc.Set(s.section, keyHost, t.Host); err != nil {
			return plan, fmt.Errorf("%s: %w", s.shown, err)
		}
	}
	if t.Token == "" {
		s.doc.Delete(s.section, keyToken)
	} else {
		if err := s.doc.Set(s.section, keyToken, t.Token); err != nil {
			return plan, fmt.Errorf("%s: the token cannot be written to [%s]", s.shown, s.section)
		}
		e.remember(t.Token)
	}
	if current[keyAuthType] != authTypePAT {
		structural = true
		if err := s.doc.Set(s.section, keyAuthType, authTypePAT); err != nil {
			return plan, fmt.Errorf("%s: %w", s.shown, err)
		}
	}
	if dp, ok := s.doc.Get(settingsSection, "default_profile"); ok && strings.TrimSpace(dp) != "" && strings.TrimSpace(dp) != s.section {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s names [%s] as the default profile: tools use coda's [%s] only when given --profile %s",
			s.shown, strings.TrimSpace(dp), s.section, s.section))
	}

	// The sidecar first: if the config write then fails, coda still knows
	// the section is its own (it keeps the previous token's hash too).
	plan.Changes = []configurator.Change{s.stored.Save(s.rec), {
		Path: s.path, Old: s.old, New: s.doc.Bytes(),
		Perm: configurator.SecretPerm, Secret: true,
		Backup: s.old != nil && structural,
	}}
	return plan, nil
}

// suggestProfile proposes a free profile name for the refusal message.
func suggestProfile(doc *iniedit.Doc, taken string) string {
	names := doc.Sections()
	for _, n := range []string{"coda", "coda-2", "coda-3"} {
		if n != taken && !slices.Contains(names, n) {
			return n
		}
	}
	return "NAME"
}

func kvMap(kvs []iniedit.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// PlanRemove takes coda's keys out of its section, puts back values coda
// overwrote, and deletes the section (and the file) when coda created them
// and nothing else is left. Keys the user changed since are left alone.
func (pl Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: pl.Info().Name}
	s, err := load(env, t)
	if err != nil {
		return plan, err
	}
	e := s.entry
	if e == nil {
		return plan, nil
	}
	current, exists := s.doc.Section(s.section)
	if exists {
		var kept []string
		for _, k := range OwnedKeys {
			v, ok := current[k]
			if !ok {
				continue
			}
			if !codaValue(e, k, v) {
				kept = append(kept, k)
				continue
			}
			if orig, had := e.original(k); had {
				if err := s.doc.Set(s.section, k, orig); err != nil {
					return plan, fmt.Errorf("%s: %w", s.shown, err)
				}
			} else {
				s.doc.Delete(s.section, k)
			}
		}
		if len(kept) > 0 {
			plan.Notes = append(plan.Notes, fmt.Sprintf("kept %s in [%s] of %s: changed since coda wrote it", strings.Join(kept, ", "), s.section, s.shown))
		}
		if kvs, _ := s.doc.SectionKeys(s.section); e.sec.Created && len(kvs) == 0 {
			s.doc.DeleteSection(s.section)
		}
	}
	e.drop(s.rec)
	side := s.stored.Save(s.rec)
	if s.old != nil {
		c := configurator.Change{Path: s.path, Old: s.old, New: s.doc.Bytes(), Perm: configurator.SecretPerm, Secret: true, Backup: true}
		if e.file.Created && len(strings.TrimSpace(string(c.New))) == 0 {
			c.New, c.Backup = nil, false
		}
		plan.Changes = append(plan.Changes, c)
	}
	// The sidecar last: if the config write fails, coda still knows what
	// it owns and a second remove finishes the job.
	plan.Changes = append(plan.Changes, side)
	return plan, nil
}

// codaValue reports whether v is what coda wrote for key k.
func codaValue(e *entry, k, v string) bool {
	switch k {
	case keyHost:
		return NormalizeHost(v) == e.host()
	case keyToken:
		return e.wrote(v)
	case keyAuthType:
		return v == authTypePAT
	}
	return false
}

// Status compares coda's section with what Plan would write. The state is
// never absent: the profile serves every SDK consumer, with or without the
// CLI.
func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	s, err := load(env, t)
	if err != nil {
		return configurator.Status{}, err
	}
	host := NormalizeHost(t.Host)
	current, exists := s.doc.Section(s.section)
	e := s.entry
	if e != nil && e.profile() == t.Profile && exists && hasAny(current, OwnedKeys) {
		if tok, ok := current[keyToken]; ok && !e.wrote(tok) && tok != t.Token {
			return configurator.Status{State: configurator.StateForeign,
				Detail: fmt.Sprintf("[%s] in %s holds a token coda did not write", s.section, s.shown)}, nil
		}
		var differs []string
		if NormalizeHost(current[keyHost]) != host {
			differs = append(differs, "host "+orNone(NormalizeHost(current[keyHost])))
		}
		if tok, ok := current[keyToken]; ok != (t.Token != "") || tok != t.Token {
			switch {
			case !ok:
				differs = append(differs, "no token")
			case t.Token == "":
				differs = append(differs, "a token coda has revoked")
			default:
				differs = append(differs, "an older token")
			}
		}
		if current[keyAuthType] != authTypePAT {
			differs = append(differs, "auth_type "+orNone(current[keyAuthType]))
		}
		if len(differs) > 0 {
			return configurator.Status{State: configurator.StateStale,
				Detail: fmt.Sprintf("[%s] in %s has %s: run coda setup databricks", s.section, s.shown, strings.Join(differs, ", "))}, nil
		}
		return configurator.Status{State: configurator.StateConfigured,
			Detail: fmt.Sprintf("[%s] in %s points at %s with coda's token", s.section, s.shown, host)}, nil
	}
	for _, name := range s.doc.Sections() {
		if name == settingsSection {
			continue
		}
		if h, ok := s.doc.Get(name, keyHost); ok && NormalizeHost(h) == host {
			other := find(s.rec, s.path, name)
			detail := fmt.Sprintf("[%s] in %s points at %s, not written by coda", name, s.shown, host)
			if other != nil {
				detail = fmt.Sprintf("[%s] in %s points at %s: coda wrote it for its profile %q", name, s.shown, host, other.profile())
			}
			return configurator.Status{State: configurator.StateForeign, Detail: detail}, nil
		}
	}
	detail := fmt.Sprintf("no [%s] profile in %s", s.section, s.shown)
	if exists {
		detail = fmt.Sprintf("[%s] in %s is not coda's", s.section, s.shown)
	}
	if d := pl.Detect(env); !d.Installed {
		detail += " (the databricks CLI is not on PATH; SDKs read the file too)"
	}
	return configurator.Status{State: configurator.StateNotConfigured, Detail: detail}, nil
}

func hasAny(m map[string]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// What coda remembers about a section it wrote, beside the originals of
// the keys it overwrote: facts of the section's record.
const (
	// factProfile is the coda profile whose token the section holds.
	factProfile = "coda_profile"
	// factTokens are the hex SHA-256 sums of the tokens coda last wrote
	// (never the tokens), newest first, separated by spaces.
	factTokens = "token_sha256"
)

// keepHashes is how many of the tokens coda last wrote a section remembers:
// the newest and the one before, so a rotation whose config write failed
// after the sidecar was written still finds coda's token in the file.
const keepHashes = 2

// entry is coda's record of one section it wrote: the section's record in
// the record of its file, whose keys [SECTION, KEY] hold the originals
// (and the host's, the host coda wrote, normalised).
type entry struct {
	file *pluginkit.FileRecord
	sec  *pluginkit.ParentRecord
}

func find(rec *pluginkit.Record, file, section string) *entry {
	f := rec.File(file)
	if sec := f.Parent(section); sec != nil {
		return &entry{file: f, sec: sec}
	}
	return nil
}

// addEntry records a section of file; createdFile says coda created the
// file for one of its sections, so that remove may delete it once empty.
func addEntry(rec *pluginkit.Record, file, section string, createdFile, createdSection bool) *entry {
	f := rec.File(file)
	if f == nil {
		f = rec.AddFile(file, createdFile)
	}
	f.Created = f.Created || createdFile
	return &entry{file: f, sec: f.AddParent(pluginkit.Key{section}, createdSection)}
}

// drop forgets the section, and its file once no section of it is left.
func (e *entry) drop(rec *pluginkit.Record) {
	e.file.Drop(e.sec.Key)
	if len(e.file.Parents) == 0 {
		rec.DropFile(e.file.Path)
	}
}

func (e *entry) name() string    { return e.sec.Key[0] }
func (e *entry) profile() string { return e.sec.Facts[factProfile] }

// original is the value key had before coda adopted the section.
func (e *entry) original(key string) (string, bool) { return e.file.Original(e.name(), key) }

// host is the host coda last wrote, normalised.
func (e *entry) host() string {
	if k := e.file.Key(e.name(), keyHost); k != nil {
		return k.Wrote
	}
	return ""
}

func (e *entry) setHost(host string) {
	k := e.file.Key(e.name(), keyHost)
	if k == nil {
		k = e.file.Keep(pluginkit.Key{e.name(), keyHost}, "", false)
	}
	k.Wrote = host
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wrote reports whether token is one coda wrote into the section.
// Rotations write the token through coda's sink alone, so the current
// token (the target's) counts as coda's too: callers check both.
func (e *entry) wrote(token string) bool {
	return slices.Contains(strings.Fields(e.sec.Facts[factTokens]), hashToken(token))
}

// remember records token as the newest coda wrote.
func (e *entry) remember(token string) {
	if token == "" {
		return
	}
	h := hashToken(token)
	hashes := []string{h}
	for _, old := range strings.Fields(e.sec.Facts[factTokens]) {
		if old != h && len(hashes) < keepHashes {
			hashes = append(hashes, old)
		}
	}
	e.sec.SetFact(factTokens, strings.Join(hashes, " "))
}
