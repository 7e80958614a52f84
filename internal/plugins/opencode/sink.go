package opencode

import "github.com/coda-cli/coda/pkg/configurator"

// Sinks: coda's token file, which the plugin reads on every request.
func (Plugin) Sinks(env configurator.Env, t configurator.Target) ([]configurator.Sink, error) {
	path, err := TokenFile(env, t.Profile)
	if err != nil {
		return nil, err
	}
	return []configurator.Sink{{Plugin: name, Path: path, Format: configurator.SinkFile}}, nil
}
