package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

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

// KeyOutput is the output format's setting (-o): text or json.
const KeyOutput = "output"

// KeyStorage is where coda login keeps a profile's token: keyring or
// file (coda login --storage).
const KeyStorage = "storage"

// settingsKeys are the top-level keys config.yaml may hold.
var settingsKeys = append([]string{"profile", KeyOutput, KeyStorage, "models"}, timingKeys...)

// EnvName is the CODA_* variable of a setting.
func EnvName(key string) string {
	return "CODA_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// Settings reads config.yaml (nil when there is none). Unknown keys and
// values of the wrong type are errors naming the key and its line.
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
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// viper keeps no line numbers and folds the case of keys: the file is
	// checked on its YAML nodes first, so an error points at the line.
	if err := checkSettings(path, data); err != nil {
		return nil, err
	}
	// The bytes already read and checked, not the file a second time.
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, exit.Usagef("settings file %s is not valid YAML: fix or remove it", path)
	}
	return v, nil
}

// yamlLine finds the line number in a YAML parser's error.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// checkSettings checks config.yaml's keys and the types of their values.
// Errors name the file, line and key; they quote a value only when it is
// a plain scalar, never the file.
func checkSettings(path string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		at := path
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			at += ":" + m[1]
		}
		return exit.Usagef("%s: not valid YAML: fix or remove the settings file", at)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return exit.Usagef("%s:%d: settings are `key: value` lines (known keys: %s)", path, root.Line, strings.Join(settingsKeys, ", "))
	}
	isString := func(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!str" }
	got := func(n *yaml.Node) string {
		if n.Kind == yaml.ScalarNode {
			return fmt.Sprintf(", got %q", n.Value)
		}
		return ""
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		at := fmt.Sprintf("%s:%d", path, k.Line)
		if first, dup := seen[key]; dup {
			return exit.Usagef("%s: %s is set twice (first on line %d)", at, key, first)
		}
		seen[key] = k.Line
		switch {
		case !slices.Contains(settingsKeys, key):
			return exit.Usagef("%s: unknown setting %q%s (known: %s)", at, key, DidYouMean(key, settingsKeys), strings.Join(settingsKeys, ", "))
		case slices.Contains(timingKeys, key):
			if _, err := time.ParseDuration(v.Value); !isString(v) || err != nil {
				return exit.Usagef("%s: %s must be a duration such as 15m%s", at, key, got(v))
			}
		case key == "profile":
			if !isString(v) {
				return exit.Usagef("%s: profile must be a name%s", at, got(v))
			}
		case key == KeyOutput:
			if !isString(v) || (v.Value != "text" && v.Value != "json") {
				return exit.Usagef("%s: output must be text or json%s", at, got(v))
			}
		case key == KeyStorage:
			if !isString(v) || (v.Value != "keyring" && v.Value != "file") {
				return exit.Usagef("%s: storage must be keyring or file%s", at, got(v))
			}
		case key == "models":
			if v.Kind != yaml.MappingNode {
				return exit.Usagef("%s: models must map PLUGIN or PLUGIN.ROLE to a model name", at)
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				if name, model := v.Content[j], v.Content[j+1]; !isString(model) || model.Value == "" {
					return exit.Usagef("%s:%d: models.%s must be a model name%s", path, name.Line, name.Value, got(model))
				}
			}
		}
	}
	return nil
}

// ResolveOutput settles the output format: -o when it is on the command
// line (flagSet), else CODA_OUTPUT, else output in config.yaml, else
// text.
func (f *Factory) ResolveOutput(flagSet bool) error {
	f.OutputFlag = flagSet
	src := "--output"
	if !flagSet {
		if env := f.Getenv(EnvName(KeyOutput)); env != "" {
			f.Output, src = env, EnvName(KeyOutput)
		} else if v, err := f.SettingString(KeyOutput); err != nil {
			return err
		} else if v != "" {
			f.Output, src = v, KeyOutput+" in "+SettingsFile
		}
	}
	if f.Output != "text" && f.Output != "json" {
		return exit.Usagef("%s must be text or json, got %q", src, f.Output)
	}
	return nil
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
