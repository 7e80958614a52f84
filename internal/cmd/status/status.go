// Package status implements `coda status`: what coda holds, offline unless
// --check asks the workspace.
package status

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	proxycmd "github.com/coda-cli/coda/internal/cmd/proxy"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	core "github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Options are status's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	Check   bool
	All     bool
	Verbose bool
	// Names are the plugins asked about (status PLUGIN...): the output
	// shows their details only.
	Names []string

	// Plugins report the state of the tools a profile set up.
	Plugins []configurator.Configurator
	// Location is the zone of the times in text output (time.Local).
	Location *time.Location
}

// NewCmdStatus builds the command; runF replaces the run function in tests.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, Plugins: f.Plugins, Location: time.Local}
	cmd := &cobra.Command{
		Use:   "status [PLUGIN...] [--check] [--all] [-v]",
		Short: "Show the profile's token, pending deletions and watcher",
		Long: `Show what coda holds for the profile: host, user, token id (last 4
characters), when it expires (in local time), the last rotation, old
tokens waiting to be deleted, whether a watcher runs, and a table of the
tools set up: each one's state, how it gets the token and its main file.
Offline by default; --check also asks the workspace whether the token is
valid. --all shows every profile. -v adds each tool's files and details;
naming plugins shows only theirs.

Exits 0 when the token is valid, 4 when it is absent, expired or (with
--check) rejected. With -o json it prints a versioned object with an array
of profiles; times are RFC 3339 in UTC to the second, and no token value
is ever included.`,
		Example: `  coda status
  coda status -v
  coda status gemini
  coda -o json status --all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, n := range args {
				if core.Find(opts.Plugins, n) == nil {
					return cmdutil.UnknownPlugin(n, opts.Plugins)
				}
			}
			opts.Names = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Check, "check", false, "also validate the token online")
	cmd.Flags().BoolVar(&opts.All, "all", false, "show every profile")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "also show each tool's files and details")
	cmd.ValidArgsFunction = cmdutil.CompleteArgs(cmdutil.PluginNames(opts.Plugins))
	return cmd
}

type proxyJSON struct {
	Address string   `json:"address"`
	Running bool     `json:"running"`
	Agents  []string `json:"agents"`
	// Warning is set when an HTTP(S)_PROXY in this environment would take
	// the agents' loopback requests unless NO_PROXY covers 127.0.0.1.
	Warning string `json:"warning,omitempty"`
}

type policyJSON struct {
	Lifetime      string `json:"lifetime"`
	Interval      string `json:"interval"`
	Grace         string `json:"grace"`
	MinTTL        string `json:"min_ttl"`
	HelperRefresh string `json:"helper_refresh,omitempty"`
}

type watcherJSON struct {
	Running bool `json:"running"`
	PID     int  `json:"pid,omitempty"`
}

// TokenCheck is the workspace's verdict on a token, asked online.
type TokenCheck struct {
	Valid bool   `json:"valid"`
	User  string `json:"user,omitempty"`
	Error string `json:"error,omitempty"`
}

// PluginState is a plugin's report on a tool it set up for a profile.
type PluginState struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// Delivery is how the tool gets the token: helper, literal, proxy (it
	// holds the proxy's local key) or none; "" when the plugin is unknown.
	Delivery string `json:"delivery,omitempty"`
	// Files are the tool's config files, the main one first.
	Files  []string `json:"files,omitempty"`
	Detail string   `json:"detail,omitempty"`

	shown []string // Files as text shows them (~/...)
}

// StateNotSetUp is the state of a plugin asked about (status PLUGIN) that
// the profile has not set up.
const StateNotSetUp = "not-set-up"

type profileJSON struct {
	Name             string                `json:"name"`
	LoggedIn         bool                  `json:"logged_in"`
	Valid            bool                  `json:"valid"`
	Host             string                `json:"host,omitempty"`
	User             string                `json:"user,omitempty"`
	TokenID          string                `json:"token_id,omitempty"`
	CreatedAt        *cmdutil.Time         `json:"created_at,omitempty"`
	ExpiresAt        *cmdutil.Time         `json:"expires_at,omitempty"`
	ExpiresInSeconds int64                 `json:"expires_in_seconds"`
	LastRotation     *cmdutil.Time         `json:"last_rotation,omitempty"`
	Pending          []cmdutil.PendingJSON `json:"pending"`
	Policy           *policyJSON           `json:"policy,omitempty"`
	// ClockSkewSeconds is the workspace's clock minus this machine's,
	// measured at the last create.
	ClockSkewSeconds int64       `json:"clock_skew_seconds"`
	Watcher          watcherJSON `json:"watcher"`
	// Proxy is the profile's loopback proxy, when an agent uses it.
	Proxy   *proxyJSON    `json:"proxy,omitempty"`
	Check   *TokenCheck   `json:"check,omitempty"`
	Plugins []PluginState `json:"plugins"`
}

type statusJSON struct {
	Version  int           `json:"version"`
	Profiles []profileJSON `json:"profiles"`
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	st, err := f.Store()
	if err != nil {
		return err
	}
	state, err := st.Load()
	if err != nil {
		return err
	}
	var names []string
	if opts.All {
		names = state.ProfileNames()
	} else {
		name, err := f.Profile()
		if err != nil {
			return err
		}
		names = []string{name}
	}
	now := f.Clock.Now()
	out := statusJSON{Version: cmdutil.JSONVersion, Profiles: []profileJSON{}}
	for _, name := range names {
		// Plugins compare a literal token with the profile's: read it from
		// the keyring, and say so when that fails.
		p := state.Profile(name)
		if err := p.Unseal(); err != nil {
			fmt.Fprintln(f.IO.ErrOut, "warning:", err)
		}
		pj := describe(name, p, now)
		pid, running := st.WatcherPID(name)
		pj.Watcher = watcherJSON{Running: running, PID: pid}
		pj.Plugins = PluginStates(f, opts.Plugins, name, p)
		if len(opts.Names) > 0 {
			pj.Plugins = only(pj.Plugins, opts.Names)
		}
		if p.ServesProxy() {
			pj.Proxy = &proxyJSON{Address: core.ProxyAddr(p.Proxy.Port), Running: proxycmd.Running(p), Agents: p.ProxyClients(),
				Warning: LoopbackProxied(f.Getenv)}
		}
		if opts.Check && pj.Valid {
			pj.Check = CheckToken(ctx, f, p)
			pj.Valid = pj.Check.Valid
		}
		out.Profiles = append(out.Profiles, pj)
	}
	if f.JSON() {
		if err := cmdutil.PrintJSON(f.IO.Out, out); err != nil {
			return err
		}
	} else {
		loc := opts.Location
		if loc == nil {
			loc = time.Local
		}
		tw := &textWriter{w: f.IO.Out, now: now.In(loc)}
		if len(opts.Names) > 0 {
			tw.pluginsOnly(out.Profiles)
		} else {
			tw.profiles(out.Profiles, opts.Verbose)
		}
	}
	for _, pj := range out.Profiles {
		if !pj.Valid {
			return &exit.SilentError{Code: exit.Auth}
		}
	}
	if len(out.Profiles) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "No profiles: run coda login.")
		return &exit.SilentError{Code: exit.Auth}
	}
	return nil
}

// PluginStates asks each of plugins that the profile set up how its files
// look. It reads files only: status and doctor stay offline with it.
func PluginStates(f *cmdutil.Factory, plugins []configurator.Configurator, profile string, p *store.Profile) []PluginState {
	out := []PluginState{}
	dir, err := f.ConfigDir()
	if err != nil || p == nil {
		return out
	}
	env := core.Env(f.Getenv, dir)
	env.Getwd = f.Getwd
	exe := core.Executable()
	key := core.ReadProxyKey(dir, profile)
	for _, name := range core.Configured(p) {
		pl := core.Find(plugins, name)
		if pl == nil {
			out = append(out, PluginState{Name: name, State: "unknown", Detail: "not a plugin of this coda"})
			continue
		}
		ps := PluginState{Name: name, Delivery: pl.Info().Delivery.String(), Files: pl.Detect(env).Files}
		for _, file := range ps.Files {
			ps.shown = append(ps.shown, pluginkit.Display(env, file))
		}
		t, err := core.TargetFor(pl, profile, p, exe, core.Refresh(p, pl), key)
		if err != nil {
			ps.State, ps.Detail = "error", err.Error()
			out = append(out, ps)
			continue
		}
		if t.Proxied {
			ps.Delivery = "proxy"
		}
		st, err := pl.Status(env, t)
		if err != nil {
			ps.State, ps.Detail = "error", err.Error()
			out = append(out, ps)
			continue
		}
		ps.State, ps.Detail = string(st.State), st.Detail
		out = append(out, ps)
	}
	return out
}

// only keeps the states of the named plugins, in the order named; a
// plugin the profile has not set up says so.
func only(states []PluginState, names []string) []PluginState {
	out := []PluginState{}
	for _, n := range names {
		i := slices.IndexFunc(states, func(s PluginState) bool { return s.Name == n })
		if i < 0 {
			out = append(out, PluginState{Name: n, State: StateNotSetUp, Detail: "run coda setup " + n})
			continue
		}
		if !slices.ContainsFunc(out, func(s PluginState) bool { return s.Name == n }) {
			out = append(out, states[i])
		}
	}
	return out
}

func describe(name string, p *store.Profile, now time.Time) profileJSON {
	pj := profileJSON{Name: name, Pending: []cmdutil.PendingJSON{}, Plugins: []PluginState{}}
	if !p.HasToken() {
		return pj
	}
	pj.LoggedIn, pj.Valid = true, p.Live(now)
	pj.Host, pj.User, pj.TokenID = p.Host, p.User, redact.Suffix(p.TokenID)
	pj.CreatedAt, pj.ExpiresAt = cmdutil.TimeOrNil(p.CreatedAt), cmdutil.TimeOrNil(p.ExpiresAt)
	pj.ExpiresInSeconds = int64(p.Remaining(now) / time.Second)
	pj.LastRotation = cmdutil.TimeOrNil(p.LastRotation)
	for _, pe := range p.Pending {
		pj.Pending = append(pj.Pending, cmdutil.Pending(pe))
	}
	pj.ClockSkewSeconds = int64(time.Duration(p.ClockSkew) / time.Second)
	// The stored policy, as coda token and the watcher see it without
	// CODA_* or config.yaml.
	pol := p.Policy.Policy()
	pj.Policy = &policyJSON{Lifetime: policy.Short(pol.LifetimeD()), Interval: policy.Short(pol.IntervalD()),
		Grace: policy.Short(pol.GraceD()), MinTTL: policy.Short(pol.MinTTLD())}
	if helpers, refresh := p.Helpers(); len(helpers) > 0 {
		pj.Policy.HelperRefresh = policy.Short(refresh)
	}
	return pj
}

// CheckToken asks the workspace whether p's token is valid. Only a
// rejection makes it invalid; a network error leaves it valid, with Error.
func CheckToken(ctx context.Context, f *cmdutil.Factory, p *store.Profile) *TokenCheck {
	if err := p.Unseal(); err != nil {
		return &TokenCheck{Valid: true, Error: err.Error()} // unknown, not rejected
	}
	c, err := f.Clients(p.Host, p.Token)
	if err == nil {
		var u workspace.User
		if u, err = c.Me(ctx); err == nil {
			return &TokenCheck{Valid: true, User: u.UserName}
		}
	}
	// Only a rejection makes the token invalid; a network error is unknown.
	return &TokenCheck{Valid: workspace.KindOf(err) != workspace.KindInvalidToken, Error: err.Error()}
}

// LoopbackProxied warns when agents started from this environment would
// send their requests to coda's proxy through an HTTP(S) proxy: a proxy
// variable is set and NO_PROXY does not cover 127.0.0.1. "" when not.
func LoopbackProxied(getenv func(string) string) string {
	var set []string
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	if len(set) == 0 {
		return ""
	}
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		if pluginkit.CoversLoopback(getenv(k)) {
			return ""
		}
	}
	return set[0] + " is set and NO_PROXY does not cover 127.0.0.1: agents that honour it would send coda's proxy requests through it; add 127.0.0.1,localhost to NO_PROXY"
}
