// Package copilot is coda's configurator for GitHub Copilot CLI
// (@github/copilot), a tool configured only through environment variables.
//
// Copilot CLI uses a custom model provider ("BYOK") when
// COPILOT_PROVIDER_BASE_URL is set; it has no config file for one. coda
// sets (EnvVars, the one owner of this set, which coda env, coda exec and
// the snippets below all use):
//
//   - COPILOT_PROVIDER_TYPE=openai: chat completions at
//     BASE_URL/chat/completions with the key as Authorization: Bearer (type
//     anthropic would send it as x-api-key).
//   - COPILOT_PROVIDER_BASE_URL: the workspace's chat endpoint base
//     (HOST/serving-endpoints), or coda's proxy in proxy mode.
//   - COPILOT_MODEL: the serving endpoint (role "model").
//   - COPILOT_PROVIDER_API_KEY_COMMAND: coda's token command as one POSIX
//     shell command. Copilot runs it with sh -c before every model request,
//     with no cache and a 30 s timeout; a 401 makes it run the command again
//     and retry, a 403 ends the session. Since every request asks coda for
//     the current token, no refresh interval applies. In proxy mode the
//     command prints the proxy's local key.
//   - COPILOT_PROVIDER_BEARER_TOKEN="": a bearer token set anywhere else
//     wins over the key command (observed with 1.0.102); Copilot treats an
//     empty one as unset.
//
// coda does not set COPILOT_OFFLINE: a custom provider needs no GitHub
// login, and offline mode would also take GitHub sign-in, web tools, the
// GitHub MCP server and updates from users who do use GitHub.
//
// coda writes the variables into snippets in its state directory:
// env/copilot.sh (sh, bash, zsh), env/copilot.fish and env/copilot.ps1,
// each saying that coda writes it. With the plugin option shell-rc=true
// (coda setup --shell-rc) it also adds a marked block that sources the
// snippet if it exists to the rc file of the user's shell ($SHELL):
// ~/.bashrc, ${ZDOTDIR:-~}/.zshrc or ${XDG_CONFIG_HOME:-~/.config}/fish/config.fish;
// for sh and PowerShell, and without shell-rc, the plan's notes give the
// line to add. Everything outside the block stays byte for byte; the
// record (the plugin's sidecar) keeps whether coda created the rc file and
// the line breaks it put before the block, so that removing the block
// restores the file exactly and deletes a file coda created that is left
// empty. A block the user edited is replaced by coda's (with a .bak);
// broken markers are refused. Without shell-rc, setup takes coda's blocks
// out again.
package copilot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/internal/shellenv"
	"github.com/coda-cli/coda/pkg/configurator"
)

const (
	// DefaultModel is the serving endpoint for the role "model".
	DefaultModel = pluginkit.DefaultChatModel
	// OptionShellRC is the plugin option ("true") that puts coda's block
	// into the user's rc file.
	OptionShellRC = "shell-rc"

	name = "copilot"

	blockStart = "# >>> coda copilot >>>"
	blockEnd   = "# <<< coda copilot <<<"
	// blockKey names coda's block in the record of an rc file.
	blockKey = "coda copilot block"
	// factSeparator is what coda put before its block (line breaks).
	factSeparator = "separator"
)

// The variables coda sets.
const (
	VarType        = "COPILOT_PROVIDER_TYPE"
	VarBaseURL     = "COPILOT_PROVIDER_BASE_URL"
	VarModel       = "COPILOT_MODEL"
	VarKeyCommand  = "COPILOT_PROVIDER_API_KEY_COMMAND"
	VarBearerToken = "COPILOT_PROVIDER_BEARER_TOKEN"
)

// Plugin configures GitHub Copilot CLI. GOOS decides the user's shell
// when $SHELL is unset (PowerShell on Windows) and the notes for macOS.
type Plugin struct{ GOOS string }

// New returns the Copilot CLI configurator.
func New() configurator.Configurator { return Plugin{GOOS: runtime.GOOS} }

