// Package plugins lists coda's built-in configurators, explicitly and in
// the order setup reports them.
package plugins

import (
	"fmt"

	"github.com/coda-cli/coda/internal/plugins/claude"
	"github.com/coda-cli/coda/internal/plugins/codex"
	"github.com/coda-cli/coda/internal/plugins/copilot"
	"github.com/coda-cli/coda/internal/plugins/crush"
	"github.com/coda-cli/coda/internal/plugins/databricks"
	"github.com/coda-cli/coda/internal/plugins/gemini"
	"github.com/coda-cli/coda/internal/plugins/git"
	"github.com/coda-cli/coda/internal/plugins/opencode"
	"github.com/coda-cli/coda/internal/plugins/pi"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Builtins returns a fresh instance of every built-in plugin.
func Builtins() []configurator.Configurator {
	return []configurator.Configurator{
		databricks.New(),
		claude.New(),
		codex.New(),
		gemini.New(),
		opencode.New(),
		copilot.New(),
		crush.New(),
		pi.New(),
		git.New(),
	}
}

// With returns the built-in plugins followed by extra ones, and panics when
// a name is empty or taken: a custom coda that registers a clashing plugin
// must fail at once, not configure the wrong tool.
func With(extra ...configurator.Configurator) []configurator.Configurator {
	all := append(Builtins(), extra...)
	seen := map[string]bool{}
	for _, pl := range all {
		name := pl.Info().Name
		if name == "" || seen[name] {
			panic(fmt.Sprintf("coda: plugin name %q is empty or registered twice", name))
		}
		seen[name] = true
	}
	return all
}
