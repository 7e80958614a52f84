package doctor

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/coda-cli/coda/internal/lifecycle"
	core "github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/workspace"
	"github.com/coda-cli/coda/pkg/configurator"
)

// datePath is asked for the workspace's Date header. The request carries
// no credential: the workspace answers 401, with its Date like any answer.
// (No other check calls this API, so a test can fake the header of this
// one answer.)
const datePath = "/api/2.0/token/list"

// checkClock compares this machine's clock with the workspace's Date
// header, and with the skew measured at the last mint (by which coda
// shifted the token's times). Offline, it reports the stored skew.
func checkClock(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	stored := time.Duration(w.p.ClockSkew)
	fix := "sync this machine's clock (NTP), then " + w.cmd("rotate") + " (it measures the skew again)"
	if w.opts.Offline {
		if stored.Abs() > lifecycle.SkewWarning {
			return []Result{{Status: Warn, Detail: "at the last rotation the workspace's clock was " + lifecycle.DescribeSkew(stored) + " (not checked now: --offline)", Fix: fix}}
		}
		return pass("at the last rotation the workspace's clock was " + lifecycle.DescribeSkew(stored) + " (not checked now: --offline)")
	}
	skew, err := measureSkew(w.ctx, w.p.Host, w.f.Clock.Now)
	if err != nil {
		return []Result{{Status: Warn, Detail: "could not read the workspace's clock: " + err.Error(), Fix: "check the network and " + w.p.Host}}
	}
	margin := w.p.Policy.Policy().Margin()
	switch drift := skew - stored; {
	case drift.Abs() >= margin:
		return []Result{{Status: Fail, Detail: fmt.Sprintf("the workspace's clock is %s, but was %s when the token was minted: coda's token times are off by %s, more than the %s a rotation keeps",
			lifecycle.DescribeSkew(skew), lifecycle.DescribeSkew(stored), policy.Short(drift.Abs()), policy.Short(margin)), Fix: fix}}
	case skew.Abs() > lifecycle.SkewWarning:
		return []Result{{Status: Warn, Detail: "the workspace's clock is " + lifecycle.DescribeSkew(skew) + " (coda corrects token times for it, but other tools may not)", Fix: fix}}
	}
	return pass("within " + policy.Short(max(skew.Abs(), lifecycle.SkewNoise)) + " of the workspace's")
}

// measureSkew is the workspace's clock minus this machine's, from the Date
// header of an unauthenticated request (no token leaves this machine), 0
// when below the noise.
func measureSkew(ctx context.Context, host string, now func() time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+datePath, nil)
	if err != nil {
		return 0, err
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	before := now()
	resp, err := client.Do(req)
	after := now()
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", datePath, unwrapURL(err))
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return 0, fmt.Errorf("the answer has no valid Date header")
	}
	// Date has a resolution of a second, inside lifecycle.SkewNoise.
	return lifecycle.Skew(before, after, date).Round(time.Second), nil
}

// unwrapURL drops the *url.Error wrapping, which repeats the URL.
func unwrapURL(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return u.Unwrap()
	}
	return err
}