func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        name,
		Description: "GitHub Copilot CLI: COPILOT_PROVIDER_* variables with a key command it runs before every request (coda setup writes them into a snippet your shell loads)",
		Delivery:    configurator.DeliveryHelper,
		InAll:       true,
		Binaries:    []string{"copilot"},
		NPMPackage:  "@github/copilot@1.0.102",
		Proxy:       configurator.ProxyWhenAll,
	}
}

// EnvVars are the variables that point Copilot CLI at t: a key command,
// never a token.
func (Plugin) EnvVars(_ configurator.Env, t configurator.Target) ([]configurator.EnvVar, error) {
	if t.Endpoints.Chat == "" {
		return nil, errors.New("copilot: the target has no chat endpoint")
	}
	if len(t.TokenCommand) == 0 {
		return nil, errors.New("copilot: the target has no token command")
	}
	return []configurator.EnvVar{
		{Name: VarType, Value: "openai"},
		{Name: VarBaseURL, Value: t.Endpoints.Chat},
		{Name: VarModel, Value: t.Model("model", DefaultModel)},
		// Copilot runs it with sh -c: one POSIX shell command.
		{Name: VarKeyCommand, Value: pluginkit.ShellCommand(t.TokenCommand)},
		// A bearer token from elsewhere would win over the key command.
		{Name: VarBearerToken, Value: ""},
	}, nil
}

// snippet is one of coda's snippet files: the shell whose syntax it uses.
type snippet struct {
	shell shellenv.Shell
	file  string
}

// snippets are the snippet files, one per shell family.
var snippets = []snippet{
	{shellenv.Sh, "copilot.sh"},
	{shellenv.Fish, "copilot.fish"},
	{shellenv.PowerShell, "copilot.ps1"},
}

// SnippetPath is the snippet that shell s sources: STATEDIR/env/copilot.sh
// for sh, bash and zsh, copilot.fish, copilot.ps1.
func SnippetPath(env configurator.Env, s shellenv.Shell) string {
	return filepath.Join(env.StateDir, "env", snippetFor(s).file)
}

func snippetFor(s shellenv.Shell) snippet {
	for _, sn := range snippets {
		if sn.shell == s {
			return sn
		}
	}
	return snippets[0] // bash, zsh
}

// rcFile is an rc file coda can put its block into.
type rcFile struct {
	shell shellenv.Shell
	path  string
}

// rcFiles are the rc files of bash, zsh and fish.
func rcFiles(env configurator.Env) []rcFile {
	zdot := pluginkit.Getenv(env, "ZDOTDIR")
	if !filepath.IsAbs(zdot) {
		zdot = env.Home
	}
	xdg := pluginkit.Getenv(env, "XDG_CONFIG_HOME")
	if !filepath.IsAbs(xdg) {
		xdg = filepath.Join(env.Home, ".config")
	}
	return []rcFile{
		{shellenv.Bash, filepath.Join(env.Home, ".bashrc")},
		{shellenv.Zsh, filepath.Join(zdot, ".zshrc")},
		{shellenv.Fish, filepath.Join(xdg, "fish", "config.fish")},
	}
}

// shellOf is the shell an rc file belongs to, by its name.
func shellOf(path string) shellenv.Shell {
	switch filepath.Base(path) {
	case ".zshrc":
		return shellenv.Zsh
	case "config.fish":
		return shellenv.Fish
	}
	return shellenv.Bash
}

func (pl Plugin) shell(env configurator.Env) shellenv.Shell {
	return shellenv.Detect(func(k string) string { return pluginkit.Getenv(env, k) }, pl.GOOS)
}

// rcFor is the rc file coda edits for shell s; ok is false for sh and
// PowerShell, whose start-up files coda does not edit.
func rcFor(env configurator.Env, s shellenv.Shell) (rcFile, bool) {
	for _, rc := range rcFiles(env) {
		if rc.shell == s {
			return rc, true
		}
	}
	return rcFile{}, false
}

