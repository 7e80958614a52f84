package cmdutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/policy"
)

// SettingsFile is coda's optional settings file in the config dir. coda
// reads it and CODA_* variables; it never writes either.
const SettingsFile = "config.yaml"

// The timing settings, by their flag and config.yaml names.
const (
	KeyLifetime = "lifetime"
	KeyInterval = "interval"
	KeyGrace    = "grace"
	KeyMinTTL   = "min-ttl"
)

var timingKeys = []string{KeyLifetime, KeyInterval, KeyGrace, KeyMinTTL}

// settingsKeys are the top-level keys config.yaml may hold.
var settingsKeys = append([]string{"profile", "models"}, timingKeys...)

// EnvName is the CODA_* variable of a setting.
func EnvName(key string) string {
	return "CODA_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// Settings reads config.yaml (nil when there is none). Unknown keys and
// values of the wrong type are errors naming the key.
func (f *Factory) Settings() (*viper.Viper, error) {
	f.setOnce.Do(func() { f.settings, f.setErr = f.readSettings() })
	return f.settings, f.setErr
}

func (f *Factory) readSettings() (*viper.Viper, error) {
	dir, err := f.ConfigDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, SettingsFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return nil, exit.Usagef("settings file %s is not valid YAML: fix or remove it", path)
	}
	for _, key := range v.AllKeys() {
		top, _, _ := strings.Cut(key, ".")
		if !slices.Contains(settingsKeys, top) {
			return nil, exit.Usagef("%s: unknown setting %q (known: %s)", path, top, strings.Join(settingsKeys, ", "))
		}
	}
	for _, key := range timingKeys {
		if !v.IsSet(key) {
			continue
		}
		raw, ok := v.Get(key).(string)
		if _, err := time.ParseDuration(raw); !ok || err != nil {
			return nil, exit.Usagef("%s: %s must be a duration such as 15m, got %v", path, key, v.Get(key))
		}
	}
	if v.IsSet("profile") {
		if _, ok := v.Get("profile").(string); !ok {
			return nil, exit.Usagef("%s: profile must be a name, got %v", path, v.Get("profile"))
		}
	}
	if v.IsSet("models") {
		if _, ok := v.Get("models").(map[string]any); !ok {
			return nil, exit.Usagef("%s: models must map PLUGIN[.ROLE] to a model name", path)
		}
	}
	return v, nil
}

// ambientTiming is the timing from config.yaml with CODA_* over it.
func (f *Factory) ambientTiming() (map[string]any, error) {
	out := map[string]any{}
	v, err := f.Settings()
	if err != nil {
		return nil, err
	}
	for _, key := range timingKeys {
		if v != nil && v.IsSet(key) {
			out[key] = v.GetString(key)
		}
		if raw := f.Getenv(EnvName(key)); raw != "" {
			if _, err := time.ParseDuration(raw); err != nil {
				return nil, exit.Usagef("%s=%q is not a duration (use e.g. 15m)", EnvName(key), raw)
			}
			out[key] = raw
		}
	}
	return out, nil
}

// AddTimingFlags defines the timing flags named by keys on fs, with the
// default policy's values as their documented defaults.
func AddTimingFlags(fs *pflag.FlagSet, keys ...string) {
	d := policy.Default()
	help := map[string]string{
		KeyLifetime: "lifetime of each new token (1m to 24h; stored in the profile)",
		KeyInterval: "time between the watcher's rotations (stored in the profile)",
		KeyGrace:    "how long an old token lives on after a rotation (stored in the profile)",
		KeyMinTTL:   "a token handed out has at least this long left, else coda rotates first",
	}
	def := map[string]time.Duration{KeyLifetime: d.LifetimeD(), KeyInterval: d.IntervalD(), KeyGrace: d.GraceD(), KeyMinTTL: d.MinTTLD()}
	for _, k := range keys {
		fs.Duration(k, def[k], help[k])
	}
}

// Timing is the engine's policy resolver for cmd: flags over CODA_* over
// config.yaml over the profile's stored settings, resolved through viper
// bound to the flags; values set nowhere derive from the lifetime. With
// persist, the flags the user gave are stored in the profile; CODA_* and
// config.yaml never are.
func (f *Factory) Timing(cmd *cobra.Command, persist bool) (lifecycle.Timing, error) {
	ambient, err := f.ambientTiming()
	if err != nil {
		return nil, err
	}
	flags := cmd.Flags()
	return func(stored policy.Settings) (policy.Policy, policy.Settings, error) {
		v := viper.New()
		fields := func(st *policy.Settings) map[string]**policy.Duration {
			return map[string]**policy.Duration{KeyLifetime: &st.Lifetime, KeyInterval: &st.Interval, KeyGrace: &st.Grace, KeyMinTTL: &st.MinTTL}
		}
		for key, val := range fields(&stored) {
			if *val != nil {
				v.SetDefault(key, time.Duration(**val).String())
			}
			if fl := flags.Lookup(key); fl != nil {
				if err := v.BindPFlag(key, fl); err != nil {
					return policy.Policy{}, stored, err
				}
			}
		}
		if err := v.MergeConfigMap(ambient); err != nil {
			return policy.Policy{}, stored, err
		}
		var inForce policy.Settings
		for key, dst := range fields(&inForce) {
			if v.IsSet(key) {
				*dst = policy.D(v.GetDuration(key))
			}
		}
		toStore := stored
		if persist {
			for key, dst := range fields(&toStore) {
				if fl := flags.Lookup(key); fl != nil && fl.Changed {
					d, _ := flags.GetDuration(key)
					*dst = policy.D(d)
				}
			}
		}
		return inForce.Policy(), toStore, nil
	}, nil
}

// SettingString is a string setting from config.yaml ("" when unset).
func (f *Factory) SettingString(key string) (string, error) {
	v, err := f.Settings()
	if err != nil || v == nil {
		return "", err
	}
	return v.GetString(key), nil
}

// DescribeSetting names where a key's value can come from, for help text.
func DescribeSetting(key string) string {
	return fmt.Sprintf("--%s, %s or %s in %s", key, EnvName(key), key, SettingsFile)
}
