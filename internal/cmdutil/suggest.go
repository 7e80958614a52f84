package cmdutil

import (
	"strings"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// DidYouMean is the known names closest to a mistyped one, as a clause to
// append to an error (" (did you mean claude?)"), or "" when none is
// close: those that name begins (2 characters at least), else the one
// nearest within an edit distance of a third of its length (at least 1, at
// most 2), the first in known's order on a tie.
func DidYouMean(name string, known []string) string {
	name = strings.ToLower(name)
	if name == "" {
		return ""
	}
	var prefixed []string
	best, bestDist := "", min(max(len(name)/3, 1), 2)+1
	for _, k := range known {
		if len(name) >= 2 && strings.HasPrefix(strings.ToLower(k), name) {
			prefixed = append(prefixed, k)
		}
		if d := levenshtein(name, strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	switch {
	case len(prefixed) > 0:
		return " (did you mean " + strings.Join(prefixed, " or ") + "?)"
	case best != "":
		return " (did you mean " + best + "?)"
	}
	return ""
}

// levenshtein is the number of single-byte insertions, deletions and
// substitutions that turn a into b.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// PluginNames are the names of plugins, in their order.
func PluginNames(plugins []configurator.Configurator) []string {
	names := make([]string, 0, len(plugins))
	for _, pl := range plugins {
		names = append(names, pl.Info().Name)
	}
	return names
}

// UnknownPlugin is the usage error for a plugin name no plugin has: it
// suggests the closest name and lists them all.
func UnknownPlugin(name string, plugins []configurator.Configurator) error {
	names := PluginNames(plugins)
	return exit.Usagef("unknown plugin %q%s: choose from %s", name, DidYouMean(name, names), strings.Join(names, ", "))
}
