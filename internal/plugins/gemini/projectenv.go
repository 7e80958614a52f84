package gemini

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// ProjectEnvWarning explains, in one line, why Gemini CLI started in cwd
// would not read ~/.gemini/.env, or returns "". coda status calls it with
// the working directory.
//
// Gemini CLI loads exactly one .env: walking up from the working
// directory it takes the first DIR/.gemini/.env or DIR/.env, and only
// when it reaches its home directory ~/.gemini/.env. So a project's .env
// hides coda's file completely, unless advanced.ignoreLocalEnv is true in
// settings.json (which skips DIR/.env files, but not DIR/.gemini/.env).
// And in a folder it does not trust it reads no ~/.gemini/.env at all
// (see untrustedWarning); coda trusts none unless told to.
func ProjectEnvWarning(env configurator.Env, cwd string) string {
	if cwd == "" || !filepath.IsAbs(cwd) {
		return ""
	}
	p := pathsFor(env)
	settings := readSettings(p.settings)
	ignoreLocal := false
	if settings != nil {
		v, _ := settings.GetPath("advanced", "ignoreLocalEnv")
		ignoreLocal = v == true
	}
	ours := pluginkit.Display(env, p.env)
	stop := filepath.Clean(p.home)
	for dir := filepath.Clean(cwd); dir != stop; {
		if f := filepath.Join(dir, ".gemini", ".env"); isFile(f) {
			return fmt.Sprintf("%s hides %s: Gemini CLI reads only the first .env it finds walking up from the working directory (a .gemini/.env even with advanced.ignoreLocalEnv); start gemini outside it or move that file", f, ours)
		}
		if f := filepath.Join(dir, ".env"); !ignoreLocal && isFile(f) {
			return fmt.Sprintf("%s hides %s: Gemini CLI reads only the first .env it finds walking up from the working directory; set \"advanced\": {\"ignoreLocalEnv\": true} in %s (project .env files then stop loading in Gemini CLI) or start gemini elsewhere", f, ours, pluginkit.Display(env, p.settings))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return untrustedWarning(env, p, settings, cwd)
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// readSettings parses settings.json, or returns nil.
func readSettings(path string) *jsonedit.Object {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	o, err := jsonedit.ParseDialect(data, jsonedit.Comments)
	if err != nil {
		return nil
	}
	return o
}
