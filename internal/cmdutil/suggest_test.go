package cmdutil

import (
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/plugins"
)

func TestDidYouMean(t *testing.T) {
	names := []string{"databricks", "claude", "codex", "gemini", "opencode", "copilot", "crush", "pi", "git"}
	for _, tc := range []struct{ in, want string }{
		{"claud", " (did you mean claude?)"},
		{"Claude", " (did you mean claude?)"},
		{"cluade", " (did you mean claude?)"},
		{"gemni", " (did you mean gemini?)"},
		{"co", " (did you mean codex or copilot?)"},
		{"opnecode", " (did you mean opencode?)"},
		{"gi", " (did you mean git?)"},
		{"c", ""}, // one letter is no prefix worth suggesting
		{"xyz", ""},
		{"vscode", ""},
		{"", ""},
	} {
		if got := DidYouMean(tc.in, names); got != tc.want {
			t.Errorf("DidYouMean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUnknownPlugin(t *testing.T) {
	err := UnknownPlugin("codx", plugins.Builtins())
	if exit.CodeOf(err) != exit.Usage || !strings.HasPrefix(err.Error(), `unknown plugin "codx" (did you mean codex?): choose from databricks, claude, codex,`) {
		t.Errorf("err = %v (exit %d)", err, exit.CodeOf(err))
	}
}
