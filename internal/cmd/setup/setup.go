// Package setup implements `coda setup`: run the configurator plugins that
// point each agent CLI and the Databricks CLI at the profile's workspace.
package setup

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	proxycmd "github.com/coda-cli/coda/internal/cmd/proxy"
	servicecmd "github.com/coda-cli/coda/internal/cmd/service"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	core "github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Options are setup's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	All               bool
	Names             []string
	DryRun            bool
	Install           bool
	Yes               bool
	Remove            bool
	Endpoint          string
	Models            []string
	DatabricksProfile string
	Force             bool
	// GeminiTrustHome lets the gemini plugin trust HOME in Gemini CLI's
	// trustedFolders.json (the plugin option trust-home).
	GeminiTrustHome bool
	// ShellRC is --shell-rc: the tools configured through environment
	// variables (configurator.EnvProvider) load their settings from the
	// user's rc file (the plugin option shell-rc). ShellRCSet tells
	// whether it was given: without it the profile's choice stays.
	ShellRC, ShellRCSet bool
	// Timing resolves the profile's policy; --grace is stored in it and
	// sets the helpers' refresh interval.
	Timing lifecycle.Timing
	// Proxy is --proxy (auto, all or off), "" when not given: the
	// profile's stored mode stays.
	Proxy string

	Plugins []configurator.Configurator
	// Exe is how helpers call coda.
	Exe string
	// NPM runs npm for --install (tests replace it).
	NPM func(ctx context.Context, stderr io.Writer, args ...string) error
	// InstallService installs the watcher as a user service (coda service
	// install); tests replace it.
	InstallService func(ctx context.Context, f *cmdutil.Factory) error
	// ProgressDelay is how long a step runs before setup says on stderr
	// what it waits for (cmdutil.ProgressDelay when 0).
	ProgressDelay time.Duration
}