func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	var files []string
	for _, sn := range snippets {
		files = append(files, SnippetPath(env, sn.shell))
	}
	if rc, ok := rcFor(env, pl.shell(env)); ok {
		files = append(files, rc.path)
	}
	return pluginkit.Detect(env, pl.Info(), files...)
}

// SourceLine is the line that makes shell s load coda's snippet when it
// exists.
func SourceLine(env configurator.Env, s shellenv.Shell) string {
	path := SnippetPath(env, s)
	switch s {
	case shellenv.Fish:
		q := shellenv.Quote(s, path)
		return "if test -f " + q + "; source " + q + "; end"
	case shellenv.PowerShell:
		q := shellenv.Quote(s, path)
		return "if (Test-Path -LiteralPath " + q + ") { . " + q + " }"
	default:
		q := shellenv.Quote(shellenv.Sh, path)
		return "if [ -f " + q + " ]; then . " + q + "; fi"
	}
}

// block is coda's block for an rc file of shell s.
func block(env configurator.Env, s shellenv.Shell) string {
	return blockStart + "\n" +
		"# Written by coda setup --shell-rc: loads GitHub Copilot CLI's settings for the Databricks workspace.\n" +
		"# coda setup copilot --shell-rc=false (or coda setup --remove copilot) takes this block out.\n" +
		SourceLine(env, s) + "\n" +
		blockEnd + "\n"
}

// renderSnippet is the content of snippet sn for t.
func renderSnippet(sn snippet, t configurator.Target, vars []configurator.EnvVar) (string, error) {
	lines, err := shellenv.Render(sn.shell, vars)
	if err != nil {
		return "", fmt.Errorf("copilot: %w", err)
	}
	via := "the workspace"
	if t.Proxied {
		via = "coda's proxy"
	}
	head := shellenv.Comment(fmt.Sprintf("Written by coda for GitHub Copilot CLI (profile %s, through %s); coda setup copilot rewrites it.", t.Profile, via)) +
		shellenv.Comment("No token here: Copilot runs the key command before every request. coda setup --remove copilot deletes this file.")
	return head + lines, nil
}

// rcState is one rc file as found: its content and coda's block in it.
type rcState struct {
	rcFile
	raw        []byte // nil: the file does not exist
	start, end int    // coda's block is raw[start:end]
	has        bool
	// symlink: the file is a symbolic link, which coda does not replace
	// (a dotfiles manager's link, perhaps into a read-only store).
	symlink bool
}

// current is what is on disk.
type current struct {
	env      configurator.Env
	rec      *pluginkit.Record
	stored   pluginkit.Sidecar
	snippets map[string][]byte // by path; nil: missing
	rcs      []*rcState
}

func load(env configurator.Env) (*current, error) {
	if env.StateDir == "" || !filepath.IsAbs(env.StateDir) {
		return nil, errors.New("copilot: coda's state directory is not an absolute path")
	}
	c := &current{env: env, snippets: map[string][]byte{}}
	var err error
	c.rec, c.stored, err = pluginkit.LoadRecord(env, pluginkit.RecordFormat{Plugin: name})
	if err != nil {
		return nil, err
	}
	for _, sn := range snippets {
		path := SnippetPath(env, sn.shell)
		if c.snippets[path], err = pluginkit.ReadShown(env, path); err != nil {
			return nil, err
		}
	}
	// The rc files of every shell coda knows, and any other file its
	// record names (a .zshrc under an earlier ZDOTDIR).
	files := rcFiles(env)
	if c.rec != nil {
		for _, f := range c.rec.Files {
			if !slices.ContainsFunc(files, func(rc rcFile) bool { return rc.path == f.Path }) && filepath.IsAbs(f.Path) {
				files = append(files, rcFile{shellOf(f.Path), f.Path})
			}
		}
	}
	for _, rc := range files {
		st := &rcState{rcFile: rc}
		if st.raw, err = pluginkit.ReadShown(env, rc.path); err != nil {
			return nil, err
		}
		if info, err := os.Lstat(rc.path); err == nil {
			st.symlink = info.Mode()&os.ModeSymlink != 0
		}
		if st.start, st.end, st.has, err = findBlock(st.raw); err != nil {
			return nil, pluginkit.Malformed(env, rc.path, "has "+err.Error(), "")
		}
		c.rcs = append(c.rcs, st)
	}
	return c, nil
}

