// Package pluginhost connects the configurator plugins to coda's profiles:
// it builds a plugin Target from a stored profile, records which tools a
// profile set up (with their helper refresh interval and token sinks), and
// resolves the serving endpoints. Rotations never come here: the lifecycle
// engine reaches tools only through the sinks recorded at setup.
package pluginhost

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Keys in a profile's Settings.
const (
	keyEndpoint    = "setup.endpoint"
	keyWorkspaceID = "setup.workspace_id"
	modelPrefix    = "model."  // model.PLUGIN[.ROLE] = serving endpoint
	optionPrefix   = "option." // option.PLUGIN.NAME = value
)

// Configured lists the plugins a profile has set up.
func Configured(p *store.Profile) []string {
	if p == nil {
		return nil
	}
	names := make([]string, 0, len(p.Tools))
	for _, t := range p.Tools {
		names = append(names, t.Plugin)
	}
	return names
}

// Record replaces (or adds) the records of tools, keeping the others.
func Record(p *store.Profile, tools ...store.Tool) {
	for _, t := range tools {
		if old := p.Tool(t.Plugin); old != nil {
			*old = t
		} else {
			p.Tools = append(p.Tools, t)
		}
	}
}

// Forget drops the records of the named plugins.
func Forget(p *store.Profile, names ...string) {
	p.Tools = slices.DeleteFunc(p.Tools, func(t store.Tool) bool { return slices.Contains(names, t.Plugin) })
}

func setSetting(p *store.Profile, k, v string) {
	if p.Settings == nil {
		p.Settings = map[string]string{}
	}
	if v == "" {
		delete(p.Settings, k)
		return
	}
	p.Settings[k] = v
}

// ReleaseFromOthers drops names from every other profile's plugin list:
// each tool has one config per user, so the profile set up last owns it
// and other profiles' rotations must not switch it back. The Databricks
// CLI is the exception when the profiles use different sections.
func ReleaseFromOthers(s *store.State, owner string, names []string) {
	mine := s.Profile(owner)
	for _, other := range s.ProfileNames() {
		op := s.Profile(other)
		if other == owner || op == nil {
			continue
		}
		op.Tools = slices.DeleteFunc(op.Tools, func(t store.Tool) bool {
			if !slices.Contains(names, t.Plugin) {
				return false
			}
			if t.Plugin == "databricks" {
				return databricksSection(op) == databricksSection(mine)
			}
			return true
		})
	}
}

func databricksSection(p *store.Profile) string {
	if p == nil || p.Settings[optionPrefix+"databricks.profile"] == "" {
		return "DEFAULT"
	}
	return p.Settings[optionPrefix+"databricks.profile"]
}

// Env is the plugin environment of this process.
func Env(getenv func(string) string, stateDir string) configurator.Env {
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return configurator.Env{Home: home, Getenv: getenv, LookPath: exec.LookPath, StateDir: stateDir}
}

// Executable is how helpers should call coda: the path it was started by,
// made absolute but not resolved through symlinks, so a package manager's
// stable link keeps working across upgrades.
func Executable() string {
	exe := os.Args[0]
	if !strings.ContainsRune(exe, filepath.Separator) {
		if p, err := exec.LookPath(exe); err == nil {
			exe = p
		}
	}
	if abs, err := filepath.Abs(exe); err == nil {
		return abs
	}
	return exe
}

// Target builds what plugin name should configure for profile p, whose
// credential helpers must refresh every refresh. The token is included:
// plugins that deliver by helper ignore it.
func Target(name, profile string, p *store.Profile, exe string, refresh time.Duration) configurator.Target {
	t := configurator.Target{
		Profile:       profile,
		Host:          p.Host,
		User:          p.User,
		Endpoints:     EndpointsFor(p.Host, p.Settings[keyEndpoint], p.Settings[keyWorkspaceID]),
		Models:        map[string]string{},
		Options:       map[string]string{},
		Token:         p.Token,
		TokenCommand:  []string{exe, "token", "-p", profile},
		HelperRefresh: refresh,
	}
	for k, v := range p.Settings {
		if rest, ok := strings.CutPrefix(k, modelPrefix+name); ok {
			switch {
			case rest == "":
				t.Models["model"] = v
			case strings.HasPrefix(rest, "."):
				t.Models[rest[1:]] = v
			}
		}
		if opt, ok := strings.CutPrefix(k, optionPrefix+name+"."); ok {
			t.Options[opt] = v
		}
	}
	return t
}

// Refresh is the helper refresh interval plugin pl was (or is to be) set
// up with in p: the recorded one, else the one the profile's grace implies.
func Refresh(p *store.Profile, pl configurator.Configurator) time.Duration {
	if pl.Info().Delivery != configurator.DeliveryHelper {
		return 0
	}
	if t := p.Tool(pl.Info().Name); t != nil && t.Refresh > 0 {
		return time.Duration(t.Refresh)
	}
	return policy.HelperRefresh(p.Policy.Policy().GraceD())
}

// ToolRecord is what a profile records for plugin pl set up for t: the
// helper refresh interval of a helper plugin, the sinks of a literal one.
func ToolRecord(env configurator.Env, pl configurator.Configurator, t configurator.Target) (store.Tool, error) {
	rec := store.Tool{Plugin: pl.Info().Name}
	if t.Proxied {
		// The tool holds the proxy's local key, which never rotates: no
		// sink to write, no helper to keep inside the grace.
		rec.Proxied = true
		return rec, nil
	}
	switch pl.Info().Delivery {
	case configurator.DeliveryHelper:
		rec.Refresh = policy.Duration(t.HelperRefresh)
	case configurator.DeliveryLiteral:
		d, ok := pl.(configurator.SinkDeclarer)
		if !ok {
			return rec, fmt.Errorf("%s: a plugin that delivers the token literally must declare its sinks (configurator.SinkDeclarer)", pl.Info().Name)
		}
		sinks, err := d.Sinks(env, t)
		if err != nil {
			return rec, err
		}
		for _, s := range sinks {
			if err := s.Check(); err != nil {
				return rec, err
			}
		}
		rec.Sinks = sinks
	}
	return rec, nil
}

// Find returns the plugin called name, or nil.
func Find(plugins []configurator.Configurator, name string) configurator.Configurator {
	for _, p := range plugins {
		if p.Info().Name == name {
			return p
		}
	}
	return nil
}
