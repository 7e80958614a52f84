// Package status implements `coda status`: what coda holds, offline unless
// --check asks the workspace.
package status

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
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

	Check bool
	All   bool

	// Plugins report the state of the tools a profile set up.
	Plugins []configurator.Configurator
}

// NewCmdStatus builds the command; runF replaces the run function in tests.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, Plugins: f.Plugins}
	cmd := &cobra.Command{
		Use:   "status [--check] [--all]",
		Short: "Show the profile's token, pending deletions and watcher",
		Long: `Show what coda holds for the profile: host, user, token id (last 4
characters), when it was created and expires, the last rotation, old tokens
waiting to be deleted, and whether a watcher runs. Offline by default;
--check also asks the workspace whether the token is valid. --all shows
every profile.

Exits 0 when the token is valid, 4 when it is absent, expired or (with
--check) rejected. With -o json it prints a versioned object with an array
of profiles; times are RFC 3339 UTC and no token value is ever included.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Check, "check", false, "also validate the token online")
	cmd.Flags().BoolVar(&opts.All, "all", false, "show every profile")
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
	Name   string `json:"name"`
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
}

type profileJSON struct {
	Name             string                `json:"name"`
	LoggedIn         bool                  `json:"logged_in"`
	Valid            bool                  `json:"valid"`
	Host             string                `json:"host,omitempty"`
	User             string                `json:"user,omitempty"`
	TokenID          string                `json:"token_id,omitempty"`
	CreatedAt        *time.Time            `json:"created_at,omitempty"`
	ExpiresAt        *time.Time            `json:"expires_at,omitempty"`
	ExpiresInSeconds int64                 `json:"expires_in_seconds"`
	LastRotation     *time.Time            `json:"last_rotation,omitempty"`
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
		pj := describe(name, state.Profile(name), now)
		pid, running := st.WatcherPID(name)
		pj.Watcher = watcherJSON{Running: running, PID: pid}
		pj.Plugins = PluginStates(f, opts.Plugins, name, state.Profile(name))
		if p := state.Profile(name); p.ServesProxy() {
			pj.Proxy = &proxyJSON{Address: "127.0.0.1:" + strconv.Itoa(p.Proxy.Port), Running: proxycmd.Running(p), Agents: p.ProxyClients(),
				Warning: LoopbackProxied(f.Getenv)}
		}
		if opts.Check && pj.Valid {
			pj.Check = CheckToken(ctx, f, state.Profile(name))
			pj.Valid = pj.Check.Valid
		}
		out.Profiles = append(out.Profiles, pj)
	}
	if f.JSON() {
		if err := cmdutil.PrintJSON(f.IO.Out, out); err != nil {
			return err
		}
	} else {
		printText(f.IO.Out, out.Profiles)
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
	exe := core.Executable()
	for _, name := range core.Configured(p) {
		pl := core.Find(plugins, name)
		if pl == nil {
			out = append(out, PluginState{Name: name, State: "unknown", Detail: "not a plugin of this coda"})
			continue
		}
		t, err := core.TargetFor(pl, profile, p, exe, core.Refresh(p, pl), core.ReadProxyKey(dir, profile))
		if err != nil {
			out = append(out, PluginState{Name: name, State: "error", Detail: err.Error()})
			continue
		}
		st, err := pl.Status(env, t)
		if err != nil {
			out = append(out, PluginState{Name: name, State: "error", Detail: err.Error()})
			continue
		}
		out = append(out, PluginState{Name: name, State: string(st.State), Detail: st.Detail})
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
	pj.CreatedAt, pj.ExpiresAt = utc(p.CreatedAt), utc(p.ExpiresAt)
	pj.ExpiresInSeconds = int64(p.Remaining(now) / time.Second)
	pj.LastRotation = utc(p.LastRotation)
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

func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
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

func printText(w io.Writer, profiles []profileJSON) {
	for i, pj := range profiles {
		if i > 0 {
			fmt.Fprintln(w)
		}
		row := func(k, v string) { fmt.Fprintf(w, "%-15s%s\n", k+":", v) }
		row("Profile", pj.Name)
		if !pj.LoggedIn {
			row("Token", "none (run coda login)")
			continue
		}
		row("Host", pj.Host)
		row("User", pj.User)
		state := "valid"
		switch {
		case pj.ExpiresInSeconds == 0:
			state = "expired (run coda login)"
		case pj.Check != nil && !pj.Check.Valid:
			state = "rejected by the workspace (run coda login)"
		case pj.Check != nil && pj.Check.Error != "":
			state = "not checked: " + pj.Check.Error
		case pj.Check != nil:
			state = "valid (checked online)"
		}
		row("Token", pj.TokenID+" "+state)
		row("Created", pj.CreatedAt.Format(time.RFC3339))
		if pj.ExpiresInSeconds > 0 {
			row("Expires in", fmt.Sprintf("%s (%s)", (time.Duration(pj.ExpiresInSeconds)*time.Second).String(), pj.ExpiresAt.Format(time.RFC3339)))
		} else {
			row("Expired", pj.ExpiresAt.Format(time.RFC3339))
		}
		if pj.LastRotation != nil {
			row("Last rotation", pj.LastRotation.Format(time.RFC3339))
		} else {
			row("Last rotation", "never")
		}
		if len(pj.Pending) == 0 {
			row("Pending", "none")
		}
		for j, pe := range pj.Pending {
			label := ""
			if j == 0 {
				label = "Pending"
			}
			desc := fmt.Sprintf("%s delete after %s", pe.TokenID, pe.DeleteAfter.Format(time.RFC3339))
			if pe.Host != "" {
				desc = fmt.Sprintf("%s on %s (no longer logged in there), expires %s", pe.TokenID, pe.Host, pe.ExpiresAt.Format(time.RFC3339))
			} else if pe.HeldBy != "" {
				desc = fmt.Sprintf("%s kept while a tool may hold it: %s", pe.TokenID, pe.HeldBy)
			} else if pe.LastError != "" {
				desc = fmt.Sprintf("%s failed %d times: %s", pe.TokenID, pe.Attempts, pe.LastError)
			}
			if label == "" {
				fmt.Fprintf(w, "%-15s%s\n", "", desc)
			} else {
				row(label, desc)
			}
		}
		if skew := time.Duration(pj.ClockSkewSeconds) * time.Second; skew != 0 {
			side := "ahead of"
			if skew < 0 {
				side = "behind"
			}
			row("Clock", fmt.Sprintf("the workspace is %s %s this machine (token times shown in this machine's clock)", policy.Short(skew.Abs()), side))
		}
		if pol := pj.Policy; pol != nil {
			desc := fmt.Sprintf("lifetime %s, interval %s, grace %s, min-ttl %s", pol.Lifetime, pol.Interval, pol.Grace, pol.MinTTL)
			if pol.HelperRefresh != "" {
				desc += ", helpers refresh every " + pol.HelperRefresh
			}
			row("Timing", desc)
		}
		for j, pl := range pj.Plugins {
			label := ""
			if j == 0 {
				label = "Plugins:"
			}
			desc := pl.Name + " " + pl.State
			if pl.Detail != "" {
				desc += ": " + pl.Detail
			}
			fmt.Fprintf(w, "%-15s%s\n", label, desc)
		}
		if px := pj.Proxy; px != nil {
			if px.Running {
				row("Proxy", fmt.Sprintf("http://%s up, for %s", px.Address, strings.Join(px.Agents, ", ")))
			} else {
				row("Proxy", fmt.Sprintf("http://%s DOWN: %s cannot reach the workspace; start it with coda rotate --watch, coda proxy, or coda service install", px.Address, strings.Join(px.Agents, ", ")))
			}
			if px.Warning != "" {
				fmt.Fprintf(w, "%-15s%s\n", "", "warning: "+px.Warning)
			}
		}
		if pj.Watcher.Running {
			row("Watcher", fmt.Sprintf("running (PID %d)", pj.Watcher.PID))
		} else {
			row("Watcher", "not running (start one with coda rotate --watch)")
		}
	}
}
