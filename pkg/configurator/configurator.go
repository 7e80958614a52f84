// Package configurator is coda's plugin interface: one Configurator per tool
// (an agent CLI, the Databricks CLI, git) that coda points at a workspace.
//
// A plugin never writes files itself during planning: Plan and PlanRemove
// return the exact file changes, which coda shows for --dry-run and then
// applies atomically, with backups, under its rules (0600 for secrets, never
// clobbering what it does not own). A third party implements Configurator
// and runs the configuratortest contract suite against it.
package configurator

import (
	"bytes"
	"os"
	"time"

	"github.com/coda-cli/coda/internal/sink"
)

// Delivery is how a tool receives coda's token.
type Delivery int

const (
	// DeliveryHelper: the tool runs a command (coda token) whenever it
	// needs a token, so its config holds no secret and follows rotations.
	DeliveryHelper Delivery = iota
	// DeliveryLiteral: the token is written into a file the tool reads;
	// coda rewrites it after every rotation, before the old token dies.
	DeliveryLiteral
	// DeliveryNone: the tool needs no token (git identity).
	DeliveryNone
)

func (d Delivery) String() string {
	switch d {
	case DeliveryHelper:
		return "helper"
	case DeliveryLiteral:
		return "literal"
	}
	return "none"
}

// State is what a plugin finds on disk.
type State string

const (
	StateAbsent        State = "absent"         // the tool is not installed
	StateNotConfigured State = "not-configured" // installed, no coda settings
	StateConfigured    State = "configured"     // coda's settings, current
	StateStale         State = "stale"          // coda's settings, out of date (host, model, token)
	StateForeign       State = "foreign"        // configured for the workspace by someone else
)

// Env is the machine a plugin works on. Plugins read the environment and
// the home directory only through it, so tests can point them anywhere.
type Env struct {
	Home     string
	Getenv   func(string) string
	LookPath func(file string) (string, error)
	// StateDir is a directory coda owns (0700) where a plugin may keep its
	// own files, such as a token file a tool reads.
	StateDir string
	// Getwd is the directory the user runs coda in (some tools read
	// project files from there); nil means os.Getwd.
	Getwd func() (string, error)
}

// Endpoints are the base URLs of the model-serving protocols, as the tools
// expect them (each tool appends its own path).
type Endpoints struct {
	Family    string // serving, ai-gateway or gateway-host
	Anthropic string // Claude Code: + /v1/messages
	Responses string // Codex: + /responses
	Gemini    string // Gemini CLI: + /v1beta/models/...
	Chat      string // OpenCode: + /chat/completions
}

// Target is what to configure a tool for.
type Target struct {
	Profile   string // coda profile
	Host      string // workspace URL, no trailing slash
	User      string // workspace user name (an email)
	Endpoints Endpoints
	// Models maps a plugin's model roles (for example "model",
	// "small_model") to serving-endpoint names; missing roles get the
	// plugin's defaults.
	Models map[string]string
	// TokenCommand prints the profile's current token: the argv of a
	// credential helper (coda token -p PROFILE --min-ttl ...).
	TokenCommand []string
	// Token is the current token, for literal-delivery plugins only.
	Token string
	// HelperRefresh is how often a credential helper must re-run
	// TokenCommand (coda's timing policy derives it from the rotation
	// grace), so running sessions switch before the old token is deleted.
	HelperRefresh time.Duration
	// Options are plugin flags (for example databricks-profile, force).
	Options map[string]string
	// Proxied is set when the tool goes through coda's loopback proxy:
	// Endpoints are on the proxy, Token and TokenCommand give the
	// profile's local key, never a Databricks token, and nothing rotates.
	Proxied bool
}

// Option returns a plugin option or def.
func (t Target) Option(name, def string) string {
	if v, ok := t.Options[name]; ok && v != "" {
		return v
	}
	return def
}

// Model returns the model for role or def.
func (t Target) Model(role, def string) string {
	if v := t.Models[role]; v != "" {
		return v
	}
	return def
}

// Change is one file's planned content. Old is nil when the file does not
// exist; New is nil when the change deletes it.
type Change struct {
	Path string
	Old  []byte
	New  []byte
	Perm os.FileMode
	// Secret marks content that holds a token: written 0600 and shown
	// redacted in diffs.
	Secret bool
	// Backup keeps the previous content in Path+".bak" before writing,
	// for a file holding the user's content. A change that deletes the
	// file never keeps one: coda deletes only what it alone wrote.
	Backup bool
}

