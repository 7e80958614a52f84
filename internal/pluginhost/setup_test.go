package pluginhost

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
	"github.com/coda-cli/coda/pkg/configurator"
)

func fakeClient(t *testing.T) (*fakeworkspace.Server, workspace.Client, string) {
	t.Helper()
	srv := fakeworkspace.New(fakeworkspace.Options{OnUnexpected: func(msg string) { t.Errorf("%s", msg) }})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddUser("alice@example.com", "Alice")
	pat, _ := srv.IssuePAT("alice@example.com", "test", time.Hour)
	c, err := workspace.NewSDKClient(srv.URL(), pat)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, srv.URL()
}

func TestResolveEndpoints(t *testing.T) {
	tests := []struct {
		family     string
		cached     string
		wantFamily string
		wantProbes int
	}{
		{family: "auto", wantFamily: FamilyAIGateway, wantProbes: 1},
		{family: "auto", cached: FamilyServing, wantFamily: FamilyServing, wantProbes: 0},
		{family: "serving", wantFamily: FamilyServing, wantProbes: 0},
		{family: "ai-gateway", cached: FamilyServing, wantFamily: FamilyAIGateway, wantProbes: 0},
		{family: "gateway-host", wantFamily: FamilyGatewayHost, wantProbes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.family+"/"+tt.cached, func(t *testing.T) {
			srv, c, host := fakeClient(t)
			p := &store.Profile{Host: host, Settings: map[string]string{}}
			if tt.cached != "" {
				p.Settings[keyEndpoint] = tt.cached
			}
			if _, err := ResolveEndpoints(context.Background(), c, p, tt.family); err != nil {
				t.Fatal(err)
			}
			if p.Settings[keyEndpoint] != tt.wantFamily {
				t.Errorf("family %q, want %q", p.Settings[keyEndpoint], tt.wantFamily)
			}
			probes := 0
			for _, r := range srv.Requests() {
				if strings.HasSuffix(r.Path, "/chat/completions") {
					probes++
				}
			}
			if probes != tt.wantProbes {
				t.Errorf("%d probes, want %d", probes, tt.wantProbes)
			}
			if tt.wantFamily == FamilyGatewayHost {
				eps := EndpointsFor(host, FamilyGatewayHost, p.Settings[keyWorkspaceID])
				if want := "https://" + fakeworkspace.DefaultOrgID + ".ai-gateway.cloud.databricks.com/anthropic"; eps.Anthropic != want {
					t.Errorf("gateway host %q, want %q (the workspace id comes from the org id header)", eps.Anthropic, want)
				}
			}
		})
	}
}

func TestResolveEndpointsFallsBackWithAMessage(t *testing.T) {
	srv, c, host := fakeClient(t)
	srv.AddFault("POST", "/ai-gateway/mlflow/v1/chat/completions", fakeworkspace.Fault{Status: 404, ErrorCode: "ENDPOINT_NOT_FOUND"})
	p := &store.Profile{Host: host}
	note, err := ResolveEndpoints(context.Background(), c, p, FamilyAuto)
	if err != nil {
		t.Fatal(err)
	}
	if p.Settings[keyEndpoint] != FamilyServing || !strings.Contains(note, "using serving endpoints") {
		t.Errorf("family %q, note %q: want serving with a message", p.Settings[keyEndpoint], note)
	}
	if _, err := ResolveEndpoints(context.Background(), c, p, "elsewhere"); err == nil || !strings.Contains(err.Error(), "unknown --endpoint") {
		t.Errorf("unknown family: %v", err)
	}
}

func TestResolveEndpointsRejectedToken(t *testing.T) {
	srv, c, host := fakeClient(t)
	srv.AddFault("POST", "/ai-gateway/mlflow/v1/chat/completions", fakeworkspace.Fault{Status: 403, Message: "Invalid access token."})
	_, err := ResolveEndpoints(context.Background(), c, &store.Profile{Host: host}, FamilyAuto)
	if err == nil || !strings.Contains(err.Error(), "run coda login") || exit.CodeOf(err) != exit.Auth {
		t.Errorf("err = %v, want a login hint and exit %d", err, exit.Auth)
	}
	// A 403 that is a permission problem means: not for this user; fall back.
	srv.ClearFaults()
	srv.AddFault("POST", "/ai-gateway/mlflow/v1/chat/completions", fakeworkspace.Fault{Status: 403, ErrorCode: "PERMISSION_DENIED", Message: "no AI Gateway for you"})
	p := &store.Profile{Host: host}
	if _, err := ResolveEndpoints(context.Background(), c, p, FamilyAuto); err != nil || p.Settings[keyEndpoint] != FamilyServing {
		t.Errorf("permission denied on the gateway: err %v, family %q; want serving", err, p.Settings[keyEndpoint])
	}
}

func TestEndpointsFor(t *testing.T) {
	h := "https://w.cloud.databricks.com"
	tests := []struct {
		family string
		want   configurator.Endpoints
	}{
		{"serving", configurator.Endpoints{Family: "serving", Anthropic: h + "/serving-endpoints/anthropic", Responses: h + "/serving-endpoints", Gemini: h + "/serving-endpoints/google", Chat: h + "/serving-endpoints"}},
		{"", configurator.Endpoints{Family: "serving", Anthropic: h + "/serving-endpoints/anthropic", Responses: h + "/serving-endpoints", Gemini: h + "/serving-endpoints/google", Chat: h + "/serving-endpoints"}},
		{"ai-gateway", configurator.Endpoints{Family: "ai-gateway", Anthropic: h + "/ai-gateway/anthropic", Responses: h + "/ai-gateway/codex/v1", Gemini: h + "/ai-gateway/gemini", Chat: h + "/ai-gateway/mlflow/v1"}},
		{"gateway-host", configurator.Endpoints{Family: "gateway-host", Anthropic: "https://42.ai-gateway.cloud.databricks.com/anthropic", Responses: "https://42.ai-gateway.cloud.databricks.com/openai/v1", Gemini: "https://42.ai-gateway.cloud.databricks.com/gemini", Chat: "https://42.ai-gateway.cloud.databricks.com/mlflow/v1"}},
	}
	for _, tt := range tests {
		if got := EndpointsFor(h, tt.family, "42"); got != tt.want {
			t.Errorf("EndpointsFor(%q) = %+v, want %+v", tt.family, got, tt.want)
		}
	}
}

