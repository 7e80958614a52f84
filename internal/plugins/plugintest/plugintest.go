// Package plugintest holds what the plugins' tests share: the golden
// target, a Fixture (a HOME, a state directory and a configurator.Env for
// one test), golden-file comparison with -update, and small helpers for
// reading what a plugin wrote.
//
// It is imported only by _test.go files under internal/plugins; nothing
// that ships depends on it. Importing it registers the -update flag, so a
// test package that imports it must not define -update itself. The
// contract every plugin must pass is configuratortest's, not this one's.
package plugintest

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// The workspace and token of Target; golden files hold them as they are.
const (
	GoldenHost  = "https://example.cloud.databricks.com"
	GoldenToken = "dapi-golden-token-0000"
)

// Target is the target the golden files were written for: profile
// "default" on GoldenHost with the serving-endpoints family, user
// alice@example.com, GoldenToken with a 15-minute lifetime and a 2-minute
// grace, and no models or options. Each call returns fresh maps, so a test
// may change what it gets.
func Target() configurator.Target {
	return configurator.Target{
		Profile:       "default",
		Host:          GoldenHost,
		User:          "alice@example.com",
		Endpoints:     servingEndpoints(GoldenHost),
		Models:        map[string]string{},
		TokenCommand:  []string{"/usr/local/bin/coda", "token", "-p", "default"},
		Token:         GoldenToken,
		HelperRefresh: time.Minute,
		Options:       map[string]string{},
	}
}

// ProxiedTarget is Target through coda's proxy on 127.0.0.1:port, as
// pluginhost builds it: the endpoints on the proxy, key (the proxy's local
// key) in place of the token, and coda proxy key as the token command.
func ProxiedTarget(port int, key string) configurator.Target {
	t := Target()
	t.Endpoints = servingEndpoints("http://127.0.0.1:" + strconv.Itoa(port))
	t.Token = key
	t.TokenCommand = []string{"/usr/local/bin/coda", "proxy", "key", "-p", "default"}
	t.Proxied = true
	return t
}

// servingEndpoints are the serving-endpoints family on base.
func servingEndpoints(base string) configurator.Endpoints {
	return configurator.Endpoints{Family: "serving",
		Anthropic: base + "/serving-endpoints/anthropic",
		Responses: base + "/serving-endpoints",
		Gemini:    base + "/serving-endpoints/google",
		Chat:      base + "/serving-endpoints"}
}

// Changed lists the paths a plan changes, in the plan's order.
func Changed(p configurator.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Changed() {
			out = append(out, c.Path)
		}
	}
	return out
}

// Refused checks the error of op (Plan, PlanRemove, Status) on a file the
// plugin must refuse: there is one, it names the file as ~/rel and says
// want, and it is one line that does not quote secret.
func Refused(t testing.TB, op string, err error, rel, want, secret string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s accepted the file", op)
	}
	msg := err.Error()
	if !strings.Contains(msg, "~/"+rel) || !strings.Contains(msg, want) {
		t.Errorf("%s: error %q does not name ~/%s and say %q", op, msg, rel, want)
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, secret) {
		t.Errorf("%s: error spans lines or echoes content: %q", op, msg)
	}
}

// MustParseJSON parses a JSON object with jsonedit or fails the test.
func MustParseJSON(t testing.TB, s string) *jsonedit.Object {
	t.Helper()
	o, err := jsonedit.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Plain turns jsonedit values into maps, slices and strings that compare
// with reflect.DeepEqual; a number becomes "number:" and its text, so that
// 1.50 and 1.5 stay apart.
func Plain(v any) any {
	switch t := v.(type) {
	case *jsonedit.Object:
		m := map[string]any{}
		for _, k := range t.Keys() {
			e, _ := t.Get(k)
			m[k] = Plain(e)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Plain(e)
		}
		return out
	case json.Number:
		return "number:" + string(t)
	}
	return v
}

// SplitJSON is the configuratortest Split of a JSON file in dialect d of
// which coda owns the values at paths: it returns the rest of the file,
// the objects that taking coda's values out leaves empty deleted, and
// coda's values by their dotted path (nil when there are none), all
// Plain.
func SplitJSON(data []byte, d jsonedit.Dialect, paths ...[]string) (foreign, owned any, err error) {
	doc, err := jsonedit.ParseDialect(data, d)
	if err != nil {
		return nil, nil, err
	}
	var own map[string]any
	for _, path := range paths {
		if v, ok := doc.GetPath(path...); ok {
			if own == nil {
				own = map[string]any{}
			}
			own[strings.Join(path, ".")] = Plain(v)
			doc.DeletePathPrune(path...)
		}
	}
	return Plain(doc), own, nil
}

// WriteFile writes content to path (mode 0644), creating its directories.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Exists reports whether path exists.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Snapshot returns every file below dir: its path → its content.
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		out[path] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