// Changed reports whether applying the change would alter the file.
func (c Change) Changed() bool {
	if (c.Old == nil) != (c.New == nil) {
		return true
	}
	return !bytes.Equal(c.Old, c.New)
}

// Plan is a plugin's intended changes plus what a person should know.
type Plan struct {
	Plugin  string
	Changes []Change
	// Notes say what the plan cannot do or preserve (shown with --dry-run).
	Notes []string
	// Secrets are values in the changes other than coda's token that must
	// never be shown (a user's own token being moved or restored).
	Secrets []string
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	for _, c := range p.Changes {
		if c.Changed() {
			return false
		}
	}
	return true
}

// Detection says whether a tool is installed and where its files are.
type Detection struct {
	Installed bool
	Binary    string   // path of the tool's executable, if found
	Files     []string // the config files the plugin manages
}

// Status is a plugin's state plus a one-line explanation.
type Status struct {
	State  State
	Detail string
}

// Sink is one place a tool reads a literal token from: a whole file, one
// key of a .env file, or one key of one section of an INI file.
type Sink = sink.Spec

// Sink formats.
const (
	SinkFile   = sink.FormatFile
	SinkDotenv = sink.FormatDotenv
	SinkINI    = sink.FormatINI
)

// SinkDeclarer is implemented by plugins with DeliveryLiteral: Sinks names
// where the tool configured for t reads the token, so that rotations and
// revoke write only those places, never re-planning the tool's whole
// configuration. It must not read or parse any file.
type SinkDeclarer interface {
	Sinks(env Env, t Target) ([]Sink, error)
}

// Info is what coda knows about a plugin without running it.
type Info struct {
	// Name is the plugin's id on the command line (lower case).
	Name        string
	Description string
	Delivery    Delivery
	// InAll reports whether coda setup --all includes the plugin.
	InAll bool
	// Binaries are the tool's executables, the first the one Detect looks
	// for on PATH.
	Binaries []string
	// NPMPackage is the pinned npm package (name@version) coda setup
	// --install installs; "" when the tool does not come from npm.
	NPMPackage string
	// Proxy says how the tool can use coda's loopback credential proxy:
	// ProxyNever (it calls more than model serving, or needs no token),
	// ProxyWhenAll (coda setup --proxy all) or ProxyAuto (also by default:
	// a running session cannot pick up a new token by itself).
	Proxy ProxyUse
}

// ProxyUse is when a tool goes through coda's proxy.
type ProxyUse int

const (
	ProxyNever ProxyUse = iota
	ProxyWhenAll
	ProxyAuto
)

// Configurator configures one tool. Plans are carried out by Apply.
type Configurator interface {
	Info() Info
	Detect(env Env) Detection
	// Plan computes the changes that configure the tool for t. A
	// malformed existing file is an error that names it; nothing is
	// written by Plan.
	Plan(env Env, t Target) (Plan, error)
	Status(env Env, t Target) (Status, error)
	// PlanRemove computes the changes that remove exactly what coda
	// wrote, leaving everything else as the user had it.
	PlanRemove(env Env, t Target) (Plan, error)
}

// Applier is implemented by a plugin that carries out its plans itself
// (git runs git config); every other plugin's plans are written by
// WriteChanges.
type Applier interface {
	Apply(env Env, p Plan) error
}

// Apply carries out a plan of c's, from Plan or PlanRemove.
func Apply(env Env, c Configurator, p Plan) error {
	if a, ok := c.(Applier); ok {
		return a.Apply(env, p)
	}
	return WriteChanges(env, p)
}

// EnvVar is one environment variable a tool reads.
type EnvVar struct {
	Name  string
	Value string
}

// EnvProvider is implemented by a plugin whose tool is configured through
// environment variables (GitHub Copilot CLI): EnvVars are the variables
// that point the tool configured for t at the workspace. They hold a key
// command or, for a proxied target, the proxy's URL and local key, never a
// Databricks token. coda env prints them, coda exec sets them, and the
// plugin's own plan writes them into a snippet the user's shell sources.
// EnvVars must not read or parse any file.
type EnvProvider interface {
	EnvVars(env Env, t Target) ([]EnvVar, error)
}