func TestTargetFromProfile(t *testing.T) {
	p := &store.Profile{
		Host: "https://w.example.com", User: "alice@example.com", Token: "dapi-secret-value-0000",
		CreatedAt: time.Unix(0, 0), ExpiresAt: time.Unix(0, 0).Add(30 * time.Minute),
		Settings: map[string]string{
			keyEndpoint:    FamilyAIGateway,
			"model.claude": "m-main", "model.claude.haiku": "m-haiku", "model.codex": "m-codex",
			"option.databricks.profile": "work",
		},
	}
	tg := Target("claude", "work", p, "/usr/bin/coda", 20*time.Second)
	if tg.Models["model"] != "m-main" || tg.Models["haiku"] != "m-haiku" || len(tg.Models) != 2 {
		t.Errorf("models %v: want only claude's", tg.Models)
	}
	if tg.HelperRefresh != 20*time.Second {
		t.Errorf("helper refresh %s", tg.HelperRefresh)
	}
	// No --min-ttl: coda token reads the profile's policy.
	if want := []string{"/usr/bin/coda", "token", "-p", "work"}; !slices.Equal(tg.TokenCommand, want) {
		t.Errorf("token command %q, want %q", tg.TokenCommand, want)
	}
	if tg.Endpoints.Family != FamilyAIGateway || tg.Token != p.Token {
		t.Errorf("target %+v", tg.Endpoints)
	}
	if db := Target("databricks", "work", p, "/usr/bin/coda", 0); db.Option("profile", "DEFAULT") != "work" {
		t.Errorf("databricks option %v", db.Options)
	}
}

func TestReleaseFromOthers(t *testing.T) {
	s := &store.State{Profiles: map[string]*store.Profile{
		"a": {Tools: tools("claude", "databricks", "gemini")},
		"b": {Tools: tools("claude", "databricks"), Settings: map[string]string{"option.databricks.profile": "b"}},
		"c": {Tools: tools("databricks")},
	}}
	ReleaseFromOthers(s, "b", []string{"claude", "databricks"})
	if got := Configured(s.Profile("a")); !slices.Equal(got, []string{"databricks", "gemini"}) {
		t.Errorf("a keeps %q: want databricks (another section) and gemini (not set up by b)", got)
	}
	if got := Configured(s.Profile("b")); !slices.Equal(got, []string{"claude", "databricks"}) {
		t.Errorf("b keeps %q", got)
	}
	ReleaseFromOthers(s, "a", []string{"databricks"})
	if got := Configured(s.Profile("c")); len(got) != 0 {
		t.Errorf("c keeps %q: a and c share the DEFAULT section", got)
	}
}

func tools(names ...string) []store.Tool {
	var out []store.Tool
	for _, n := range names {
		out = append(out, store.Tool{Plugin: n})
	}
	return out
}

// A literal plugin's record names exactly its sinks; a helper plugin's its
// refresh; a literal plugin that declares no sinks is refused.
func TestToolRecord(t *testing.T) {
	env := configurator.Env{Home: "/home/a", Getenv: func(string) string { return "" }, StateDir: "/home/a/.config/coda"}
	tg := configurator.Target{Profile: "default", HelperRefresh: 30 * time.Second}
	rec, err := ToolRecord(env, fakePlugin{delivery: configurator.DeliveryHelper}, tg)
	if err != nil || rec.Refresh != policy.Duration(30*time.Second) || len(rec.Sinks) != 0 {
		t.Errorf("helper: %+v, %v", rec, err)
	}
	want := configurator.Sink{Plugin: "fake", Path: "/home/a/.fake/.env", Format: configurator.SinkDotenv, Key: "KEY"}
	rec, err = ToolRecord(env, sinkPlugin{fakePlugin{delivery: configurator.DeliveryLiteral}, []configurator.Sink{want}}, tg)
	if err != nil || rec.Refresh != 0 || len(rec.Sinks) != 1 || rec.Sinks[0] != want {
		t.Errorf("literal: %+v, %v", rec, err)
	}
	if _, err := ToolRecord(env, fakePlugin{delivery: configurator.DeliveryLiteral}, tg); err == nil || !strings.Contains(err.Error(), "must declare its sinks") {
		t.Errorf("literal without sinks: %v", err)
	}
	bad := configurator.Sink{Plugin: "fake", Path: "relative/.env", Format: configurator.SinkDotenv, Key: "KEY"}
	if _, err := ToolRecord(env, sinkPlugin{fakePlugin{delivery: configurator.DeliveryLiteral}, []configurator.Sink{bad}}, tg); err == nil {
		t.Error("a relative sink path was accepted")
	}
}

type fakePlugin struct {
	configurator.Configurator
	delivery configurator.Delivery
}

func (f fakePlugin) Info() configurator.Info {
	return configurator.Info{Name: "fake", Delivery: f.delivery}
}

type sinkPlugin struct {
	fakePlugin
	sinks []configurator.Sink
}

func (s sinkPlugin) Sinks(configurator.Env, configurator.Target) ([]configurator.Sink, error) {
	return s.sinks, nil
}
