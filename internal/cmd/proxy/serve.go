package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/logging"
	"github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/proxy"
	"github.com/coda-cli/coda/internal/store"
)

// Options are `coda proxy`'s dependencies.
type Options struct {
	F *cmdutil.Factory
}

// NewCmdProxy builds `coda proxy` (and `coda proxy key`); runF replaces the
// run function in tests.
func NewCmdProxy(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Serve the profile's loopback credential proxy in the foreground",
		Long: `Serve the profile's credential proxy on 127.0.0.1, for the agents that coda
setup put in proxy mode (--proxy auto: Gemini CLI; --proxy all: every
agent). They hold a local key instead of a Databricks token; the proxy
checks it, swaps it for the profile's current token, and forwards only
model-serving requests to the workspace. A request the workspace refuses
because its token was just rotated away is retried once with the new one,
so running sessions survive every rotation, even with --grace 0s.

coda rotate --watch serves the proxy itself; run coda proxy when you rotate
from cron instead. Ctrl-C or SIGTERM stops it (requests in flight finish).`,
		Example: `  coda proxy
  coda proxy -p staging`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			profile, e, err := f.Lifecycle()
			if err != nil {
				return err
			}
			serve, err := Prepare(f, e, profile, nil)
			if err != nil {
				return err
			}
			if serve == nil {
				return exit.Usagef("nothing of profile %s goes through the proxy: run coda setup gemini (or coda setup --all --proxy all, or coda env) first", profile)
			}
			return serve(cmd.Context())
		},
	}
	cmd.AddCommand(NewCmdKey(f, nil))
	return cmd
}

// Prepare readies the proxy of profile when one of its tools uses it: it
// listens on the profile's port and returns the function that serves until
// ctx ends. It returns nil when no tool of the profile goes through the
// proxy. Listening first means a port in use is an error before the caller
// starts anything else.
func Prepare(f *cmdutil.Factory, e *lifecycle.Engine, profile string, timing lifecycle.Timing) (func(context.Context) error, error) {
	st, err := e.Store.Load()
	if err != nil {
		return nil, err
	}
	p := st.Profile(profile)
	if !p.ServesProxy() {
		return nil, nil
	}
	dir, err := f.ConfigDir()
	if err != nil {
		return nil, err
	}
	key := pluginhost.ReadProxyKey(dir, profile)
	if key == "" || p.Proxy.Port == 0 {
		if len(p.ProxiedTools()) == 0 {
			return nil, fmt.Errorf("profile %s has tools on coda env but no proxy key or port: run coda env -p %s again", profile, profile)
		}
		return nil, fmt.Errorf("profile %s has agents in proxy mode but no proxy key or port: run coda setup %s", profile, strings.Join(p.ProxiedTools(), " "))
	}
	// The proxy's lines read "TIME PROFILE proxy: ...", like the watcher's.
	log := logging.WithPrefix(f.Log(), profile+" proxy:")
	srv, err := NewServer(e, profile, p, key, timing, log)
	if err != nil {
		return nil, err
	}
	addr := pluginhost.ProxyAddr(p.Proxy.Port)
	ln, err := proxy.Listen(addr)
	if errors.Is(err, proxy.ErrPortInUse) {
		return nil, fmt.Errorf("%s, the port of profile %s's proxy, is in use %s", addr, profile, holder(dir, profile))
	}
	if err != nil {
		return nil, err
	}
	pidFile := pidPath(dir, profile)
	log.Info(fmt.Sprintf("serving %s on http://%s", strings.Join(p.ProxyClients(), ", "), addr))
	return func(ctx context.Context) error {
		_ = os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
		defer os.Remove(pidFile)
		return srv.Serve(ctx, ln)
	}, nil
}

// NewServer is profile's proxy: to p's workspace, opened by key, with the
// engine's current token for the profile under timing.
func NewServer(e *lifecycle.Engine, profile string, p *store.Profile, key string, timing lifecycle.Timing, log *slog.Logger) (*proxy.Server, error) {
	return proxy.New(proxy.Config{
		Host: p.Host, LocalKey: key,
		Tokens: lifecycle.ProxyTokens{Engine: e, Profile: profile, Timing: timing},
		Log:    log,
	})
}

// pidPath is the file that names the coda process serving a profile's
// proxy port.
func pidPath(dir, profile string) string {
	return filepath.Join(dir, "locks", "proxy-"+profile+".pid")
}

// holder names who holds a profile's proxy port, when it is coda.
func holder(dir, profile string) string {
	data, err := os.ReadFile(pidPath(dir, profile))
	if pid, perr := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && perr == nil && pid > 0 {
		return fmt.Sprintf("by coda (PID %d) serving this proxy already: stop it, or let it serve", pid)
	}
	return "by another program: stop it, or give the profile another port by removing its proxy settings (coda setup --proxy off, then coda setup again)"
}

// Running reports whether something accepts connections on a profile's
// proxy port.
func Running(p *store.Profile) bool {
	if p == nil || p.Proxy.Port == 0 {
		return false
	}
	conn, err := net.DialTimeout("tcp", pluginhost.ProxyAddr(p.Proxy.Port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
