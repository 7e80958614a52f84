package gemini

import (
	"slices"

	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// keyNoProxy: Gemini CLI sends every request through HTTPS_PROXY when one
// is set, unless NO_PROXY names the host, and it reads NO_PROXY from the
// environment that ~/.gemini/.env fills. Through coda's proxy (on
// 127.0.0.1), .env's NO_PROXY must cover loopback, or a corporate proxy
// would get, and refuse, the requests to coda's.
const keyNoProxy = "NO_PROXY"

// noProxy decides .env's NO_PROXY and keeps rec in step: through the
// proxy, loopback is added to the user's value (recorded first, so remove
// puts it back); otherwise a value coda changed before is put back and
// forgotten. set says whether to write value ("" deletes the key); nothing
// to do leaves set false.
func (c *current) noProxy(rec *pluginkit.Record, proxied bool) (value string, set bool) {
	envs := rec.File(c.p.env)
	if envs == nil {
		envs = rec.AddFile(c.p.env, c.envRaw == nil)
	}
	current, present := c.dotenv.Get(keyNoProxy)
	recorded := envs.Key(keyNoProxy) != nil
	if proxied {
		if !recorded {
			envs.Keep(pluginkit.Key{keyNoProxy}, current, present)
		}
		if v := pluginkit.WithLoopback(current); v != current {
			return v, true
		}
		return "", false
	}
	if !recorded {
		return "", false
	}
	original, had := envs.Original(keyNoProxy)
	envs.Keys = slices.DeleteFunc(envs.Keys, func(k *pluginkit.KeyRecord) bool { return slices.Equal(k.Key, pluginkit.Key{keyNoProxy}) })
	if !had {
		return "", present
	}
	return original, original != current
}
