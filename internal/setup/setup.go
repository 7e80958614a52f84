// Package setup connects the configurator plugins to coda's profiles: it
// builds a plugin Target from a stored profile, remembers which plugins a
// profile configured, resolves the serving endpoints, and hands every
// rotation to the plugins that hold a literal token.
package setup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/rotation"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Keys in a profile's Settings.
const (
	keyPlugins     = "setup.plugins"
	keyEndpoint    = "setup.endpoint"
	keyWorkspaceID = "setup.workspace_id"
	keyGrace       = "setup.grace"
	modelPrefix    = "model."  // model.PLUGIN[.ROLE] = serving endpoint
	optionPrefix   = "option." // option.PLUGIN.NAME = value
)

// DefaultMinTTL is what credential helpers ask `coda token` to guarantee:
// a token handed to an agent always has real life left.
const DefaultMinTTL = 5 * time.Minute

// Configured lists the plugins a profile has set up.
func Configured(p *store.Profile) []string {
	if p == nil || p.Settings[keyPlugins] == "" {
		return nil
	}
	return strings.Split(p.Settings[keyPlugins], ",")
}

// SetConfigured records which plugins a profile has set up.
func SetConfigured(p *store.Profile, names []string) {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	setSetting(p, keyPlugins, strings.Join(names, ","))
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
		kept := slices.DeleteFunc(Configured(op), func(n string) bool {
			if !slices.Contains(names, n) {
				return false
			}
			if n == "databricks" {
				return databricksSection(op) == databricksSection(mine)
			}
			return true
		})
		SetConfigured(op, kept)
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

// Target builds what plugin name should configure for profile p. The
// token is included: plugins that deliver by helper ignore it.
func Target(name, profile string, p *store.Profile, exe string) configurator.Target {
	t := configurator.Target{
		Profile:      profile,
		Host:         p.Host,
		User:         p.User,
		Endpoints:    EndpointsFor(p.Host, p.Settings[keyEndpoint], p.Settings[keyWorkspaceID]),
		Models:       map[string]string{},
		Options:      map[string]string{},
		Token:        p.Token,
		TokenCommand: []string{exe, "token", "-p", profile, "--min-ttl", DefaultMinTTL.String()},
		Lifetime:     tokenLifetime(p),
		Grace:        durationSetting(p, keyGrace, rotation.DefaultGrace),
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

// SetGrace records the rotation grace the helpers' refresh intervals must
// stay below.
func SetGrace(p *store.Profile, grace time.Duration) {
	setSetting(p, keyGrace, grace.String())
}

// tokenLifetime is how long the profile's tokens live.
func tokenLifetime(p *store.Profile) time.Duration {
	if d := p.ExpiresAt.Sub(p.CreatedAt); d > 0 {
		return d
	}
	return rotation.DefaultLifetime
}

func durationSetting(p *store.Profile, key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(p.Settings[key]); err == nil && d >= 0 {
		return d
	}
	return def
}

// Consumer hands each rotation to the profile's literal-delivery plugins,
// so their files hold the new token before the old one is deleted.
type Consumer struct {
	Plugins []configurator.Configurator
	Env     configurator.Env
	Exe     string
}

func (c *Consumer) Name() string { return "setup" }

// TokenRotated rewrites every literal-token file of the profile.
func (c *Consumer) TokenRotated(ctx context.Context, profile string, p store.Profile) error {
	return c.each(p, func(pl configurator.Configurator, t configurator.Target) (configurator.Plan, error) {
		return pl.Plan(c.Env, t)
	}, profile)
}

// TokenRevoked takes the token out of every file that holds it; the rest
// of the configuration stays until coda setup --remove.
func (c *Consumer) TokenRevoked(ctx context.Context, profile string, p store.Profile) error {
	p.Token = ""
	return c.TokenRotated(ctx, profile, p)
}

func (c *Consumer) each(p store.Profile, plan func(configurator.Configurator, configurator.Target) (configurator.Plan, error), profile string) error {
	var failed []string
	for _, name := range Configured(&p) {
		pl := Find(c.Plugins, name)
		if pl == nil || pl.Delivery() != configurator.DeliveryLiteral {
			continue
		}
		pn, err := plan(pl, Target(name, profile, &p, c.Exe))
		if err == nil {
			err = pl.Apply(c.Env, secretChanges(pn))
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not hand the token to %s", strings.Join(failed, "; "))
	}
	return nil
}

// secretChanges keeps only the files that hold a token: a rotation must not
// undo what the user changed in the tool since setup (a model, say).
func secretChanges(p configurator.Plan) configurator.Plan {
	out := p
	out.Changes = nil
	for _, c := range p.Changes {
		if c.Secret {
			out.Changes = append(out.Changes, c)
		}
	}
	return out
}

// Find returns the plugin called name, or nil.
func Find(plugins []configurator.Configurator, name string) configurator.Configurator {
	for _, p := range plugins {
		if p.Name() == name {
			return p
		}
	}
	return nil
}
