package docs

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/coda-cli/coda/internal/exit"
)

// manPages renders one page per visible command, keyed by file name
// (coda-service-install.1).
func manPages(root *cobra.Command, date time.Time) map[string][]byte {
	pages := map[string][]byte{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !documented(c) {
			return
		}
		pages[manName(c)+".1"] = []byte(manPage(c, date))
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return pages
}

// documented reports whether c gets a page: cobra's help and completion
// commands and hidden ones do not.
func documented(c *cobra.Command) bool {
	return c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand() || !c.HasParent()
}

// manName is the page's name: the command path joined by dashes.
func manName(c *cobra.Command) string { return strings.ReplaceAll(c.CommandPath(), " ", "-") }

// topLevel is the first word after coda ("" for coda itself): the
// ENVIRONMENT and FILES entries say which commands they concern by it.
func topLevel(c *cobra.Command) string {
	parts := strings.Fields(c.CommandPath())
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

func manPage(c *cobra.Command, date time.Time) string {
	var m roff
	m.raw(`.\" Generated from coda's command tree by go run ./cmd/gen-docs: do not edit.`)
	m.raw(fmt.Sprintf(`.TH "%s" "1" "%s" "coda" "coda manual"`, strings.ToUpper(manName(c)), date.Format("2006-01-02")))
	// No hyphenation and a ragged right edge: paths, flags and variable
	// names stay whole and copyable.
	m.raw(".nh")
	m.raw(".ad l")

	m.section("NAME")
	m.text(manName(c) + " - " + c.Short)

	m.section("SYNOPSIS")
	if c.Runnable() {
		m.synopsis(c.CommandPath(), strings.TrimPrefix(c.UseLine(), c.CommandPath()))
	}
	if c.HasAvailableSubCommands() {
		if c.Runnable() {
			m.raw(".br")
		}
		m.synopsis(c.CommandPath(), " COMMAND [flags]")
	}

	m.section("DESCRIPTION")
	desc := c.Long
	if desc == "" {
		desc = c.Short + "."
	}
	// The root's help ends with the exit codes, which have their section.
	desc = strings.TrimSpace(strings.TrimSuffix(desc, exit.Help()))
	m.help(desc)

	if c.HasAvailableSubCommands() {
		m.section("COMMANDS")
		for _, sub := range c.Commands() {
			if documented(sub) {
				m.item(`\fB` + escape(sub.Name()) + `\fR`)
				m.text(sub.Short + "; see " + manName(sub) + "(1).")
			}
		}
	}

	own := visibleFlags(c.NonInheritedFlags())
	inherited := visibleFlags(c.InheritedFlags())
	if len(own)+len(inherited) > 0 {
		m.section("OPTIONS")
		for _, fl := range own {
			m.flag(fl)
		}
		if len(inherited) > 0 {
			if len(own) > 0 {
				m.subsection("Inherited options")
			}
			for _, fl := range inherited {
				m.flag(fl)
			}
		}
	}

	if ex := strings.TrimRight(c.Example, " \n"); ex != "" {
		m.section("EXAMPLES")
		m.verbatim(strings.Split(ex, "\n"))
	}

	m.section("EXIT STATUS")
	intro := "coda exits with:"
	if note, ok := exitNotes[c.CommandPath()]; ok {
		intro = note
	}
	m.text(intro)
	for i, e := range exit.Documented {
		if i == 1 {
			m.raw(".PD 0") // one line per code, no blank lines between
		}
		m.item(fmt.Sprintf(`\fB%d\fR`, e.Code))
		m.text(e.Text)
	}
	m.raw(".PD")

	m.section("ENVIRONMENT")
	m.entries(c, "ENVIRONMENT", environment, "environment variables")
	m.section("FILES")
	m.entries(c, "FILES", files, "files")

	m.section("SEE ALSO")
	var see []string
	if c.HasParent() {
		see = append(see, manName(c.Parent()))
	}
	for _, sub := range c.Commands() {
		if documented(sub) {
			see = append(see, manName(sub))
		}
	}
	if c.HasParent() && c.Parent().HasParent() {
		see = append(see, "coda")
	}
	refs := make([]string, len(see))
	for i, s := range see {
		refs[i] = `\fB` + escape(s) + `\fR(1)`
	}
	m.raw(strings.Join(refs, ", "))
	return m.b.String()
}

// exitNotes replace "coda exits with:" for commands whose exit status is
// not only coda's own.
var exitNotes = map[string]string{
	"coda exec": "Once COMMAND runs, coda exec exits with its exit code (128+N when signal N ended it; 126 when it cannot be run, 127 when it is not found). Before, coda exec exits with:",
}

// visibleFlags are a flag set's flags without the hidden ones and -h.
func visibleFlags(fs *pflag.FlagSet) []*pflag.Flag {
	var out []*pflag.Flag
	fs.VisitAll(func(fl *pflag.Flag) {
		if !fl.Hidden && fl.Name != "help" {
			out = append(out, fl)
		}
	})
	return out
}

// entry is one ENVIRONMENT variable or FILES path.
type entry struct {
	names []string // shown in bold, comma-separated; none for a paragraph
	text  string
	// cmds are the top-level commands whose pages show the entry; nil
	// means every page but those in quiet. coda(1) shows every entry.
	cmds []string
}

// quiet are the commands that read no variable and no file of coda's:
// their pages say so (from notes) instead of listing entries.
var quiet = map[string]map[string]string{
	"demo": {
		"ENVIRONMENT": "coda demo reads none of coda's variables: it runs in a temporary config dir, with every CODA_* and DATABRICKS_* variable unset. See coda(1).",
		"FILES":       "coda demo reads and writes only a temporary config dir, which it removes at the end. See coda(1).",
	},
	"version": {
		"ENVIRONMENT": "coda version reads no environment variables. See coda(1).",
		"FILES":       "coda version reads no files. See coda(1).",
	},
}

var timing = []string{"login", "rotate", "token", "setup", "exec", "doctor"}

var environment = []entry{
	{names: []string{"CODA_CONFIG_DIR"}, text: "coda's config dir, where its settings and state live (see FILES). When it is unset: $XDG_CONFIG_HOME/coda, else ~/.config/coda; on Windows %AppData%\\coda."},
	{names: []string{"XDG_CONFIG_HOME"}, text: "Read when CODA_CONFIG_DIR is unset, and only as an absolute path: the config dir is then $XDG_CONFIG_HOME/coda. Not read on Windows."},
	{names: []string{"APPDATA"}, text: "On Windows, the config dir is %AppData%\\coda when CODA_CONFIG_DIR is unset."},
	{names: []string{"CODA_PROFILE"}, text: "The profile to act on when -p is not given, over profile in config.yaml. Default: default."},
	{names: []string{"CODA_OUTPUT"}, text: "The output format, text or json, when -o is not given, over output in config.yaml. Output other programs read as text (coda token's token, coda env's lines) turns to JSON only with -o json."},
	{names: []string{"CODA_STORAGE"}, text: "Where coda login keeps the token, keyring or file, when --storage is not given, over storage in config.yaml.", cmds: []string{"login"}},
	{names: []string{"CODA_DEBUG"}, text: "1 logs each workspace request to stderr, as --debug does (never a token); -q wins over it."},
	{names: []string{"CODA_LIFETIME"}, text: "The lifetime of each new token, a duration such as 15m (--lifetime; lifetime in config.yaml).", cmds: timing},
	{names: []string{"CODA_INTERVAL"}, text: "The time between the watcher's rotations (--interval; interval in config.yaml).", cmds: timing},
	{names: []string{"CODA_GRACE"}, text: "How long an old token lives on after a rotation (--grace; grace in config.yaml).", cmds: timing},
	{names: []string{"CODA_MIN_TTL"}, text: "The least time a token coda token hands out has left, else it rotates first (--min-ttl; min-ttl in config.yaml).", cmds: timing},
	{text: "For these timing settings a flag wins over its CODA_* variable, which wins over config.yaml, which wins over the policy stored in the profile. Only flags are stored; the variables and config.yaml never are.", cmds: timing},
	{names: []string{"NO_COLOR"}, text: "When set, coda setup --dry-run prints its diffs without colour.", cmds: []string{"setup"}},
	{names: []string{"SHELL"}, text: "The shell whose syntax coda env prints when --shell is not given, and whose rc file coda setup --shell-rc edits.", cmds: []string{"env", "setup"}},
	{names: []string{"DATABRICKS_HOST"}, text: "The workspace URL coda login uses when --host is not given.", cmds: []string{"login"}},
	{names: []string{"DATABRICKS_CONFIG_PROFILE"}, text: "The ~/.databrickscfg profile coda login logs in with when none of --host, --token-stdin, --revoke-pasted and --databricks-profile is given.", cmds: []string{"login"}},
	{names: []string{"DATABRICKS_CONFIG_FILE"}, text: "The Databricks CLI's config file, instead of ~/.databrickscfg: coda login --databricks-profile reads its profile there and coda setup databricks writes one there.", cmds: []string{"login", "setup"}},
	{names: []string{"CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "PI_CODING_AGENT_DIR", "CRUSH_GLOBAL_CONFIG", "GIT_CONFIG_GLOBAL"}, text: "Where the agents keep their config: coda setup writes, and coda status and coda doctor look, where the agent itself reads, as these move it.", cmds: []string{"setup", "status", "doctor"}},
	{names: []string{"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"}, text: "coda status and coda doctor warn when a proxy variable is set and NO_PROXY does not cover 127.0.0.1: agents that honour it would send their requests for coda's loopback proxy through it.", cmds: []string{"status", "doctor"}},
}

var files = []entry{
	{names: []string{"~/.config/coda/"}, text: "coda's config dir (mode 0700); CODA_CONFIG_DIR or XDG_CONFIG_HOME move it, and on Windows it is %AppData%\\coda. The paths below are in it."},
	{names: []string{"~/.config/coda/credentials.json"}, text: "The profiles: each one's workspace host and user, coda's current token unless the profile keeps it in the system keyring (the file is 0600), the ids of old tokens waiting to be deleted, the timing policy, the proxy's port and the tools set up. Versioned JSON, replaced atomically and written only under its lock."},
	{names: []string{"~/.config/coda/config.yaml"}, text: "Optional settings, read and never written: profile, output, storage, lifetime, interval, grace, min-ttl (durations such as 15m) and models (PLUGIN or PLUGIN.ROLE: serving-endpoint name). An unknown key is an error that names it."},
	{names: []string{"~/.config/coda/locks/"}, text: "Lock and pid files: the credentials lock, one lock per profile held across a rotation, each watcher's lock and pid, each proxy's pid, and the lock on the tools' config files."},
	{names: []string{"~/.config/coda/tokens/"}, text: "Token files (0600) for tools that read a literal token from a file (OpenCode), rewritten at every rotation before the old token is deleted.", cmds: []string{"setup", "rotate", "revoke"}},
	{names: []string{"~/.config/coda/proxy/PROFILE.key"}, text: "The local key of the profile's loopback proxy (0600): what agents in proxy mode hold instead of a Databricks token. It never rotates.", cmds: []string{"setup", "proxy", "env", "exec", "rotate", "status", "doctor", "service"}},
	{names: []string{"~/.config/coda/env/"}, text: "Shell snippets with the settings of tools configured through environment variables (GitHub Copilot CLI); the block coda setup --shell-rc adds to your shell's rc file loads them.", cmds: []string{"setup", "env"}},
	{names: []string{"~/.config/coda/plugins/"}, text: "Records of the values coda overwrote in tools' config files, one PLUGIN.json each, so coda setup --remove restores them.", cmds: []string{"setup"}},
	{names: []string{"~/.config/coda/cache/models-PROFILE.json"}, text: "The serving endpoints coda setup (checking --model names) and coda doctor last listed for the profile: shell completion offers them for --model, for a day, and never asks the workspace itself.", cmds: []string{"setup", "doctor"}},
	{names: []string{"~/.databrickscfg"}, text: "The Databricks CLI's profiles (DATABRICKS_CONFIG_FILE moves it): coda login --databricks-profile reads one, coda setup databricks writes one.", cmds: []string{"login", "setup"}},
	{names: []string{"~/.claude/settings.json", "~/.codex/config.toml", "~/.gemini/.env"}, text: "For example: the agents' own config files. coda setup merges into them, keeping every key it does not own and a .bak of each file it changes; coda setup --remove takes out exactly what it wrote.", cmds: []string{"setup"}},
}

// entries writes the entries of list that concern c's page, in section
// (what names the section's things in the closing pointer to coda(1)).
func (m *roff) entries(c *cobra.Command, section string, list []entry, what string) {
	top := topLevel(c)
	if note, ok := quiet[top][section]; ok {
		m.text(note)
		return
	}
	first := true
	for _, e := range list {
		if top != "" && e.cmds != nil && !slices.Contains(e.cmds, top) {
			continue
		}
		if len(e.names) == 0 {
			m.paragraph(!first)
		} else {
			bold := make([]string, len(e.names))
			for i, n := range e.names {
				bold[i] = `\fB` + escape(n) + `\fR`
			}
			m.item(strings.Join(bold, ", "))
		}
		m.text(e.text)
		first = false
	}
	if top != "" {
		m.paragraph(!first)
		m.text("See coda(1) for all of coda's " + what + ".")
	}
}