// agents are the tools that talk to model serving: those whose plan puts
// one of the endpoints in their files.
func (w *world) agents() []tool {
	var out []tool
	for _, t := range w.tools {
		if t.pl == nil || t.targetErr != nil {
			continue
		}
		if ps, _ := protocolsOf(w, t); len(ps) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// checkEndpoints: the endpoint family the agents use answers on the
// workspace (any answer but 404: a request no endpoint can serve).
func checkEndpoints(w *world) []Result {
	if r := w.needOnline(); r != nil {
		return r
	}
	if len(w.agents()) == 0 {
		return skip("no agent set up")
	}
	family := core.Target("", w.profile, w.p, w.exe, 0).Endpoints.Family
	if family == core.FamilyGatewayHost {
		return skip("the gateway host is not on the workspace's host: not checked")
	}
	c, err := w.workspace()
	if err != nil {
		return []Result{{Status: Fail, Detail: err.Error(), Fix: w.cmd("login")}}
	}
	path, body := core.FamilyProbe(w.p.Host, family, "") // the workspace id matters only to the gateway host
	code, _, err := c.Probe(w.ctx, http.MethodPost, path, body)
	switch kind := workspace.KindOf(err); {
	case kind == workspace.KindInvalidToken:
		return []Result{{Status: Fail, Detail: "the workspace rejects the token: " + err.Error(), Fix: w.cmd("login"), auth: true}}
	case kind == workspace.KindPermission:
		return []Result{{Status: Warn, Detail: fmt.Sprintf("the %s paths refuse this user (%v)", family, err), Fix: "ask a workspace admin for access to model serving"}}
	case err != nil:
		return []Result{{Status: Warn, Detail: fmt.Sprintf("could not reach the %s paths: %v", family, err), Fix: "check the network and " + w.p.Host}}
	case code == http.StatusNotFound:
		// setup --endpoint auto keeps the family it chose before: name
		// the other one.
		other := core.FamilyAIGateway
		if family == core.FamilyAIGateway {
			other = core.FamilyServing
		}
		return []Result{{Status: Fail, Detail: fmt.Sprintf("the workspace has no %s paths (%s answers 404)", family, path),
			Fix: w.cmd("setup", append([]string{"--endpoint", other}, names(w.agents())...)...)}}
	}
	return pass(fmt.Sprintf("the %s paths answer (%s: HTTP %d)", family, path, code))
}

// needOnline is the SKIP line of an online check without a live token.
func (w *world) needOnline() []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	if !w.live() {
		return skip("the token expired")
	}
	if w.rejected {
		return skip("the workspace rejects the token")
	}
	return nil
}

func names(tools []tool) []string {
	out := make([]string, 0, len(tools))
	for _, t := range tools {
		out = append(out, t.name)
	}
	return out
}

// checkModels: every model chosen for a tool (--model, config.yaml) is a
// serving endpoint of the workspace. Plugins' default models are checked
// by --deep, which sends them a request.
func checkModels(w *world) []Result {
	if r := w.needOnline(); r != nil {
		return r
	}
	type chosen struct{ tool, role, model string }
	var all []chosen
	for _, t := range w.tools {
		for _, role := range slices.Sorted(maps.Keys(t.direct.Models)) {
			all = append(all, chosen{t.name, role, t.direct.Models[role]})
		}
	}
	if len(all) == 0 {
		return skip("no model chosen: the plugins use their defaults (--deep tries them)")
	}
	listed, err := w.servingEndpoints()
	if err != nil {
		return []Result{{Status: Warn, Detail: "could not list the serving endpoints: " + err.Error(), Fix: "check the network and " + w.p.Host}}
	}
	var missing []string
	fix := ""
	for _, c := range all {
		if slices.Contains(listed, c.model) {
			continue
		}
		missing = append(missing, fmt.Sprintf("%s (%s %s)", c.model, c.tool, c.role))
		if fix == "" {
			key := c.tool
			if c.role != "model" {
				key += "." + c.role
			}
			fix = w.cmd("setup", c.tool, "--model", key+"=ENDPOINT") + ", with an endpoint the workspace lists"
		}
	}
	if len(missing) > 0 {
		return []Result{{Status: Warn, Detail: "the workspace lists no serving endpoint named " + strings.Join(missing, ", ") + ": requests naming it fail", Fix: fix}}
	}
	return pass(fmt.Sprintf("the %d chosen models are serving endpoints of the workspace", len(all)))
}

// protocol is one model-serving API an agent speaks, with the smallest
// real request it takes: one token of answer.
type protocol struct {
	name string
	get  func(configurator.Endpoints) string
	set  func(*configurator.Endpoints, string)
	// request is the path after the endpoint's base, and the body.
	request func(model string) (suffix, body string)
}

var protocols = []protocol{
	{"anthropic", func(e configurator.Endpoints) string { return e.Anthropic }, func(e *configurator.Endpoints, v string) { e.Anthropic = v },
		func(m string) (string, string) {
			return "/v1/messages", fmt.Sprintf(`{"model":%q,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`, m)
		}},
	{"responses", func(e configurator.Endpoints) string { return e.Responses }, func(e *configurator.Endpoints, v string) { e.Responses = v },
		func(m string) (string, string) {
			return "/responses", fmt.Sprintf(`{"model":%q,"input":"ping","max_output_tokens":16}`, m)
		}},
	{"gemini", func(e configurator.Endpoints) string { return e.Gemini }, func(e *configurator.Endpoints, v string) { e.Gemini = v },
		func(m string) (string, string) {
			return "/v1beta/models/" + m + ":generateContent", `{"contents":[{"role":"user","parts":[{"text":"ping"}]}],"generationConfig":{"maxOutputTokens":1}}`
		}},
	{"chat", func(e configurator.Endpoints) string { return e.Chat }, func(e *configurator.Endpoints, v string) { e.Chat = v },
		func(m string) (string, string) {
			return "/chat/completions", fmt.Sprintf(`{"model":%q,"max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`, m)
		}},
}

// protocolsOf asks the tool's own plugin which endpoints it uses: it plans
// the tool for a target whose endpoints are distinct markers and looks for
// them in the plan (nothing is written). The plan's text is kept: it names
// the models the tool uses.
func protocolsOf(w *world, t tool) (ps []protocol, text string) {
	if u, ok := w.usage[t.name]; ok {
		return u.protocols, u.text
	}
	marked := t.target
	for _, p := range protocols {
		p.set(&marked.Endpoints, marker(p))
	}
	text = planText(w, t.pl, marked)
	for _, p := range protocols {
		if strings.Contains(text, marker(p)) {
			ps = append(ps, p)
		}
	}
	w.usage[t.name] = usage{ps, text}
	return ps, text
}

// usage is what protocolsOf found for a tool.
type usage struct {
	protocols []protocol
	text      string
}

func marker(p protocol) string { return "http://coda-doctor-" + p.name + ".invalid/base" }

// planText is everything the tool's plan (and, for a tool configured
// through the environment, its variables) would write for t.
func planText(w *world, pl configurator.Configurator, t configurator.Target) string {
	var b strings.Builder
	if plan, err := pl.Plan(w.env, t); err == nil {
		for _, c := range plan.Changes {
			b.Write(c.New)
			b.WriteByte('\n')
		}
	}
	if ep, ok := pl.(configurator.EnvProvider); ok {
		if vars, err := ep.EnvVars(w.env, t); err == nil {
			for _, v := range vars {
				b.WriteString(v.Name + "=" + v.Value + "\n")
			}
		}
	}
	return b.String()
}

// modelIn is the first of listed that text names as a whole word, "" when
// none.
func modelIn(text string, listed []string) string {
	best, at := "", len(text)
	for _, name := range listed {
		re := regexp.MustCompile(`(^|[^A-Za-z0-9._-])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9._-])`)
		if loc := re.FindStringIndex(text); loc != nil && loc[0] < at {
			best, at = name, loc[0]
		}
	}
	return best
}

// checkDeep sends each agent's endpoint one tiny real request with the
// model the tool uses, straight to the workspace with coda's token.
func checkDeep(w *world) []Result {
	if r := w.needOnline(); r != nil {
		return r
	}
	agents := w.agents()
	if len(agents) == 0 {
		return skip("no agent set up")
	}
	c, err := w.workspace()
	if err != nil {
		return []Result{{Status: Fail, Detail: err.Error(), Fix: w.cmd("login")}}
	}
	var out []Result
	for _, t := range agents {
		ps, text := protocolsOf(w, t)
		for _, p := range ps {
			out = append(out, deepRequest(w, c, t, p, text))
		}
	}
	return out
}

func deepRequest(w *world, c workspace.Client, t tool, p protocol, text string) Result {
	r := Result{Name: "deep " + t.name}
	base := p.get(t.direct.Endpoints)
	if !strings.HasPrefix(base, w.p.Host+"/") {
		r.Status, r.Detail = Skip, p.name+" endpoint "+base+" is not on the workspace's host: not checked"
		return r
	}
	model := t.direct.Model("model", "")
	if model == "" {
		listed, err := w.servingEndpoints()
		if err != nil {
			r.Status, r.Detail, r.Fix = Warn, "could not list the serving endpoints to find "+t.name+"'s model: "+err.Error(), "check the network and "+w.p.Host
			return r
		}
		if model = modelIn(text, listed); model == "" {
			r.Status, r.Detail, r.Fix = Warn, t.name+" names no serving endpoint the workspace lists", w.cmd("setup", t.name, "--model", t.name+"=ENDPOINT")
			return r
		}
	}
	suffix, body := p.request(model)
	path := strings.TrimPrefix(base, w.p.Host) + suffix
	code, _, err := c.Probe(w.ctx, http.MethodPost, path, body)
	what := fmt.Sprintf("%s %s with %s", p.name, path, model)
	switch kind := workspace.KindOf(err); {
	case kind == workspace.KindInvalidToken:
		r.Status, r.Detail, r.Fix, r.auth = Fail, what+": the workspace rejects the token", w.cmd("login"), true
	case err != nil:
		r.Status, r.Detail, r.Fix = Fail, what+": "+err.Error(), "check "+w.p.Host+"'s model serving permissions and the network"
	case code == http.StatusNotFound:
		r.Status, r.Detail, r.Fix = Fail, what+": HTTP 404, no such endpoint", w.cmd("setup", t.name, "--model", t.name+"=ENDPOINT")+", with an endpoint the workspace lists"
	case code < 200 || code > 299:
		r.Status, r.Detail, r.Fix = Fail, fmt.Sprintf("%s: HTTP %d", what, code), "check the endpoint "+model+" in the workspace"
	default:
		r.Status, r.Detail = Pass, fmt.Sprintf("%s: HTTP %d", what, code)
	}
	return r
}
