package pluginhost

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/atomicfile"
	"github.com/coda-cli/coda/internal/proxy"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Proxy modes (coda setup --proxy).
const (
	ProxyAuto = "auto" // tools that cannot pick up a new token by themselves
	ProxyAll  = "all"  // every tool that talks only to model serving
	ProxyOff  = "off"
)

// defaultProxyMode is the mode of a profile that chose none.
const defaultProxyMode = ProxyAuto

// ProxyModes lists the values --proxy accepts.
var ProxyModes = []string{ProxyAuto, ProxyAll, ProxyOff}

// UsesProxy reports whether pl goes through the proxy in mode ("" is auto).
func UsesProxy(mode string, pl configurator.Configurator) bool {
	switch use := pl.Info().Proxy; mode {
	case ProxyOff:
		return false
	case ProxyAll:
		return use != configurator.ProxyNever
	case ProxyAuto:
		return use == configurator.ProxyAuto
	default:
		return defaultProxyMode != ProxyOff && UsesProxy(defaultProxyMode, pl)
	}
}

// ProxyURL is the proxy's base URL for a port.
func ProxyURL(port int) string { return "http://" + ProxyAddr(port) }

// ProxyAddr is the loopback address a profile's proxy listens on.
func ProxyAddr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// ProxyKeyPath is where a profile's local key lives in coda's config dir.
func ProxyKeyPath(configDir, profile string) string {
	return filepath.Join(configDir, "proxy", profile+".key")
}

// TargetFor is Target for plugin pl, through the profile's proxy when the
// profile's mode puts pl there and the proxy has a port and a local key
// (key "" means none yet: the target goes to the workspace directly).
func TargetFor(pl configurator.Configurator, profile string, p *store.Profile, exe string, refresh time.Duration, key string) (configurator.Target, error) {
	t := Target(pl.Info().Name, profile, p, exe, refresh)
	if !UsesProxy(p.Proxy.Mode, pl) || key == "" || p.Proxy.Port == 0 {
		return t, nil
	}
	return proxied(t, p, p.Proxy.Port, key, exe, profile)
}

// ProxiedTarget is the target of a tool configured through the environment
// (coda env, coda exec): always through a proxy, the one on port, holding
// key. name picks the tool's models and options in the profile.
func ProxiedTarget(name, profile string, p *store.Profile, exe string, port int, key string) (configurator.Target, error) {
	return proxied(Target(name, profile, p, exe, 0), p, port, key, exe, profile)
}

// ReadProxyKey is the profile's local key, "" when it has none.
func ReadProxyKey(configDir, profile string) string {
	data, err := os.ReadFile(ProxyKeyPath(configDir, profile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// NewProxyKey is a fresh local key (proxy.NewLocalKey).
func NewProxyKey() (string, error) { return proxy.NewLocalKey() }

// ProxyKey returns the profile's local key, making one (32 random bytes,
// hex, in a 0600 file in a 0700 dir) when there is none. The key opens
// only coda's loopback proxy: it is worth nothing anywhere else.
func ProxyKey(configDir, profile string) (string, error) {
	path := ProxyKeyPath(configDir, profile)
	data, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(data))
		if len(key) < proxy.MinKeyLen {
			return "", fmt.Errorf("the proxy key %s is damaged: delete it and run coda setup again", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	key, err := NewProxyKey()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, []byte(key+"\n"), 0o600, nil); err != nil {
		return "", err
	}
	return key, nil
}

// EnsureProxy gives p a proxy port when it has none: a free port on
// 127.0.0.1 now, kept from then on.
func EnsureProxy(p *store.Profile) error {
	if p.Proxy.Port != 0 {
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("choose a port for coda's proxy: %w", err)
	}
	p.Proxy.Port = l.Addr().(*net.TCPAddr).Port
	return l.Close()
}

// proxied turns t into the proxied target: the same endpoint family on the
// proxy, and the local key in place of the token.
func proxied(t configurator.Target, p *store.Profile, port int, key, exe, profile string) (configurator.Target, error) {
	family := p.Settings[keyEndpoint]
	if family == FamilyGatewayHost {
		return t, errors.New("coda's proxy carries the serving and ai-gateway endpoint families, not gateway-host: run coda setup --endpoint ai-gateway, or --proxy off")
	}
	t.Endpoints = EndpointsFor(ProxyURL(port), family, "")
	t.Token = key
	t.TokenCommand = []string{exe, "proxy", "key", "-p", profile}
	t.Proxied = true
	return t, nil
}
