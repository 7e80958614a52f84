package cmdutil

// Shell completion of coda's nouns: profiles, plugins, tools and model
// names. The shell runs these on every TAB, so they answer only from what
// is on this machine: the credentials file read without its lock (a
// rotation holding the lock must not stall a keystroke), the plugin list,
// and a cache of serving-endpoint names that commands which list them
// anyway leave behind. Never the network. Errors mean no candidates.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/atomicfile"
	"github.com/coda-cli/coda/pkg/configurator"
)

// ModelCacheTTL is how long listed serving-endpoint names are offered for
// --model: long enough to outlive the setup session that listed them,
// short enough that a deleted endpoint soon stops being suggested.
const ModelCacheTTL = 24 * time.Hour

// modelCacheDir is where the cache files live, inside the config dir.
const modelCacheDir = "cache"

// modelCache is a profile's cache file, cache/models-PROFILE.json. Host
// ties it to the workspace it was listed from: a login to another
// workspace makes it stale at once.
type modelCache struct {
	Version  int       `json:"version"`
	Host     string    `json:"host"`
	ListedAt time.Time `json:"listed_at"`
	Models   []string  `json:"models"`
}

// ModelCachePath is the model-name cache file of profile in config dir
// dir. Profile names are validated, so they are safe in a file name.
func ModelCachePath(dir, profile string) string {
	return filepath.Join(dir, modelCacheDir, "models-"+profile+".json")
}

// RememberModels records the serving endpoints just listed from host for
// profile, for --model completion. Best effort: a cache that cannot be
// written must not fail the command that listed them.
func (f *Factory) RememberModels(profile, host string, models []string) {
	dir, err := f.ConfigDir()
	if err != nil || f.Clock == nil {
		return
	}
	data, err := json.Marshal(modelCache{Version: 1, Host: host, ListedAt: f.Clock.Now().UTC(), Models: models})
	if err != nil {
		return
	}
	path := ModelCachePath(dir, profile)
	if os.MkdirAll(filepath.Dir(path), 0o700) != nil {
		return
	}
	_ = atomicfile.Write(path, append(data, '\n'), 0o600, nil)
}

// cachedModels are the model names cached for the profile cmd acts on,
// when the cache is fresh and from the profile's current workspace.
func (f *Factory) cachedModels(cmd *cobra.Command) []string {
	profile, ok := f.completionProfile(cmd)
	if !ok || f.Clock == nil {
		return nil
	}
	dir, err := f.ConfigDir()
	if err != nil {
		return nil
	}
	raw, err := os.ReadFile(ModelCachePath(dir, profile))
	if err != nil {
		return nil
	}
	var c modelCache
	if json.Unmarshal(raw, &c) != nil || c.Version != 1 {
		return nil
	}
	if age := f.Clock.Now().Sub(c.ListedAt); age < 0 || age > ModelCacheTTL {
		return nil
	}
	st, err := f.Store()
	if err != nil {
		return nil
	}
	state, err := st.Load()
	if err != nil {
		return nil
	}
	if p := state.Profile(profile); p == nil || p.Host != c.Host {
		return nil
	}
	return c.Models
}

// completionProfile is the profile the command line being completed acts
// on: -p when typed, else what Profile resolves. The root's
// PersistentPreRunE, which records -p, does not run while completing.
func (f *Factory) completionProfile(cmd *cobra.Command) (string, bool) {
	if fl := cmd.Flags().Lookup("profile"); fl != nil {
		f.ProfileChanged = fl.Changed
	}
	name, err := f.Profile()
	return name, err == nil
}

// CompleteProfiles completes -p with the profiles in the credentials file,
// each described by its workspace.
func (f *Factory) CompleteProfiles(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	st, err := f.Store()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	state, err := st.Load()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, name := range state.ProfileNames() {
		if strings.HasPrefix(name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(name, state.Profile(name).Host))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// CompleteArgs completes positional arguments from names, leaving out the
// ones already on the line (cobra's ValidArgs completes the first only).
func CompleteArgs(names []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// CompletePlugins completes plugin names (coda setup NAME...), described,
// leaving out those already named; nothing once --all is given.
func CompletePlugins(plugins []configurator.Configurator) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if all, err := cmd.Flags().GetBool("all"); err == nil && all {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, pl := range plugins {
			info := pl.Info()
			if strings.HasPrefix(info.Name, toComplete) && !slices.Contains(args, info.Name) {
				out = append(out, cobra.CompletionWithDesc(info.Name, info.Description))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteModels completes --model PLUGIN=MODEL (or PLUGIN.ROLE=MODEL):
// first the PLUGIN= prefixes, with no space after them, then after the =
// the serving endpoints cached for the profile (RememberModels).
func (f *Factory) CompleteModels(plugins []configurator.Configurator) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		name, partial, typed := strings.Cut(toComplete, "=")
		if !typed {
			var out []cobra.Completion
			for _, pl := range plugins {
				info := pl.Info()
				if strings.HasPrefix(info.Name+"=", toComplete) {
					out = append(out, cobra.CompletionWithDesc(info.Name+"=", info.Description))
				}
			}
			return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
		}
		plugin, _, _ := strings.Cut(name, ".")
		if !slices.ContainsFunc(plugins, func(pl configurator.Configurator) bool { return pl.Info().Name == plugin }) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, m := range f.cachedModels(cmd) {
			if strings.HasPrefix(m, partial) {
				out = append(out, name+"="+m)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteWords completes a flag's value from a fixed set of words.
func CompleteWords(words ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp)
}
