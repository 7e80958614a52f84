package claude

import (
	"slices"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// envNoProxy: Claude Code sends its requests through HTTPS_PROXY when one
// is set, unless NO_PROXY names the host; settings.json's env sets it for
// Claude Code. Through coda's proxy (on 127.0.0.1) it must cover loopback.
const envNoProxy = "NO_PROXY"

// noProxyPlan is what coda does to env.NO_PROXY: set it to value (the
// user's original back as it was, whatever its JSON type), delete it, or
// leave it (none).
type noProxyPlan struct {
	value         any
	set, del, any bool
}

// noProxy decides env.NO_PROXY and keeps rec in step: through the proxy,
// loopback is added to the user's value (recorded first, so remove puts it
// back); off the proxy, a value coda changed is put back and forgotten.
func (s *state) noProxy(rec *pluginkit.Record, proxied bool) noProxyPlan {
	f := rec.File(s.paths.settings)
	if f == nil {
		f = rec.AddFile(s.paths.settings, !s.settings.exists())
	}
	var current any
	present := false
	if e := envObject(s.settings.obj); e != nil {
		current, present = e.Get(envNoProxy)
	}
	text, isString := current.(string)
	recorded := f.Key(keyEnv, envNoProxy) != nil
	if proxied {
		if !recorded {
			f.KeepJSON(pluginkit.Key{keyEnv, envNoProxy}, current, present)
		}
		if isString && pluginkit.CoversLoopback(text) {
			return noProxyPlan{}
		}
		return noProxyPlan{value: pluginkit.WithLoopback(text), set: true, any: true}
	}
	if !recorded {
		return noProxyPlan{}
	}
	original, had := f.OriginalJSON(keyEnv, envNoProxy)
	f.Keys = slices.DeleteFunc(f.Keys, func(k *pluginkit.KeyRecord) bool {
		return slices.Equal(k.Key, pluginkit.Key{keyEnv, envNoProxy})
	})
	if !had {
		return noProxyPlan{del: present, any: present}
	}
	if present && jsonedit.Equal(current, original) {
		return noProxyPlan{}
	}
	return noProxyPlan{value: original, set: true, any: true}
}

// apply carries the plan out on settings.json's object.
func (np noProxyPlan) apply(settings *jsonedit.Object) {
	switch {
	case np.set:
		if envObject(settings) == nil {
			settings.Set(keyEnv, jsonedit.New())
		}
		envObject(settings).Set(envNoProxy, np.value)
	case np.del:
		if e := envObject(settings); e != nil {
			e.Delete(envNoProxy)
		}
	}
}
