package cmdutil

import (
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/spf13/viper"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/logging"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Prompter asks a person for what login needs. Implementations must mask
// the token as it is typed.
type Prompter interface {
	// Login asks for the workspace URL (unless p.HostFixed) and a personal
	// access token.
	Login(p LoginPrompt) (host, token string, err error)
	// Choose asks for one of options and returns its Value.
	Choose(title string, options []Option) (string, error)
	// Confirm asks a yes-or-no question; def is what Enter answers.
	Confirm(title string, def bool) (bool, error)
}

// LoginPrompt is what Login asks for.
type LoginPrompt struct {
	// Host prefills the workspace URL.
	Host string
	// HostFixed says the host was given (--host): only the token is asked.
	HostFixed bool
}

// Option is one answer to a Choose prompt.
type Option struct{ Label, Value string }

// Factory builds a command's dependencies on first use, so a command that
// needs no network or settings never pays for them.
type Factory struct {
	IO     *IOStreams
	Getenv func(string) string
	// Getwd is the user's working directory; nil means os.Getwd.
	Getwd    func() (string, error)
	Clock    clock.Clock
	Clients  workspace.Factory
	Prompter func() Prompter
	// Plugins are the configurators setup and status know (the built-in
	// ones, plus any a custom coda adds through pkg/coda).
	Plugins []configurator.Configurator
	// Signals lets a command take the interrupt signals from the root's
	// handler; nil in tests.
	Signals *SignalRelay

	// Filled in by the root command's persistent flags.
	ProfileFlag    string
	ProfileChanged bool
	// Output is the output format (text or json), settled by
	// ResolveOutput; OutputFlag says -o was on the command line.
	Output     string
	OutputFlag bool
	// Debug and Quiet are --debug and -q (see Log).
	Debug, Quiet bool

	once     sync.Once
	dir      string
	dirErr   error
	store    *store.FileStore
	settings *viper.Viper
	setErr   error
	setOnce  sync.Once
	logOnce  sync.Once
	log      *slog.Logger
	logLevel slog.LevelVar
}

// Log is coda's logger on stderr (package logging): Debug with --debug or
// CODA_DEBUG=1, Warn with -q (which wins over CODA_DEBUG), else Info. The
// watcher, the proxy and the workspace client's HTTP trace write to it;
// results on stdout never do.
func (f *Factory) Log() *slog.Logger {
	f.logOnce.Do(func() { f.log = logging.New(f.IO.ErrOut, &f.logLevel) })
	debug := f.Debug
	if !debug && f.Getenv != nil {
		debug, _ = strconv.ParseBool(f.Getenv("CODA_DEBUG"))
	}
	// Set at every call: the flags are parsed after the Factory is built.
	f.logLevel.Set(logging.Level(debug, f.Quiet))
	return f.log
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

// Profile is the coda profile to act on: -p, else CODA_PROFILE or the
// settings file's `profile`, else "default".
func (f *Factory) Profile() (string, error) {
	name := f.ProfileFlag
	if !f.ProfileChanged {
		if env := f.Getenv("CODA_PROFILE"); env != "" {
			name = env
		} else if v, err := f.SettingString("profile"); err != nil {
			return "", err
		} else if v != "" {
			name = v
		}
	}
	if err := store.ValidateProfileName(name); err != nil {
		return "", exit.Usagef("%v", err)
	}
	return name, nil
}

// JSON reports whether the output is JSON: -o json, CODA_OUTPUT=json or
// output: json in config.yaml.
func (f *Factory) JSON() bool { return f.Output == "json" }

// ExplicitJSON reports whether -o json is on the command line. Outputs
// that other programs read as text (coda token's bare token, coda env's
// lines for eval) heed only that: CODA_OUTPUT or config.yaml must not turn
// every agent's key command into JSON.
func (f *Factory) ExplicitJSON() bool { return f.OutputFlag && f.JSON() }

// Lifecycle is what every lifecycle command starts from: the profile to
// act on and the engine.
func (f *Factory) Lifecycle() (string, *lifecycle.Engine, error) {
	profile, err := f.Profile()
	if err != nil {
		return "", nil, err
	}
	e, err := f.Engine()
	return profile, e, err
}

// Engine builds the lifecycle engine over this factory's dependencies.
func (f *Factory) Engine() (*lifecycle.Engine, error) {
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	return &lifecycle.Engine{Store: st, Clients: f.Clients, Clock: f.Clock,
		Sinks: sink.Writer{LockDir: filepath.Join(f.dir, "locks")}}, nil
}
