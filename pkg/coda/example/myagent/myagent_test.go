package myagent_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/pkg/coda/example/myagent"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

// The example plugin passes the same contract as the built-in ones.
func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New: func() configurator.Configurator { return myagent.Plugin{} },
		Target: func() configurator.Target {
			return configurator.Target{
				Profile: "default", Host: "https://example.cloud.databricks.com", User: "alice@example.com",
				Endpoints: configurator.Endpoints{Family: "serving",
					Chat: "https://example.cloud.databricks.com/serving-endpoints"},
				Models:        map[string]string{},
				Options:       map[string]string{},
				TokenCommand:  []string{"/usr/local/bin/coda", "token", "-p", "default"},
				Token:         "dapi0123456789abcdef0123456789ab",
				HelperRefresh: time.Minute,
			}
		},
		Binaries:  []string{"myagent"},
		UserFiles: map[string]string{".myagent/env": "# my settings\nTHEME=dark\nOPENAI_API_KEY=sk-mine\n"},
		Malformed: map[string]string{".myagent/env": "THEME dark\n"},
		Split: func(rel string, data []byte) (any, any, error) {
			foreign, owned := []string{}, map[string]string{}
			for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				k, v, ok := strings.Cut(line, "=")
				switch {
				case line == "":
				case ok && (k == "OPENAI_BASE_URL" || k == "OPENAI_API_KEY" || k == "MYAGENT_MODEL"):
					owned[k] = v
				default:
					foreign = append(foreign, line)
				}
			}
			return foreign, owned, nil
		},
	})
}