// NewCmdSetup builds the command; runF replaces the run function in tests.
func NewCmdSetup(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, Plugins: f.Plugins, NPM: runNPM, InstallService: servicecmd.Install}
	cmd := &cobra.Command{
		Use:   "setup [--all | NAME...]",
		Short: "Point coding agents and the Databricks CLI at the workspace",
		Long: `Configure agent CLIs and the Databricks CLI for the profile's workspace,
merging into existing config files: keys coda does not own are kept, a
.bak is kept of each file of yours that coda changes (never of a file coda
wrote alone), and a malformed file is refused. Each plugin gets one line,
always in the same order: its outcome and the files it changed.

Plugins: ` + pluginList(opts.Plugins) + `.
--all configures every plugin except git.

Tokens reach the tools in one of two ways. Claude Code, Codex and GitHub
Copilot CLI run "coda token" whenever they need one (a helper), so they
follow rotations on their own; their refresh interval is well below the
rotation grace. Copilot CLI reads its settings from environment variables
only: coda writes them into a snippet in its state directory, and
--shell-rc adds the block that loads it to your shell's rc file. Gemini
CLI, OpenCode and the Databricks CLI read a token from a file (0600) that coda
rewrites after every rotation, before the old token is deleted. Gemini CLI
reads its file only at start: a running Gemini session cannot pick up a new
token.

--endpoint chooses the model-serving paths: serving (HOST/serving-endpoints),
ai-gateway (HOST/ai-gateway) or gateway-host (WORKSPACE_ID.ai-gateway...);
auto (the default) probes the workspace once and remembers the answer.
--model PLUGIN=MODEL (or PLUGIN.ROLE=MODEL) overrides a default model; names
are checked against the workspace's serving endpoints when it answers.`,
		Example: `  coda setup --all
  coda setup claude codex --dry-run
  coda setup --all --install --yes
  coda setup databricks --databricks-profile work
  coda setup --model claude=databricks-claude-opus-4-6 claude
  coda setup copilot --shell-rc
  coda setup --remove --all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if opts.All == (len(args) > 0) {
				return exit.Usagef("name the plugins to set up (%s) or pass --all", pluginList(opts.Plugins))
			}
			for _, n := range args {
				if core.Find(opts.Plugins, n) == nil {
					return cmdutil.UnknownPlugin(n, opts.Plugins)
				}
			}
			if !slices.Contains(core.Families, opts.Endpoint) {
				return exit.Usagef("--endpoint must be one of %s, got %q", strings.Join(core.Families, ", "), opts.Endpoint)
			}
			for _, m := range opts.Models {
				name, model, ok := strings.Cut(m, "=")
				plugin, _, _ := strings.Cut(name, ".")
				if !ok || model == "" || core.Find(opts.Plugins, plugin) == nil {
					return exit.Usagef("--model wants PLUGIN=MODEL or PLUGIN.ROLE=MODEL with a plugin from %s, got %q%s", pluginList(opts.Plugins), m,
						cmdutil.DidYouMean(plugin, cmdutil.PluginNames(opts.Plugins)))
				}
			}
			if opts.GeminiTrustHome && (opts.Remove || !opts.All && !slices.Contains(args, "gemini")) {
				return exit.Usagef("--gemini-trust-home is for setting up gemini: name gemini or pass --all, without --remove")
			}
			opts.ShellRCSet = cmd.Flags().Changed("shell-rc")
			if opts.ShellRCSet && (opts.Remove || len(envPlugins(opts.selected())) == 0) {
				return exit.Usagef("--shell-rc is for setting up tools configured through environment variables (%s): name one or pass --all, without --remove", pluginList(envPlugins(opts.Plugins)))
			}
			if opts.Proxy != "" && !slices.Contains(core.ProxyModes, opts.Proxy) {
				return exit.Usagef("--proxy must be one of %s, got %q", strings.Join(core.ProxyModes, ", "), opts.Proxy)
			}
			var err error
			if opts.Timing, err = f.Timing(cmd, true); err != nil {
				return err
			}
			if opts.Exe == "" {
				opts.Exe = core.Executable()
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.All, "all", false, "every plugin except git")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the changes as unified diffs and write nothing")
	fl.BoolVar(&opts.Install, "install", false, "install missing agent CLIs from npm into ~/.local (asks first on a terminal)")
	fl.BoolVar(&opts.Yes, "yes", false, "with --install: do not ask")
	fl.BoolVar(&opts.Remove, "remove", false, "remove exactly what coda wrote")
	fl.StringVar(&opts.Endpoint, "endpoint", core.FamilyAuto, "model-serving paths: "+strings.Join(core.Families, ", "))
	fl.StringArrayVar(&opts.Models, "model", nil, "PLUGIN=MODEL or PLUGIN.ROLE=MODEL (repeatable)")
	fl.StringVar(&opts.DatabricksProfile, "databricks-profile", "", "profile name in ~/.databrickscfg (default DEFAULT)")
	fl.BoolVar(&opts.Force, "force", false, "git: overwrite user.name and user.email even when set")
	fl.BoolVar(&opts.ShellRC, "shell-rc", false, "copilot: add a block to your shell's rc file (~/.bashrc, ~/.zshrc or fish's config.fish) that loads coda's settings in new shells; kept by later setups, --shell-rc=false takes it out")
	fl.BoolVar(&opts.GeminiTrustHome, "gemini-trust-home", false, "gemini: trust your home directory in ~/.gemini/trustedFolders.json, which trusts every folder under it for Gemini CLI: their .gemini settings, .env files and tool auto-approval load without asking")
	cmdutil.AddTimingFlags(fl, cmdutil.KeyGrace)
	fl.StringVar(&opts.Proxy, "proxy", "", "which agents go through coda's loopback proxy, holding a local key instead of a Databricks token: auto (those that cannot pick up a new token: Gemini CLI), all, or off (stored in the profile; default auto)")
	cmd.ValidArgsFunction = cmdutil.CompletePlugins(opts.Plugins)
	_ = cmd.RegisterFlagCompletionFunc("endpoint", cmdutil.CompleteWords(core.Families...))
	_ = cmd.RegisterFlagCompletionFunc("proxy", cmdutil.CompleteWords(core.ProxyModes...))
	_ = cmd.RegisterFlagCompletionFunc("model", f.CompleteModels(opts.Plugins))
	return cmd
}

// envPlugins are the plugins whose tools are configured through
// environment variables.
func envPlugins(all []configurator.Configurator) []configurator.Configurator {
	var out []configurator.Configurator
	for _, pl := range all {
		if _, ok := pl.(configurator.EnvProvider); ok {
			out = append(out, pl)
		}
	}
	return out
}

// shellRCKey is the profile setting that holds a plugin's shell-rc option.
func shellRCKey(pl configurator.Configurator) string {
	return "option." + pl.Info().Name + ".shell-rc"
}

func pluginList(all []configurator.Configurator) string {
	return strings.Join(cmdutil.PluginNames(all), ", ")
}

// Result is one plugin's outcome.
type Result struct {
	Plugin    string   `json:"plugin"`
	Outcome   string   `json:"outcome"` // configured, unchanged, removed, planned, failed
	Installed bool     `json:"installed"`
	Files     []string `json:"files"`
	Message   string   `json:"message,omitempty"`
	diff      string
	notes     []string   // the plan's notes, which Message joins
	tool      store.Tool // what the profile records for the plugin
	needsTool bool       // a plugin whose tool must be installed to use it
}

type resultsJSON struct {
	Version int      `json:"version"`
	Profile string   `json:"profile"`
	Plugins []Result `json:"plugins"`
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, err := f.Profile()
	if err != nil {
		return err
	}
	st, err := f.Store()
	if err != nil {
		return err
	}
	dir, err := f.ConfigDir()
	if err != nil {
		return err
	}
	state, err := st.Load()
	if err != nil {
		return err
	}
	p := state.Profile(profile)
	if !p.HasToken() && !opts.Remove {
		return lifecycle.LoginRequired(profile, fmt.Sprintf("profile %q is not logged in", profile))
	}
	// Tools with a literal token get it written: read it from the keyring
	// (a removal needs none).
	if err := p.Unseal(); err != nil && !opts.Remove {
		return err
	}
	if p == nil {
		p = &store.Profile{}
	}
	selected := opts.selected()
	env := core.Env(f.Getenv, dir)
	inForce, toStore, err := opts.Timing.Resolve(p.Policy)
	if err != nil {
		return err
	}
	refresh := policy.HelperRefresh(inForce.GraceD())
	if opts.Proxy != "" && !opts.Remove {
		p.Proxy.Mode = opts.Proxy
	}
	if !opts.Remove {
		if err := opts.checkHelpers(p, selected, inForce, toStore, refresh); err != nil {
			return err
		}
	}

	progress := cmdutil.NewProgress(f.IO.ErrOut, cmp.Or(opts.ProgressDelay, cmdutil.ProgressDelay))
	defer progress.Done()
	if !opts.Remove {
		progress.Step(func() string { return "Asking the workspace for its serving endpoints" })
		err := opts.prepare(ctx, profile, p)
		progress.Done()
		if err != nil {
			return err
		}
		if opts.Install {
			if err := opts.install(ctx, env, selected); err != nil {
				return err
			}
		}
	}

	key, err := opts.proxyKey(dir, profile, p, selected)
	if err != nil {
		return err
	}
	results := opts.runPlugins(progress, env, profile, p, selected, refresh, key)

	failed := 0
	var names []string
	var tools []store.Tool
	for _, r := range results {
		if r.Outcome == "failed" {
			failed++
		} else {
			names = append(names, r.Plugin)
			tools = append(tools, r.tool)
		}
	}
	if !opts.DryRun {
		err := st.Update(ctx, func(s *store.State) error {
			sp := s.Profile(profile)
			if sp == nil {
				return nil
			}
			sp.Settings = p.Settings
			if opts.Remove {
				core.Forget(sp, names...)
				// A tool set up again later starts without coda's rc block.
				for _, pl := range envPlugins(opts.selected()) {
					if slices.Contains(names, pl.Info().Name) {
						delete(sp.Settings, shellRCKey(pl))
					}
				}
				return nil
			}
			sp.Policy = toStore
			sp.Proxy = p.Proxy
			core.Record(sp, tools...)
			core.ReleaseFromOthers(s, profile, names)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := opts.report(env, profile, results); err != nil {
		return err
	}
	if proxied := proxiedNames(results); len(proxied) > 0 && !opts.Remove && !opts.DryRun {
		if err := opts.offerService(ctx, profile, p, proxied); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &exit.SilentError{Code: exit.Error}
	}
	return nil
}

// checkHelpers refuses a grace that a credential helper could not keep up
// with once this setup is done: the selected helpers get refresh, the
// others keep what they were set up with.
func (opts *Options) checkHelpers(p *store.Profile, selected []configurator.Configurator, inForce policy.Policy, toStore policy.Settings, refresh time.Duration) error {
	after := *p
	after.Tools = slices.Clone(p.Tools)
	for _, pl := range selected {
		t := store.Tool{Plugin: pl.Info().Name}
		if pl.Info().Delivery == configurator.DeliveryHelper && !core.UsesProxy(p.Proxy.Mode, pl) {
			t.Refresh = policy.Duration(refresh)
		}
		core.Record(&after, t)
	}
	return lifecycle.CheckPolicy(&after, inForce, toStore)
}

func (opts *Options) selected() []configurator.Configurator {
	var out []configurator.Configurator
	for _, pl := range opts.Plugins {
		if (opts.All && pl.Info().InAll) || slices.Contains(opts.Names, pl.Info().Name) {
			out = append(out, pl)
		}
	}
	return out
}

// prepare resolves endpoints, records model overrides and plugin options
// in the profile, and checks model names against the workspace.
func (opts *Options) prepare(ctx context.Context, profile string, p *store.Profile) error {
	f := opts.F
	client, err := f.Clients(p.Host, p.Token)
	if err != nil {
		return err
	}
	note, err := core.ResolveEndpoints(ctx, client, p, opts.Endpoint)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(f.IO.ErrOut, note)
	}
	if p.Settings == nil {
		p.Settings = map[string]string{}
	}
	overrides, err := opts.modelOverrides()
	if err != nil {
		return err
	}
	var models []string
	for name, model := range overrides {
		p.Settings["model."+name] = model
		models = append(models, model)
	}
	sort.Strings(models)
	if opts.DatabricksProfile != "" {
		p.Settings["option.databricks.profile"] = opts.DatabricksProfile
	}
	if opts.Force {
		p.Settings["option.git.force"] = "true"
	} else {
		delete(p.Settings, "option.git.force")
	}
	// --gemini-trust-home holds for the setups of gemini that pass it: one
	// without it takes coda's trust back; other plugins' setups keep it.
	if core.Find(opts.selected(), "gemini") != nil {
		if opts.GeminiTrustHome {
			p.Settings["option.gemini.trust-home"] = "true"
		} else {
			delete(p.Settings, "option.gemini.trust-home")
		}
	}
	// --shell-rc holds for later setups of the env plugins (and their
	// status) until --shell-rc=false or a remove takes it back.
	if opts.ShellRCSet {
		for _, pl := range envPlugins(opts.selected()) {
			if opts.ShellRC {
				p.Settings[shellRCKey(pl)] = "true"
			} else {
				delete(p.Settings, shellRCKey(pl))
			}
		}
	}
	if len(models) > 0 {
		known, err := client.ServingEndpoints(ctx)
		if err != nil {
			fmt.Fprintf(f.IO.ErrOut, "warning: could not check model names (%v)\n", err)
			return nil
		}
		if !opts.DryRun { // which writes nothing, not even a cache
			f.RememberModels(profile, p.Host, known) // for --model completion
		}
		for _, m := range models {
			if !slices.Contains(known, m) {
				fmt.Fprintf(f.IO.ErrOut, "warning: the workspace has no serving endpoint named %q; using it anyway\n", m)
			}
		}
	}
	return nil
}

// modelOverrides merges config.yaml's `models:` map (PLUGIN or
// PLUGIN.ROLE → model) with --model flags, which win.
func (opts *Options) modelOverrides() (map[string]string, error) {
	out := map[string]string{}
	v, err := opts.F.Settings()
	if err != nil {
		return nil, err
	}
	if v != nil {
		for name, model := range v.GetStringMapString("models") {
			plugin, _, _ := strings.Cut(name, ".")
			if core.Find(opts.Plugins, plugin) == nil || model == "" {
				return nil, exit.Usagef("%s: models.%s names no plugin%s (choose from %s)", cmdutil.SettingsFile, name,
					cmdutil.DidYouMean(plugin, cmdutil.PluginNames(opts.Plugins)), pluginList(opts.Plugins))
			}
			out[name] = model
		}
	}
	for _, m := range opts.Models {
		name, model, _ := strings.Cut(m, "=")
		out[name] = model
	}
	return out, nil
}

// runPlugins plans (and unless --dry-run applies) every plugin at once.
// offerService makes sure nobody is left with an agent pointing at a proxy
// nobody runs: when the proxy is down, it offers on a terminal to install
// the watcher as a user service (default yes), and otherwise prints the
// commands that serve it.
func (opts *Options) offerService(ctx context.Context, profile string, p *store.Profile, proxied []string) error {
	f := opts.F
	fmt.Fprintf(f.IO.ErrOut, "%s go through coda's proxy on %s with a local key, never a Databricks token.\n",
		strings.Join(proxied, ", "), core.ProxyURL(p.Proxy.Port))
	if proxycmd.Running(p) {
		return nil
	}
	hint := "Nothing serves the proxy yet: keep coda rotate --watch running (it serves it), run coda proxy, or install the watcher as a service: coda service install" + store.ProfileFlag(profile)
	if !f.IO.CanPrompt() {
		fmt.Fprintln(f.IO.ErrOut, hint)
		return nil
	}
	install, err := f.Prompter().Confirm("Nothing serves the proxy yet. Install the watcher as a user service (coda service install)? It rotates the token and serves the proxy.", true)
	if err != nil {
		return err
	}
	if !install {
		fmt.Fprintln(f.IO.ErrOut, hint)
		return nil
	}
	return opts.InstallService(ctx, f)
}

// proxiedNames lists the plugins set up to go through the proxy.
func proxiedNames(results []Result) []string {
	var names []string
	for _, r := range results {
		if r.tool.Proxied && r.Outcome != "failed" {
			names = append(names, r.Plugin)
		}
	}
	return names
}

// proxyKey readies the profile's proxy when a selected tool goes through
// it: a port (kept in the profile) and the local key (a file in the config
// dir; made up in memory for --dry-run, which writes nothing). "" when no
// selected tool uses the proxy.
func (opts *Options) proxyKey(dir, profile string, p *store.Profile, selected []configurator.Configurator) (string, error) {
	if !slices.ContainsFunc(selected, func(pl configurator.Configurator) bool { return core.UsesProxy(p.Proxy.Mode, pl) }) {
		return "", nil
	}
	if key := core.ReadProxyKey(dir, profile); key != "" || opts.Remove {
		return key, core.EnsureProxy(p)
	}
	if err := core.EnsureProxy(p); err != nil {
		return "", err
	}
	if opts.DryRun {
		return core.NewProxyKey()
	}
	return core.ProxyKey(dir, profile)
}

func (opts *Options) runPlugins(progress *cmdutil.Progress, env configurator.Env, profile string, p *store.Profile, selected []configurator.Configurator, refresh time.Duration, key string) []Result {
	results := make([]Result, len(selected))
	var mu sync.Mutex
	pending := map[string]bool{}
	for _, pl := range selected {
		pending[pl.Info().Name] = true
	}
	// Only a slow plugin (git runs git; a big file takes a while) makes
	// setup say on stderr what it waits for.
	progress.Step(func() string {
		mu.Lock()
		defer mu.Unlock()
		var names []string
		for _, pl := range selected {
			if pending[pl.Info().Name] {
				names = append(names, pl.Info().Name)
			}
		}
		return "Waiting for " + strings.Join(names, ", ")
	})
	defer progress.Done()
	var wg sync.WaitGroup
	for i, pl := range selected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = opts.runOne(env, profile, p, pl, refresh, key)
			mu.Lock()
			delete(pending, pl.Info().Name)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results
}

func (opts *Options) runOne(env configurator.Env, profile string, p *store.Profile, pl configurator.Configurator, refresh time.Duration, key string) Result {
	r := Result{Plugin: pl.Info().Name, Files: []string{}}
	r.Installed = pl.Detect(env).Installed
	r.needsTool = pl.Info().Delivery != configurator.DeliveryNone
	t, err := core.TargetFor(pl, profile, p, opts.Exe, refresh, key)
	if err != nil {
		r.Outcome, r.Message = "failed", err.Error()
		return r
	}
	if r.tool, err = core.ToolRecord(env, pl, t); err != nil {
		r.Outcome, r.Message = "failed", err.Error()
		return r
	}
	var plan configurator.Plan
	if opts.Remove {
		plan, err = pl.PlanRemove(env, t)
	} else {
		plan, err = pl.Plan(env, t)
	}
	if err != nil {
		r.Outcome, r.Message = "failed", err.Error()
		return r
	}
	for _, c := range plan.Changes {
		if c.Changed() {
			r.Files = append(r.Files, c.Path)
		}
	}
	switch {
	case opts.DryRun:
		r.Outcome = "planned"
		r.diff = configurator.DiffWith(plan, configurator.DiffOptions{Secrets: []string{p.Token}, StateDir: env.StateDir, Color: opts.F.IO.ColorOut(opts.F.Getenv)})
	case plan.Empty():
		r.Outcome = "unchanged"
	default:
		if err := configurator.Apply(env, pl, plan); err != nil {
			r.Outcome, r.Message = "failed", err.Error()
			return r
		}
		r.Outcome = "configured"
		if opts.Remove {
			r.Outcome = "removed"
		}
	}
	r.Message = strings.Join(plan.Notes, "; ")
	r.notes = plan.Notes
	return r
}

// report prints the results: for each plugin, in the plugins' order, one
// line with its outcome and the files it changed (yours before coda's
// own); then once the tools not installed, then the plugins' notes.
func (opts *Options) report(env configurator.Env, profile string, results []Result) error {
	f := opts.F
	if f.JSON() {
		return cmdutil.PrintJSON(f.IO.Out, resultsJSON{Version: cmdutil.JSONVersion, Profile: profile, Plugins: results})
	}
	nameWidth := 0
	for _, r := range results {
		nameWidth = max(nameWidth, len(r.Plugin))
	}
	var missing []string
	for _, r := range results {
		if opts.DryRun && r.Outcome != "failed" {
			fmt.Fprint(f.IO.Out, r.diff)
			continue
		}
		line := fmt.Sprintf("%-*s  %-10s", nameWidth, r.Plugin, r.Outcome)
		if r.Outcome == "failed" {
			line += "  " + r.Message
		} else if files := shownFiles(env, r.Files); len(files) > 0 {
			line += "  " + fitList(files, lineWidth-len(line)-2)
		}
		fmt.Fprintln(f.IO.Out, strings.TrimRight(line, " "))
		if !r.Installed && r.needsTool && r.Outcome != "failed" && !opts.Remove {
			missing = append(missing, r.Plugin)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(f.IO.Out, "Not installed here, set up for when they are: %s.\n", strings.Join(missing, ", "))
	}
	if !opts.DryRun {
		for _, r := range results {
			if r.Outcome == "failed" {
				continue
			}
			for _, n := range r.notes {
				fmt.Fprintf(f.IO.Out, "note (%s): %s\n", r.Plugin, n)
			}
		}
	}
	if !opts.DryRun && !opts.Remove {
		fmt.Fprintln(f.IO.ErrOut, "Keep the token fresh: coda rotate --watch (or coda rotate from cron every 10 minutes).")
	}
	return nil
}

// lineWidth is the width setup's result lines fit (a plugin's notes and
// errors excepted: a command in them must stay whole).
const lineWidth = 100

// shownFiles are the files a result line names: the user's (as ~/...)
// before those in coda's state dir, which the user never edits.
func shownFiles(env configurator.Env, files []string) []string {
	var user, own []string
	for _, path := range files {
		if rel, err := filepath.Rel(env.StateDir, path); env.StateDir != "" && err == nil && !strings.HasPrefix(rel, "..") {
			own = append(own, pluginkit.Display(env, path))
		} else {
			user = append(user, pluginkit.Display(env, path))
		}
	}
	if len(user) > 0 {
		return user
	}
	return own
}

// fitList joins items with ", " in at most n columns, ending in "+N more"
// when they do not all fit (the first is always shown).
func fitList(items []string, n int) string {
	out := items[0]
	for i, it := range items[1:] {
		rest := len(items) - 1 - i
		more := ""
		if rest > 1 {
			more = fmt.Sprintf(", +%d more", rest-1)
		}
		if utf8.RuneCountInString(out+", "+it+more) > n {
			return fmt.Sprintf("%s, +%d more", out, rest)
		}
		out += ", " + it
	}
	return out
}

// install puts missing agent CLIs into ~/.local with npm, after asking.
func (opts *Options) install(ctx context.Context, env configurator.Env, selected []configurator.Configurator) error {
	f := opts.F
	var missing []string
	for _, pl := range selected {
		if pkg := pl.Info().NPMPackage; pkg != "" && !pl.Detect(env).Installed {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	prefix := filepath.Join(env.Home, ".local")
	if !opts.Yes {
		if !f.IO.CanPrompt() {
			return exit.Usagef("--install would run npm install -g --prefix %s %s: confirm with --yes", prefix, strings.Join(missing, " "))
		}
		yes, err := f.Prompter().Confirm(fmt.Sprintf("Install %s into %s with npm?", strings.Join(missing, ", "), prefix), false)
		if err != nil {
			return err
		}
		if !yes {
			fmt.Fprintln(f.IO.ErrOut, "Not installing.")
			return nil
		}
	}
	for _, pkg := range missing {
		fmt.Fprintf(f.IO.ErrOut, "Installing %s ...\n", pkg)
		if err := opts.NPM(ctx, f.IO.ErrOut, "install", "-g", "--prefix", prefix, pkg); err != nil {
			return fmt.Errorf("npm install %s: %w", pkg, err)
		}
	}
	fmt.Fprintf(f.IO.ErrOut, "Installed into %s/bin; make sure it is on your PATH.\n", prefix)
	return nil
}

// runNPM runs npm as the current user: never with sudo, never a script
// fetched from the network.
func runNPM(ctx context.Context, stderr io.Writer, args ...string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm is not on PATH: install Node.js first")
	}
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.Env = os.Environ()
	return cmd.Run()
}
