package envtool

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/plugins"
	"github.com/coda-cli/coda/pkg/configurator"
)

// envPlugin is a plugin configured through the environment.
type envPlugin struct {
	configurator.Configurator
	name string
	vars []configurator.EnvVar
}

func (p envPlugin) Info() configurator.Info {
	return configurator.Info{Name: p.name, Description: p.name + " tool"}
}
func (p envPlugin) EnvVars(configurator.Env, configurator.Target) ([]configurator.EnvVar, error) {
	return p.vars, nil
}

// filePlugin is configured through files only.
type filePlugin struct{ configurator.Configurator }

func (filePlugin) Info() configurator.Info { return configurator.Info{Name: "files"} }

func proxied(name string) (configurator.Target, error) {
	return configurator.Target{Profile: "default", Proxied: true, Token: "coda-local-key",
		Endpoints: configurator.Endpoints{Chat: "http://127.0.0.1:9/serving-endpoints", Anthropic: "http://127.0.0.1:9/serving-endpoints/anthropic"}}, nil
}

func TestListAndSelect(t *testing.T) {
	tools := List([]configurator.Configurator{filePlugin{}, envPlugin{name: "copilot"}})
	if got := strings.Join(Names(tools), ","); got != "openai,anthropic,copilot" {
		t.Fatalf("List = %s, want the generic recipes, then the env plugins only", got)
	}
	sel, err := Select(tools, []string{"copilot", "openai", "copilot"})
	if err != nil || strings.Join(Names(sel), ",") != "copilot,openai" {
		t.Errorf("Select = %v, %v; want copilot,openai in the order named, once each", Names(sel), err)
	}
	if all, _ := Select(tools, nil); len(all) != 3 {
		t.Errorf("Select(none) = %v, want every tool", Names(all))
	}
	if _, err := Select(tools, []string{"aider"}); err == nil || err.Error() != `unknown tool "aider": choose from openai, anthropic, copilot` {
		t.Errorf("Select(aider) = %v", err)
	}
}

func TestCollect(t *testing.T) {
	tools := List(nil)
	vars, err := Collect(configurator.Env{}, tools, proxied)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"OPENAI_BASE_URL":    "http://127.0.0.1:9/serving-endpoints",
		"OPENAI_API_BASE":    "http://127.0.0.1:9/serving-endpoints",
		"OPENAI_API_KEY":     "coda-local-key",
		"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/serving-endpoints/anthropic",
		"ANTHROPIC_API_KEY":  "coda-local-key",
	}
	if len(vars) != len(want) {
		t.Fatalf("Collect = %v, want %d variables", vars, len(want))
	}
	for _, v := range vars {
		if want[v.Name] != v.Value {
			t.Errorf("%s = %q, want %q", v.Name, v.Value, want[v.Name])
		}
	}

	// A target off the proxy would hand out a Databricks token: refused.
	_, err = Collect(configurator.Env{}, tools, func(string) (configurator.Target, error) {
		return configurator.Target{Token: "dapi-not-for-env"}, nil
	})
	if err == nil || strings.Contains(err.Error(), "dapi") {
		t.Errorf("Collect off the proxy = %v, want a refusal that does not quote the token", err)
	}

	// Two tools that disagree on a variable: an error naming it.
	clash := List([]configurator.Configurator{envPlugin{name: "other", vars: []configurator.EnvVar{{Name: "OPENAI_API_KEY", Value: "something else"}}}})
	if _, err := Collect(configurator.Env{}, clash, proxied); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Errorf("Collect with a clash = %v, want an error naming OPENAI_API_KEY", err)
	}
	// Agreeing tools set it once.
	agree := List([]configurator.Configurator{envPlugin{name: "same", vars: []configurator.EnvVar{{Name: "OPENAI_API_KEY", Value: "coda-local-key"}}}})
	vars, err = Collect(configurator.Env{}, agree, proxied)
	if err != nil || len(vars) != len(want) {
		t.Errorf("Collect with an agreeing tool = %v, %v", vars, err)
	}
}

// TestREADMERecipes checks that the README's table of recipes names
// exactly the variables each recipe sets, so the documented recipes cannot
// drift from the code.
func TestREADMERecipes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(raw), "<!-- env-recipes")
	table, _, ok2 := strings.Cut(table, "<!-- /env-recipes -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no env-recipes table")
	}
	documented := map[string][]string{}
	row := regexp.MustCompile("^\\| `([a-z]+)` \\| ([^|]+) \\|")
	varName := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	for _, line := range strings.Split(table, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			for _, v := range varName.FindAllStringSubmatch(m[2], -1) {
				documented[m[1]] = append(documented[m[1]], v[1])
			}
		}
	}
	tools := List(plugins.Builtins())
	for _, tl := range tools {
		target, _ := proxied(tl.Name)
		target.TokenCommand = []string{"/usr/bin/coda", "proxy", "key", "-p", "default"}
		vars, err := tl.Vars(configurator.Env{Home: t.TempDir(), Getenv: func(string) string { return "" }}, target)
		if err != nil {
			t.Fatalf("%s: %v", tl.Name, err)
		}
		var names []string
		for _, v := range vars {
			names = append(names, v.Name)
		}
		if got, want := strings.Join(names, ", "), strings.Join(documented[tl.Name], ", "); got != want {
			t.Errorf("README documents %s as setting %q; coda env sets %q", tl.Name, want, got)
		}
		delete(documented, tl.Name)
	}
	for name := range documented {
		t.Errorf("README documents a recipe %q that coda env does not have", name)
	}
}
