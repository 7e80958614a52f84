package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Endpoint families: Databricks moved the coding-agent paths several times.
const (
	FamilyAuto        = "auto"
	FamilyServing     = "serving"      // HOST/serving-endpoints/...
	FamilyAIGateway   = "ai-gateway"   // HOST/ai-gateway/... (current docs)
	FamilyGatewayHost = "gateway-host" // WSID.ai-gateway.cloud.databricks.com/...
)

// Families lists the values --endpoint accepts.
var Families = []string{FamilyAuto, FamilyServing, FamilyAIGateway, FamilyGatewayHost}

// EndpointsFor returns the base URLs of family on host. An unknown or
// empty family means serving endpoints, the longest-lived paths.
func EndpointsFor(host, family, workspaceID string) configurator.Endpoints {
	switch family {
	case FamilyAIGateway:
		return configurator.Endpoints{Family: family,
			Anthropic: host + "/ai-gateway/anthropic",
			Responses: host + "/ai-gateway/codex/v1",
			Gemini:    host + "/ai-gateway/gemini",
			Chat:      host + "/ai-gateway/mlflow/v1"}
	case FamilyGatewayHost:
		gw := "https://" + workspaceID + ".ai-gateway.cloud.databricks.com"
		return configurator.Endpoints{Family: family,
			Anthropic: gw + "/anthropic",
			Responses: gw + "/openai/v1",
			Gemini:    gw + "/gemini",
			Chat:      gw + "/mlflow/v1"}
	}
	return configurator.Endpoints{Family: FamilyServing,
		Anthropic: host + "/serving-endpoints/anthropic",
		Responses: host + "/serving-endpoints",
		Gemini:    host + "/serving-endpoints/google",
		Chat:      host + "/serving-endpoints"}
}

// fatalProbe stops endpoint resolution: the token itself is dead.
type fatalProbe struct{ err error }

func (f *fatalProbe) Error() string { return f.err.Error() }

// probeBody is a chat request no endpoint can serve: a family that exists
// answers it with 400, a missing one with 404. No model runs.
const probeBody = `{"messages":[]}`

// FamilyProbe is the request (a POST of body to path, on host) that tells
// whether family's paths exist on host: any answer but 404 says they do.
func FamilyProbe(host, family, workspaceID string) (path, body string) {
	return strings.TrimPrefix(EndpointsFor(host, family, workspaceID).Chat, host) + "/chat/completions", probeBody
}

// ResolveEndpoints picks the family for a profile: an explicit one as
// given, else the one cached in the profile, else the first family the
// workspace answers (AI Gateway, then serving endpoints). It records the
// choice and the workspace id in p.Settings and returns a message when
// it fell back.
func ResolveEndpoints(ctx context.Context, c workspace.Client, p *store.Profile, family string) (note string, err error) {
	if family == "" {
		family = FamilyAuto
	}
	if family == FamilyAuto && p.Settings[keyEndpoint] != "" {
		return "", nil
	}
	wsid := p.Settings[keyWorkspaceID]
	probe := func(f string) (bool, error) {
		path, body := FamilyProbe(p.Host, f, wsid)
		status, id, err := c.Probe(ctx, "POST", path, body)
		if id != "" {
			wsid = id
		}
		switch kind := workspace.KindOf(err); {
		case kind == workspace.KindInvalidToken:
			return false, &fatalProbe{exit.Authf("the workspace rejected coda's token while probing %s (%v): run coda login", path, err)}
		case kind == workspace.KindPermission:
			return false, nil // there, but not for this user
		case err != nil:
			return false, err
		}
		return status != 404, nil
	}
	switch family {
	case FamilyAuto:
		family = FamilyServing
		ok, err := probe(FamilyAIGateway)
		var fatal *fatalProbe
		switch {
		case errors.As(err, &fatal):
			return "", fatal.err
		case err != nil:
			note = fmt.Sprintf("could not probe the AI Gateway (%v); using serving endpoints", err)
		case ok:
			family = FamilyAIGateway
		default:
			note = "this workspace has no AI Gateway paths; using serving endpoints"
		}
	case FamilyGatewayHost:
		if wsid == "" {
			if _, err := probe(FamilyServing); err != nil {
				var fatal *fatalProbe
				if errors.As(err, &fatal) {
					return "", fatal.err
				}
				return "", fmt.Errorf("the gateway host needs the workspace id: %w", err)
			}
		}
		if wsid == "" {
			return "", fmt.Errorf("the workspace did not tell its id, which the gateway host needs: use --endpoint serving or ai-gateway")
		}
	case FamilyServing, FamilyAIGateway:
	default:
		return "", fmt.Errorf("unknown --endpoint %q: use one of %s", family, strings.Join(Families, ", "))
	}
	setSetting(p, keyEndpoint, family)
	setSetting(p, keyWorkspaceID, wsid)
	return note, nil
}
