//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/store"
)

// TestAgentsProxy runs the real agents in proxy mode: they hold coda's
// local key and reach the fake workspace through `coda proxy`. A running
// session must survive a rotation with --grace 0s (the old token deleted
// at once): with the default --proxy auto for Gemini CLI, with --proxy all
// for every agent. No file an agent reads may hold a Databricks token.
func TestAgentsProxy(t *testing.T) {
	pkgs := pinnedCLIs(t)
	npmBin, _, err := installCLIs(t, pkgs)
	if errors.Is(err, errRegistryUnreachable) {
		skipLoudly(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	modes := []struct {
		name   string
		setup  []string
		agents []string
	}{
		// The default: Gemini CLI through the proxy. (With Claude Code or
		// Codex set up as well, their helpers' refresh interval would make
		// --grace 0s a usage error: their sessions would die.)
		{"auto", []string{"gemini", "crush"}, []string{"gemini", "crush"}},
		{"all", []string{"--all", "--proxy", "all"}, []string{"claude", "codex", "gemini", "opencode", "pi", "copilot", "crush"}},
	}
	var table []string
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			w := newWorld(t, append([]string{npmBin}, ownBinaryDirs()...)...)
			if mode.name == "auto" {
				// A corporate proxy that answers nothing: Gemini CLI must
				// reach coda's proxy directly, through the NO_PROXY coda
				// writes into ~/.gemini/.env.
				w.extraEnv = []string{"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9"}
			}
			preseed(t, w)
			w.login(t)
			w.codaOK(t, "", append([]string{"setup", "--gemini-trust-home", "--endpoint", "serving"}, mode.setup...)...)
			px := w.start(t, "coda proxy", w.home, "", 20*time.Minute, w.coda, "proxy")
			defer px.Kill()
			waitForProxy(t, w)
			for _, name := range mode.agents {
				a := agentNamed(t, name)
				t.Run(a.name, func(t *testing.T) {
					skipUnlessOnPath(t, w, a.name)
					noDatabricksToken(t, w)
					ok, _ := startOfSession(t, w, a)
					mid := midSessionNoGrace(t, w, a)
					table = append(table, fmt.Sprintf("| %s | %s | %s | %s |", a.name, mode.name, yesOrFail(ok, "no answer"), mid))
				})
			}
			px.Kill()
			w.scanLeaks(t)
		})
	}
	t.Logf("proxy mode, rotation with --grace 0s in the middle of a session:\n| agent | --proxy | start of session | survives mid-session |\n|---|---|---|---|\n%s",
		strings.Join(table, "\n"))
}

func agentNamed(t *testing.T, name string) agent {
	for _, a := range agents {
		if a.name == name {
			return a
		}
	}
	t.Fatalf("no agent %s", name)
	return agent{}
}

// waitForProxy waits until coda status says the proxy is up.
func waitForProxy(t *testing.T, w *world) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r := w.run(t, "coda status", w.home, "", codaTimeout, w.coda, "status")
		if strings.Contains(string(r.stdout), "Proxy:") && strings.Contains(string(r.stdout), " up, for ") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("coda proxy did not come up within 10s")
}

// noDatabricksToken fails if a file under HOME outside coda's own config
// dir holds the profile's current token.
func noDatabricksToken(t *testing.T, w *world) {
	t.Helper()
	st, err := store.NewFileStore(w.configDir).Load()
	if err != nil {
		t.Fatal(err)
	}
	p := st.Profile(profile)
	proxied := map[string]bool{}
	for _, name := range p.ProxiedTools() {
		proxied[name] = true
	}
	dirs := map[string]string{"claude": ".claude", "codex": ".codex", "gemini": ".gemini", "opencode": ".config/opencode", "pi": ".pi", "crush": ".config/crush",
		"copilot": ".config/coda/env"} // the snippets the user's shell sources
	for name := range proxied {
		if dirs[name] == "" {
			t.Fatalf("the suite does not know where %s's files are", name)
		}
		root := filepath.Join(w.home, filepath.FromSlash(dirs[name]))
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || strings.Contains(path, "node_modules") {
				return nil
			}
			if data, err := os.ReadFile(path); err == nil && strings.Contains(string(data), p.Token) {
				t.Errorf("%s (%s is in proxy mode) holds a Databricks token", path, name)
			}
			return nil
		})
	}
}

// midSessionNoGrace holds the agent's first model request that offers
// tools, rotates with --grace 0s (the old token is deleted before the
// agent's next request), releases the held answer, and checks that the
// agent's follow-up went out with the new token and the agent finished.
func midSessionNoGrace(t *testing.T, w *world, a agent) string {
	t.Helper()
	oldID, _ := w.current(t)
	h, p, failed := holdMidSession(t, w, a, "mid-session proxied")
	defer h.Release()
	defer p.Kill()
	if failed != "" {
		return failed
	}
	w.codaOK(t, "", "rotate", "--grace", "0s")
	newID, _ := w.current(t)
	if newID == oldID || w.fw.RevokeToken(oldID) {
		return failf(t, "coda rotate --grace 0s did not replace and delete %s", short(oldID))
	}
	h.Release()
	res := p.Wait()
	ups := h.FollowUps()
	seq := followUpSequence(ups, oldID, newID)
	t.Logf("mid-session through the proxy: held with %s; rotated to %s with --grace 0s; follow-ups: %s; %s exited %d",
		short(oldID), short(newID), seq, a.name, res.exit)
	finished := res.ok() && strings.Contains(string(res.stdout), fakeworkspace.ReplyText)
	if len(ups) == 0 || !finished {
		return failf(t, "%s did not finish after the rotation (follow-ups %s):\n%s", a.name, seq, res.describe())
	}
	for _, u := range ups {
		if u.TokenID != newID || u.Status != 200 {
			return failf(t, "%s: a follow-up went out with %s (status %d), want the new token %s: %s", a.name, short(u.TokenID), u.Status, short(newID), seq)
		}
	}
	return "yes (" + seq + ")"
}
