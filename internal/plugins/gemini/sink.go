package gemini

import "github.com/coda-cli/coda/pkg/configurator"

// Sinks: GEMINI_API_KEY in ~/.gemini/.env, nothing else.
func (Plugin) Sinks(env configurator.Env, t configurator.Target) ([]configurator.Sink, error) {
	return []configurator.Sink{{Plugin: name, Path: pathsFor(env).env, Format: configurator.SinkDotenv, Key: keyAPIKey}}, nil
}
