package cmdutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/rotation"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// SettingsFile is coda's optional settings file in the config dir. coda
// reads it and CODA_* variables; it never writes either.
const SettingsFile = "config.yaml"

// Prompter asks a person for what login needs. Implementations must mask
// the token as it is typed.
type Prompter interface {
	Login(defaultHost string) (host, token string, err error)
}

// Factory builds a command's dependencies on first use, so a command that
// needs no network or settings never pays for them.
type Factory struct {
	IO       *IOStreams
	Getenv   func(string) string
	Clock    clock.Clock
	Clients  workspace.Factory
	Prompter func() Prompter
	// Consumers lists the token consumers told about every rotation.
	Consumers func() []rotation.Consumer

	// Filled in by the root command's persistent flags.
	ProfileFlag    string
	ProfileChanged bool
	Output         string

	once     sync.Once
	dir      string
	dirErr   error
	store    *store.FileStore
	settings *viper.Viper
	setErr   error
	setOnce  sync.Once
}

// ConfigDir is where settings and state live.
func (f *Factory) ConfigDir() (string, error) {
	f.once.Do(func() {
		f.dir, f.dirErr = store.DefaultDir(f.Getenv)
		if f.dirErr == nil {
			f.store = store.NewFileStore(f.dir)
		}
	})
	return f.dir, f.dirErr
}

// Store is the token store in the config dir.
func (f *Factory) Store() (*store.FileStore, error) {
	if _, err := f.ConfigDir(); err != nil {
		return nil, err
	}
	return f.store, nil
}

// Settings reads config.yaml (if present) and CODA_* variables.
func (f *Factory) Settings() (*viper.Viper, error) {
	f.setOnce.Do(func() {
		dir, err := f.ConfigDir()
		if err != nil {
			f.setErr = err
			return
		}
		v := viper.New()
		v.SetEnvPrefix("CODA")
		v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
		v.AutomaticEnv()
		path := filepath.Join(dir, SettingsFile)
		if _, err := os.Stat(path); err == nil {
			v.SetConfigFile(path)
			if err := v.ReadInConfig(); err != nil {
				f.setErr = fmt.Errorf("settings file %s is not valid YAML: fix or remove it", path)
				return
			}
		}
		f.settings = v
	})
	return f.settings, f.setErr
}

// Profile is the coda profile to act on: -p, else CODA_PROFILE or the
// settings file's `profile`, else "default".
func (f *Factory) Profile() (string, error) {
	name := f.ProfileFlag
	if !f.ProfileChanged {
		if env := f.Getenv("CODA_PROFILE"); env != "" {
			name = env
		} else if v, err := f.settingsIfPresent(); err != nil {
			return "", err
		} else if v != nil && v.GetString("profile") != "" {
			name = v.GetString("profile")
		}
	}
	if err := store.ValidateProfileName(name); err != nil {
		return "", exit.Usagef("%v", err)
	}
	return name, nil
}

// settingsIfPresent avoids building viper at all when there is no file.
func (f *Factory) settingsIfPresent() (*viper.Viper, error) {
	dir, err := f.ConfigDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, SettingsFile)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return f.Settings()
}

// JSON reports whether -o json was chosen.
func (f *Factory) JSON() bool { return f.Output == "json" }

// Duration returns a duration flag's value: the flag when given, else the
// setting of the same name (config.yaml or CODA_NAME), else the default.
func (f *Factory) Duration(cmd *cobra.Command, name string) (time.Duration, error) {
	fl := cmd.Flags().Lookup(name)
	val, _ := cmd.Flags().GetDuration(name)
	if fl == nil || fl.Changed {
		return val, nil
	}
	raw := f.Getenv("CODA_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
	if raw == "" {
		v, err := f.settingsIfPresent()
		if err != nil {
			return 0, err
		}
		if v == nil || !v.IsSet(name) {
			return val, nil
		}
		raw = v.GetString(name)
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, exit.Usagef("setting %s=%q is not a duration (use e.g. 15m)", name, raw)
	}
	return d, nil
}

// Rotator builds the rotation engine over this factory's dependencies.
func (f *Factory) Rotator() (*rotation.Rotator, error) {
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	return &rotation.Rotator{Store: st, Clients: f.Clients, Clock: f.Clock, Consumers: f.TokenConsumers()}, nil
}

// TokenConsumers are told about every token change (none when unset).
func (f *Factory) TokenConsumers() []rotation.Consumer {
	if f.Consumers == nil {
		return nil
	}
	return f.Consumers()
}