// findBlock locates coda's block: from the line of its start marker to
// the end of the line of its end marker. Markers out of order, twice or
// alone are an error (which says so without quoting the file).
func findBlock(data []byte) (start, end int, found bool, err error) {
	start, end = -1, -1
	for off := 0; off < len(data); {
		next := bytes.IndexByte(data[off:], '\n')
		lineEnd := len(data)
		if next >= 0 {
			lineEnd = off + next + 1
		}
		switch strings.TrimSpace(string(data[off:lineEnd])) {
		case blockStart:
			if start >= 0 {
				return 0, 0, false, errors.New("coda's copilot block twice (two start markers)")
			}
			start = off
		case blockEnd:
			if start < 0 || end >= 0 {
				return 0, 0, false, errors.New("an end marker of coda's copilot block without its start")
			}
			end = lineEnd
		}
		off = lineEnd
	}
	switch {
	case start < 0:
		return 0, 0, false, nil
	case end < 0:
		return 0, 0, false, errors.New("the start of coda's copilot block without its end marker")
	}
	return start, end, true, nil
}

// sources reports whether data loads coda's snippet: coda's block, or a
// line of the user's naming the snippet.
func sources(data []byte, snippetPath string) bool {
	return bytes.Contains(data, []byte(snippetPath))
}

func (pl Plugin) Plan(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	vars, err := pl.EnvVars(env, t)
	if err != nil {
		return configurator.Plan{Plugin: name}, err
	}
	c, err := load(env)
	if err != nil {
		return configurator.Plan{Plugin: name}, err
	}
	return pl.plan(c, t, vars)
}

// plan is the Plan for t, whose variables are vars, of what load found.
func (pl Plugin) plan(c *current, t configurator.Target, vars []configurator.EnvVar) (configurator.Plan, error) {
	env := c.env
	plan := configurator.Plan{Plugin: name}

	// The snippets.
	for _, sn := range snippets {
		content, err := renderSnippet(sn, t, vars)
		if err != nil {
			return plan, err
		}
		path := SnippetPath(env, sn.shell)
		plan.Changes = append(plan.Changes, configurator.Change{Path: path, Old: c.snippets[path], New: []byte(content), Perm: 0o644})
	}

	// The rc files: coda's block in the current shell's with shell-rc,
	// kept up to date wherever it already is; out of every file without.
	shell := pl.shell(env)
	wantRC := t.Option(OptionShellRC, "") == "true"
	rec := pluginkit.NewRecord()
	var rcChanges []configurator.Change
	after := map[string][]byte{} // each rc file as the plan leaves it
	for _, st := range c.rcs {
		ch, note := c.planRC(st, rec, wantRC && (st.has || st.shell == shell))
		rcChanges = pluginkit.AppendChanged(rcChanges, ch)
		after[st.path] = ch.New
		if note != "" {
			plan.Notes = append(plan.Notes, note)
		}
	}
	// The record goes first: a failed rc write still leaves it known.
	plan.Changes = pluginkit.AppendChanged(plan.Changes, c.stored.Save(rec))
	plan.Changes = append(plan.Changes, rcChanges...)
	plan.Notes = append(plan.Notes, pl.rcNotes(env, shell, wantRC, after)...)
	if n := shellNote(env, shell, vars); n != "" {
		plan.Notes = append(plan.Notes, n)
	}
	return plan, nil
}

