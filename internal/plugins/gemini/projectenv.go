package gemini

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
// And an interactive session reads no .env at all in a folder it does not
// trust; coda trusts only HOME.
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
	if !trusted(env, p, settings, cwd) {
		return fmt.Sprintf("Gemini CLI does not trust %s (coda trusts %s), so an interactive session there reads no .env and misses %s until you trust the folder", cwd, env.Home, ours)
	}
	return ""
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

// trusted follows Gemini CLI's folder trust: off when
// security.folderTrust.enabled is false; else the trustedFolders.json
// rule with the longest path that contains cwd (a TRUST_PARENT rule
// standing for its parent) decides, comparing real paths. When it cannot
// tell, it says trusted: the warning is for the clear case only.
func trusted(env configurator.Env, p paths, settings *jsonedit.Object, cwd string) bool {
	if settings != nil {
		if v, _ := settings.GetPath("security", "folderTrust", "enabled"); v == false {
			return true
		}
	}
	data, err := os.ReadFile(p.trusted)
	if err != nil {
		return false
	}
	rules, err := jsonedit.ParseDialect(data, jsonedit.Comments)
	if err != nil {
		return true
	}
	loc := realPath(cwd)
	best, level := -1, ""
	for _, rule := range rules.Keys() {
		v, _ := rules.Get(rule)
		lvl, _ := v.(string)
		root := rule
		if lvl == trustParent {
			root = filepath.Dir(rule)
		}
		if within(loc, realPath(root)) && len(rule) > best {
			best, level = len(rule), lvl
		}
	}
	return level == trustFolder || level == trustParent
}

func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

func within(path, root string) bool {
	if path == root {
		return true
	}
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
