// Package envtool lists the tools coda env and coda exec point at the
// workspace through environment variables: the generic recipes for any
// OpenAI- or Anthropic-compatible tool (Aider, Goose, LangChain scripts,
// the vendors' SDKs), and every plugin whose tool is configured through the
// environment (configurator.EnvProvider: GitHub Copilot CLI).
// Tools that read other variables (Goose reads OPENAI_HOST) are not
// covered by a recipe; their own config can point at `coda env`'s URL.
//
// The variables always lead through coda's loopback proxy: a base URL on
// 127.0.0.1 and the proxy's local key (or a command that prints it), never
// a Databricks token, so a tool that reads its key once still works after
// every rotation.
package envtool

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/coda-cli/coda/pkg/configurator"
)

// Tool is one tool coda env can configure.
type Tool struct {
	Name        string
	Description string
	vars        func(env configurator.Env, t configurator.Target) ([]configurator.EnvVar, error)
}

// Vars are the variables that point the tool at t, a proxied target.
func (tl Tool) Vars(env configurator.Env, t configurator.Target) ([]configurator.EnvVar, error) {
	if !t.Proxied {
		return nil, errors.New("envtool: the target does not go through coda's proxy")
	}
	return tl.vars(env, t)
}

// Generic recipe names.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
)

// generic are the recipes for tools coda has no plugin for.
var generic = []Tool{
	{
		Name:        OpenAI,
		Description: "OpenAI-compatible tools and SDKs: OPENAI_BASE_URL (the openai SDKs), OPENAI_API_BASE (Aider, LiteLLM) and OPENAI_API_KEY",
		vars: func(_ configurator.Env, t configurator.Target) ([]configurator.EnvVar, error) {
			return []configurator.EnvVar{
				{Name: "OPENAI_BASE_URL", Value: t.Endpoints.Chat},
				// Older clients (openai<1, LiteLLM, Aider) read OPENAI_API_BASE.
				{Name: "OPENAI_API_BASE", Value: t.Endpoints.Chat},
				{Name: "OPENAI_API_KEY", Value: t.Token},
			}, nil
		},
	},
	{
		Name:        Anthropic,
		Description: "Anthropic-compatible tools and SDKs: ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY (the anthropic SDKs)",
		vars: func(_ configurator.Env, t configurator.Target) ([]configurator.EnvVar, error) {
			return []configurator.EnvVar{
				{Name: "ANTHROPIC_BASE_URL", Value: t.Endpoints.Anthropic},
				// Sent as x-api-key, which the proxy accepts; not
				// ANTHROPIC_AUTH_TOKEN, which some tools refuse to combine
				// with a key the user already has.
				{Name: "ANTHROPIC_API_KEY", Value: t.Token},
			}, nil
		},
	},
}

// List is the generic recipes followed by the plugins that configure their
// tool through the environment, in the plugins' order.
func List(plugins []configurator.Configurator) []Tool {
	tools := slices.Clone(generic)
	for _, pl := range plugins {
		ep, ok := pl.(configurator.EnvProvider)
		if !ok {
			continue
		}
		info := pl.Info()
		tools = append(tools, Tool{Name: info.Name, Description: info.Description, vars: ep.EnvVars})
	}
	return tools
}

// Names lists the tools' names.
func Names(tools []Tool) []string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Name)
	}
	return names
}

// Select returns the named tools, in the order named, or every tool when
// none is named; an unknown name is an error that lists the known ones.
func Select(tools []Tool, names []string) ([]Tool, error) {
	if len(names) == 0 {
		return tools, nil
	}
	var out []Tool
	for _, n := range names {
		i := slices.IndexFunc(tools, func(t Tool) bool { return t.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown tool %q: choose from %s", n, strings.Join(Names(tools), ", "))
		}
		if !slices.ContainsFunc(out, func(t Tool) bool { return t.Name == n }) {
			out = append(out, tools[i])
		}
	}
	return out, nil
}

// Collect is the variables of tools for the targets target(name) gives,
// in order; a variable two tools set must agree.
func Collect(env configurator.Env, tools []Tool, target func(name string) (configurator.Target, error)) ([]configurator.EnvVar, error) {
	var out []configurator.EnvVar
	for _, tl := range tools {
		t, err := target(tl.Name)
		if err != nil {
			return nil, err
		}
		vars, err := tl.Vars(env, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tl.Name, err)
		}
		for _, v := range vars {
			i := slices.IndexFunc(out, func(o configurator.EnvVar) bool { return o.Name == v.Name })
			switch {
			case i < 0:
				out = append(out, v)
			case out[i].Value != v.Value:
				return nil, fmt.Errorf("%s and another tool set %s differently: name the tools you want", tl.Name, v.Name)
			}
		}
	}
	return out, nil
}