// planRC is the change to one rc file: coda's block in it (want) or not,
// recorded in rec; and a note when coda leaves the file to the user.
func (c *current) planRC(st *rcState, rec *pluginkit.Record, want bool) (configurator.Change, string) {
	ch := configurator.Change{Path: st.path, Old: st.raw, New: st.raw, Perm: 0o644, Backup: st.raw != nil}
	shown := pluginkit.Display(c.env, st.path)
	if !want {
		switch {
		case st.has && st.symlink:
			keepRecord(rec, c.rec.File(st.path), st)
			return ch, shown + " is a symbolic link, which coda does not replace: take coda's block out of the file it points to yourself"
		case st.has:
			ch.New = c.withoutBlock(st)
		}
		return ch, ""
	}
	b := []byte(block(c.env, st.shell))
	if st.has && bytes.Equal(st.raw[st.start:st.end], b) {
		keepRecord(rec, c.rec.File(st.path), st)
		return ch, ""
	}
	if st.symlink {
		if !st.has && sources(st.raw, SnippetPath(c.env, st.shell)) {
			return ch, "" // the user's own line loads the snippet
		}
		if st.has {
			keepRecord(rec, c.rec.File(st.path), st)
		}
		return ch, fmt.Sprintf("%s is a symbolic link (a dotfiles manager's?), which coda does not replace: add this line to the file it points to: %s", shown, SourceLine(c.env, st.shell))
	}
	if st.has {
		ch.New = slices.Concat(st.raw[:st.start], b, st.raw[st.end:])
		keepRecord(rec, c.rec.File(st.path), st)
		return ch, fmt.Sprintf("coda's block in %s was edited: coda writes its own again (the previous file is kept in %s.bak)", shown, shown)
	}
	// Append, after a blank line; a last line without a line break gets
	// one. The record keeps both, and whether coda created the file, for
	// remove.
	sep := ""
	switch {
	case len(st.raw) == 0:
	case st.raw[len(st.raw)-1] == '\n':
		sep = "\n"
	default:
		sep = "\n\n"
	}
	ch.New = slices.Concat(st.raw, []byte(sep), b)
	f := rec.AddFile(st.path, st.raw == nil)
	f.AddParent(pluginkit.Key{blockKey}, true).SetFact(factSeparator, sep)
	return ch, ""
}

// keepRecord carries over the record of an rc file that keeps coda's
// block, or, when the record was lost, starts one: coda did not create
// the file and put a blank line before the block if there is one.
func keepRecord(rec *pluginkit.Record, old *pluginkit.FileRecord, st *rcState) {
	if old != nil {
		rec.Files = append(rec.Files, old)
		return
	}
	sep := ""
	if bytes.HasSuffix(st.raw[:st.start], []byte("\n\n")) {
		sep = "\n"
	}
	rec.AddFile(st.path, false).AddParent(pluginkit.Key{blockKey}, true).SetFact(factSeparator, sep)
}

