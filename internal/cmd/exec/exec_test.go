package exec

import (
	"slices"
	"testing"

	"github.com/coda-cli/coda/pkg/configurator"
)

func TestWithVars(t *testing.T) {
	environ := []string{"PATH=/bin", "OPENAI_API_KEY=users-own", "A=b=c", "=C:=weird"}
	got := withVars(environ, []configurator.EnvVar{{Name: "OPENAI_API_KEY", Value: "coda-local-k"}, {Name: "NEW", Value: "v"}})
	want := []string{"PATH=/bin", "A=b=c", "=C:=weird", "OPENAI_API_KEY=coda-local-k", "NEW=v"}
	if !slices.Equal(got, want) {
		t.Errorf("withVars = %q, want %q (the user's value replaced, everything else kept)", got, want)
	}
}
