// Package e2e is coda's end-to-end suite: it installs the real agent CLIs
// (Claude Code, Codex, Gemini CLI, OpenCode) at the versions coda pins, runs
// `coda login` and `coda setup --all` in a temporary HOME against the fake
// workspace, and checks that every agent completes a prompt with coda's
// token, at the start of a session, after a rotation between sessions and
// across a rotation in the middle of a session. It also loads the
// ~/.databrickscfg profile coda writes with the real Databricks SDK.
//
// The tests carry the build tag e2e, so `go test ./...` does not run them:
//
//	go test -tags e2e -count=1 -v -timeout 25m ./internal/e2e/
//
// The CLIs are installed with npm into $CODA_E2E_CACHE (default
// ~/.cache/coda-e2e) once; when the npm registry cannot be reached the
// agent test is skipped with a banner on stderr. $CODA_E2E_REPORT, when set,
// names a file that receives the results table as Markdown.
package e2e
