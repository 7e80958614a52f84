package opencode

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/plugins/plugintest"
)

// harnessJS loads the generated plugin the way OpenCode does (a dynamic
// import, every export called as a plugin) and runs its chat.headers hook.
// It prints only whether the headers match what the test expects, never a
// token.
const harnessJS = `
import { pathToFileURL } from "node:url"
import { rmSync, writeFileSync } from "node:fs"

const [pluginPath, tokenFile, first, second] = process.argv.slice(2)
const mod = await import(pathToFileURL(pluginPath).href)
const exports = Object.values(mod)
if (exports.length !== 1) throw new Error("the plugin has " + exports.length + " exports")
const hooks = await exports[0]({ directory: process.cwd() })
const hook = hooks["chat.headers"]
if (typeof hook !== "function") throw new Error("no chat.headers hook")

const results = {}
const call = async (input) => {
  const output = { headers: { "x-other": "kept", authorization: "Bearer stale-sdk-value" } }
  await hook(input, output)
  return output.headers
}

// OpenCode's input: model is the request's model, provider its context.
let h = await call({ sessionID: "s1", agent: "build", model: { id: "m", providerID: "coda-databricks" }, provider: { info: { id: "coda-databricks" } } })
results.codaFirst = h["Authorization"] === "Bearer " + first
results.singleAuthorization = Object.keys(h).filter((k) => k.toLowerCase() === "authorization").length === 1
results.otherKept = h["x-other"] === "kept"

// Only provider.info.id (an older input shape).
h = await call({ sessionID: "s1", provider: { info: { id: "coda-databricks" } } })
results.providerInfoShape = h["Authorization"] === "Bearer " + first

// Another provider: untouched.
h = await call({ sessionID: "s1", model: { id: "x", providerID: "anthropic" }, provider: { info: { id: "anthropic" } } })
results.otherUntouched = h["Authorization"] === undefined && h["authorization"] === "Bearer stale-sdk-value"

// A rotation: coda rewrites the token file; the next request carries it.
writeFileSync(tokenFile, second + "\n", { mode: 0o600 })
h = await call({ sessionID: "s1", model: { id: "m", providerID: "coda-databricks" } })
results.codaRotated = h["Authorization"] === "Bearer " + second

// Revoked: the file is gone; the request fails with coda's message.
rmSync(tokenFile)
try {
  await call({ model: { providerID: "coda-databricks" } })
  results.missingFails = false
} catch (err) {
  results.missingFails = String(err.message).startsWith("coda: cannot read the Databricks token file") && !String(err.message).includes(second)
}
console.log(JSON.stringify(results))
`

func TestPluginRunsInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("SKIPPED: node is not on PATH, so the generated OpenCode plugin was NOT executed; install Node.js to run this test")
	}
	f := newFixture(t, nil)
	f.Apply(target())
	pluginPath := f.Path(pluginRel)
	// OpenCode (Bun) loads plugin/*.js as ES modules; so does Node with a
	// package.json saying so (this file exists only in the test's HOME).
	if err := os.WriteFile(filepath.Join(filepath.Dir(pluginPath), "package.json"), []byte(`{"type": "module"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	harness := filepath.Join(t.TempDir(), "harness.mjs")
	if err := os.WriteFile(harness, []byte(harnessJS), 0o644); err != nil {
		t.Fatal(err)
	}
	const next = "dapi-rotated-node-5555"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, harness, pluginPath, f.tokenFile("default"), plugintest.GoldenToken, next)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		// Never print a token: scrub both before reporting.
		stderr = strings.NewReplacer(plugintest.GoldenToken, "<token>", next, "<token>").Replace(stderr)
		t.Fatalf("node: %v\n%s", err, stderr)
	}
	var results map[string]bool
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("harness output is not JSON (%v)", err)
	}
	for _, k := range []string{"codaFirst", "singleAuthorization", "otherKept", "providerInfoShape", "otherUntouched", "codaRotated", "missingFails"} {
		if !results[k] {
			t.Errorf("%s: false", k)
		}
	}
}
