package pluginkit

import "strings"

// LoopbackNoProxy is what coda adds to a NO_PROXY value so that tools
// reach its proxy on 127.0.0.1 directly, never through an HTTP(S) proxy.
const LoopbackNoProxy = "127.0.0.1,localhost"

// CoversLoopback reports whether a NO_PROXY value bypasses 127.0.0.1.
func CoversLoopback(noProxy string) bool {
	for _, e := range strings.Split(noProxy, ",") {
		if e = strings.TrimSpace(e); e == "*" || e == "127.0.0.1" || strings.HasPrefix(e, "127.") {
			return true
		}
	}
	return false
}

// WithLoopback is noProxy with LoopbackNoProxy added when it lacks it.
func WithLoopback(noProxy string) string {
	switch {
	case CoversLoopback(noProxy):
		return noProxy
	case strings.TrimSpace(noProxy) == "":
		return LoopbackNoProxy
	}
	return noProxy + "," + LoopbackNoProxy
}
