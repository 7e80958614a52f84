package doctor

import (
	"context"
	"sync"
	"time"

	"github.com/coda-cli/coda/internal/cmdutil"
	core "github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
	"github.com/coda-cli/coda/pkg/configurator"
)

// world is the snapshot every check reads: the profile as stored, the
// plugins' targets, and the workspace client, built on first use.
type world struct {
	ctx     context.Context
	opts    *Options
	f       *cmdutil.Factory
	profile string
	dir     string
	st      *store.FileStore
	// loadErr is why the store could not be read; p is nil then.
	loadErr error
	p       *store.Profile
	// sealErr is why a token kept in the system keyring could not be read.
	sealErr error
	now     time.Time
	env     configurator.Env
	exe     string
	// rejected is set once the workspace refused the token: the online
	// checks after it have nothing to add.
	rejected bool
	// key is the profile's proxy key ("" when none): never printed.
	key   string
	tools []tool

	clientOnce sync.Once
	client     workspace.Client
	clientErr  error

	// usage caches protocolsOf by tool name.
	usage map[string]usage

	listOnce sync.Once
	listed   []string
	listErr  error
}

// tool is one plugin the profile set up, with the target it was set up for.
type tool struct {
	name string
	rec  store.Tool
	// pl is nil for a plugin this coda does not know.
	pl configurator.Configurator
	// target is what setup configures now (through the proxy when the
	// tool is proxied); direct is the same on the workspace itself.
	target, direct configurator.Target
	targetErr      error
}

func newWorld(ctx context.Context, opts *Options) (*world, error) {
	f := opts.F
	profile, err := f.Profile()
	if err != nil {
		return nil, err
	}
	dir, err := f.ConfigDir()
	if err != nil {
		return nil, err
	}
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	w := &world{ctx: ctx, opts: opts, f: f, profile: profile, dir: dir, st: st, now: f.Clock.Now(),
		env: core.Env(f.Getenv, dir), exe: core.Executable(), usage: map[string]usage{}}
	w.env.Getwd = f.Getwd
	state, err := st.Load()
	if err != nil {
		w.loadErr = err
		return w, nil
	}
	w.p = state.Profile(profile)
	if w.p == nil {
		return w, nil
	}
	w.sealErr = w.p.Unseal()
	w.key = core.ReadProxyKey(dir, profile)
	for _, rec := range w.p.Tools {
		t := tool{name: rec.Plugin, rec: rec, pl: core.Find(opts.Plugins, rec.Plugin)}
		if t.pl != nil {
			refresh := core.Refresh(w.p, t.pl)
			t.target, t.targetErr = core.TargetFor(t.pl, profile, w.p, w.exe, refresh, w.key)
			t.direct = core.Target(t.name, profile, w.p, w.exe, refresh)
		}
		w.tools = append(w.tools, t)
	}
	return w, nil
}

// live reports whether the profile holds a token that has not expired.
func (w *world) live() bool { return w.p.Live(w.now) }

// secrets are the values no line may show.
func (w *world) secrets() []string {
	if w.p == nil {
		return nil
	}
	return []string{w.p.Token, w.key}
}

// workspace is the SDK client over the profile's token.
func (w *world) workspace() (workspace.Client, error) {
	w.clientOnce.Do(func() { w.client, w.clientErr = w.f.Clients(w.p.Host, w.p.Token) })
	return w.client, w.clientErr
}

// servingEndpoints lists the workspace's serving endpoints, once.
func (w *world) servingEndpoints() ([]string, error) {
	w.listOnce.Do(func() {
		c, err := w.workspace()
		if err != nil {
			w.listErr = err
			return
		}
		w.listed, w.listErr = c.ServingEndpoints(w.ctx)
		if w.listErr == nil {
			w.f.RememberModels(w.profile, w.p.Host, w.listed) // for --model completion
		}
	})
	return w.listed, w.listErr
}

// cmd is a coda command line for the profile: "-p NAME" after the
// subcommand unless the profile is the default one.
func (w *world) cmd(sub string, args ...string) string {
	s := "coda " + sub + store.ProfileFlag(w.profile)
	for _, a := range args {
		s += " " + a
	}
	return s
}
