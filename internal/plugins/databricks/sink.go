package databricks

import (
	"github.com/coda-cli/coda/internal/merge/iniedit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Sinks: the token key of coda's profile section, nothing else.
func (Plugin) Sinks(env configurator.Env, t configurator.Target) ([]configurator.Sink, error) {
	return []configurator.Sink{{Plugin: "databricks", Path: ConfigPath(env), Format: configurator.SinkINI,
		Section: t.Option(OptionProfile, iniedit.DefaultSection), Key: keyToken}}, nil
}