// withoutBlock is st's content with coda's block, and what coda put
// before it, taken out: the file as it was before coda, with whatever the
// user changed elsewhere since. nil when coda created the file and nothing
// else is in it.
func (c *current) withoutBlock(st *rcState) []byte {
	before, after := st.raw[:st.start], st.raw[st.end:]
	sep, created := "", false
	if f := c.rec.File(st.path); f != nil {
		created = f.Created
		if p := f.Parent(blockKey); p != nil {
			sep = p.Facts[factSeparator]
		}
	} else if bytes.HasSuffix(before, []byte("\n\n")) {
		sep = "\n" // no record: the blank line coda puts before its block
	}
	// The blank line goes only while it is one (the user may have put
	// lines between it and the block); the line break that ended a last
	// line without one goes only when nothing follows the block.
	if sep != "" && bytes.HasSuffix(before, []byte("\n\n")) {
		before = before[:len(before)-1]
		if sep == "\n\n" && len(after) == 0 {
			before = before[:len(before)-1]
		}
	}
	out := slices.Concat(before, after)
	if created && len(out) == 0 {
		return nil
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

// rcNotes say what the user has to do for new shells to load the
// snippet; after holds each rc file as the plan leaves it.
func (pl Plugin) rcNotes(env configurator.Env, shell shellenv.Shell, wantRC bool, after map[string][]byte) []string {
	line := SourceLine(env, shell)
	switch shell {
	case shellenv.PowerShell:
		return []string{"coda does not edit PowerShell profiles: to load Copilot's settings in new PowerShell sessions, add this line to your $PROFILE: " + line}
	case shellenv.Sh:
		return []string{"coda edits the rc files of bash, zsh and fish only ($SHELL names none of them): to load Copilot's settings in new shells, add this line to ~/.profile (or the file $ENV names): " + line}
	}
	rc, _ := rcFor(env, shell)
	var notes []string
	if !wantRC && !sources(after[rc.path], SnippetPath(env, shell)) {
		notes = append(notes, fmt.Sprintf("to load Copilot's settings in new shells, add this line to %s (or run coda setup copilot --shell-rc): %s", pluginkit.Display(env, rc.path), line))
	}
	if shell == shellenv.Bash && pl.GOOS == "darwin" && wantRC {
		notes = append(notes, "macOS terminals start login shells, which read ~/.bash_profile: make sure it sources ~/.bashrc")
	}
	return notes
}

func (c *current) rcState(path string) *rcState {
	for _, st := range c.rcs {
		if st.path == path {
			return st
		}
	}
	return nil
}

// shellNote says how to load the settings in the shell coda runs in, when
// it does not have them yet.
func shellNote(env configurator.Env, shell shellenv.Shell, vars []configurator.EnvVar) string {
	if missing := differing(env, vars); len(missing) == 0 {
		return ""
	}
	load := ". " + shellenv.Quote(shellenv.Sh, SnippetPath(env, shell))
	switch shell {
	case shellenv.Fish:
		load = "source " + shellenv.Quote(shell, SnippetPath(env, shell))
	case shellenv.PowerShell:
		load = ". " + shellenv.Quote(shell, SnippetPath(env, shell))
	}
	return "shells started before now do not have Copilot's settings: run " + load
}

// differing names the variables whose value in coda's own environment is
// not coda's.
func differing(env configurator.Env, vars []configurator.EnvVar) []string {
	var out []string
	for _, v := range vars {
		if pluginkit.Getenv(env, v.Name) != v.Value {
			out = append(out, v.Name)
		}
	}
	return out
}

func (pl Plugin) PlanRemove(env configurator.Env, _ configurator.Target) (configurator.Plan, error) {
	plan := configurator.Plan{Plugin: name}
	c, err := load(env)
	if err != nil {
		return plan, err
	}
	for _, sn := range snippets {
		path := SnippetPath(env, sn.shell)
		if old := c.snippets[path]; old != nil {
			plan.Changes = append(plan.Changes, configurator.Change{Path: path, Old: old})
		}
	}
	for _, st := range c.rcs {
		switch {
		case st.has && st.symlink:
			plan.Notes = append(plan.Notes, pluginkit.Display(env, st.path)+" is a symbolic link, which coda does not replace: take coda's block out of the file it points to yourself")
		case st.has:
			plan.Changes = append(plan.Changes, configurator.Change{Path: st.path, Old: st.raw, New: c.withoutBlock(st), Perm: 0o644, Backup: true})
		}
	}
	if c.rec != nil {
		plan.Changes = append(plan.Changes, c.stored.Remove())
	}
	return plan, nil
}

func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	c, err := load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	posix := SnippetPath(env, shellenv.Sh)
	managed := c.rec != nil || slices.ContainsFunc(c.rcs, func(st *rcState) bool { return st.has })
	for _, data := range c.snippets {
		managed = managed || data != nil
	}
	if !managed {
		if !pl.Detect(env).Installed {
			return configurator.Status{State: configurator.StateAbsent, Detail: "copilot is not on PATH"}, nil
		}
		if base := pluginkit.Getenv(env, VarBaseURL); base != "" && pluginkit.PointsAt(base, t.Host, t.Endpoints.Chat) {
			return configurator.Status{State: configurator.StateForeign,
				Detail: VarBaseURL + " in this shell points at this workspace, but coda did not set it: run coda setup copilot, whose key command follows rotations"}, nil
		}
		return configurator.Status{State: configurator.StateNotConfigured, Detail: "no coda snippet in " + pluginkit.Display(env, filepath.Dir(posix))}, nil
	}
	vars, err := pl.EnvVars(env, t)
	if err != nil {
		return configurator.Status{}, err
	}
	plan, err := pl.plan(c, t, vars)
	if err != nil {
		return configurator.Status{}, err
	}
	if !plan.Empty() {
		return configurator.Status{State: configurator.StateStale, Detail: c.staleReason(t, plan) + ": run coda setup copilot"}, nil
	}
	shell := pl.shell(env)
	detail := fmt.Sprintf("%s points Copilot at %s (model %s) with a key command it runs before every request", pluginkit.Display(env, posix), t.Endpoints.Chat, t.Model("model", DefaultModel))
	detail += "; " + pl.rcDetail(c, shell)
	switch diff := differing(env, vars); {
	case len(diff) == 0:
		detail += "; this shell has the settings"
	case pluginkit.Getenv(env, VarBaseURL) == "":
		detail += "; this shell has not loaded them (open a new shell, or load the snippet)"
	default:
		detail += "; this shell sets " + strings.Join(diff, ", ") + " otherwise (set after the snippet?)"
	}
	return configurator.Status{State: configurator.StateConfigured, Detail: detail}, nil
}

// rcDetail says whether new shells load the snippet.
func (pl Plugin) rcDetail(c *current, shell shellenv.Shell) string {
	env := c.env
	rc, ok := rcFor(env, shell)
	if !ok {
		return fmt.Sprintf("coda does not edit the start-up files of %s: add this line to yours: %s", shell, SourceLine(env, shell))
	}
	if st := c.rcState(rc.path); st != nil && sources(st.raw, SnippetPath(env, shell)) {
		return pluginkit.Display(env, rc.path) + " loads it in new shells"
	}
	return fmt.Sprintf("%s does not load it: add this line there (or run coda setup copilot --shell-rc): %s", pluginkit.Display(env, rc.path), SourceLine(env, shell))
}

// staleReason names the first difference the plan would fix.
func (c *current) staleReason(t configurator.Target, plan configurator.Plan) string {
	posix := SnippetPath(c.env, shellenv.Sh)
	for _, ch := range plan.Changes {
		if !ch.Changed() {
			continue
		}
		shown := pluginkit.Display(c.env, ch.Path)
		switch {
		case ch.Path == posix && ch.Old == nil:
			return shown + " is missing"
		case ch.Path == posix:
			old := string(ch.Old)
			for _, want := range []struct{ name, value string }{{VarBaseURL, t.Endpoints.Chat}, {VarModel, t.Model("model", DefaultModel)}} {
				if line, _ := shellenv.Line(shellenv.Sh, configurator.EnvVar{Name: want.name, Value: want.value}); !strings.Contains(old, line+"\n") {
					return fmt.Sprintf("%s does not set %s to %s", shown, want.name, want.value)
				}
			}
			return shown + " differs from what coda writes (another profile, the proxy, or its key command)"
		case filepath.Dir(ch.Path) == filepath.Dir(posix):
			return shown + " is missing or out of date"
		case ch.Path == c.stored.Path:
			continue // a consequence of an rc change, or alone (below)
		}
		if st := c.rcState(ch.Path); st != nil {
			switch {
			case !st.has:
				return shown + " lacks coda's block (--shell-rc)"
			case ch.New == nil || !bytes.Contains(ch.New, []byte(blockStart)):
				return shown + " holds coda's block, but --shell-rc is off"
			default:
				return "coda's block in " + shown + " was edited"
			}
		}
	}
	return "coda's record of the rc files it edited is out of date"
}
