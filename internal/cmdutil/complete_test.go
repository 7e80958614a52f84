package cmdutil_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/envtool"
	"github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/plugins"
	"github.com/coda-cli/coda/internal/root"
	"github.com/coda-cli/coda/internal/shellenv"
	"github.com/coda-cli/coda/internal/store"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	workHost    = "https://work.example.com"
	stagingHost = "https://staging.example.com"
)

// world is a config dir with two profiles, and the environment that
// points coda at it.
type world struct {
	dir string
	env map[string]string
}

func newWorld(t *testing.T) world {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "coda")
	st := store.NewFileStore(dir)
	err := st.Update(context.Background(), func(s *store.State) error {
		s.Profiles["work"] = &store.Profile{Host: workHost, User: "alice@example.com", Token: "not-a-real-token", TokenID: "id-work"}
		s.Profiles["staging"] = &store.Profile{Host: stagingHost, User: "alice@example.com", Token: "not-a-real-token", TokenID: "id-staging"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return world{dir: dir, env: map[string]string{"CODA_CONFIG_DIR": dir, "HOME": t.TempDir()}}
}

func (w world) factory(now time.Time) *cmdutil.Factory {
	ios, _, _, _ := cmdutil.TestStreams(false)
	env := w.env
	// No Clients: completing must never reach a workspace (a call would
	// panic on the nil factory).
	return &cmdutil.Factory{IO: ios, Getenv: func(k string) string { return env[k] }, Clock: clock.NewFake(now),
		Plugins: plugins.Builtins(), ProfileFlag: "default", Output: "text"}
}

// complete runs cobra's hidden __complete command, as the shell scripts
// do, and returns the candidates and the directive line (":4" is
// ShellCompDirectiveNoFileComp).
func (w world) complete(t *testing.T, now time.Time, args ...string) ([]string, string) {
	t.Helper()
	got, directive, err := w.tryComplete(now, args...)
	if err != nil {
		t.Fatal(err)
	}
	return got, directive
}

func (w world) tryComplete(now time.Time, args ...string) ([]string, string, error) {
	ios, _, out, errOut := cmdutil.TestStreams(false)
	f := w.factory(now)
	f.IO = ios
	cmd := root.NewCmdRoot(f)
	cmd.SetArgs(append([]string{"__complete"}, args...))
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	if err := cmd.Execute(); err != nil {
		return nil, "", fmt.Errorf("__complete %q: %v\n%s", args, err, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1], nil
}

func pluginNames() []string {
	var names []string
	for _, pl := range plugins.Builtins() {
		names = append(names, pl.Info().Name)
	}
	return names
}

// withoutDesc drops the tab-separated descriptions.
func withoutDesc(cands []string) []string {
	out := make([]string, len(cands))
	for i, c := range cands {
		out[i], _, _ = strings.Cut(c, "\t")
	}
	return out
}

func without(names []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(drop, n) })
}

func TestCompletion(t *testing.T) {
	w := newWorld(t)
	f := w.factory(t0)
	f.RememberModels("work", workHost, []string{"databricks-claude-sonnet-4-6", "databricks-gpt-5", "databricks-claude-opus-4-6"})
	tools := envtool.Names(envtool.List(plugins.Builtins()))
	prefixes := []string{}
	for _, n := range pluginNames() {
		prefixes = append(prefixes, n+"=")
	}

	tests := []struct {
		name      string
		env       map[string]string // over the world's
		args      []string
		want      []string // without descriptions
		directive string
	}{
		{"setup: plugin names", nil, []string{"setup", ""}, pluginNames(), ":4"},
		{"setup: named plugins are not offered again", nil, []string{"setup", "claude", ""}, without(pluginNames(), "claude"), ":4"},
		{"setup: nothing after --all", nil, []string{"setup", "--all", ""}, nil, ":4"},
		{"-p: profiles in the store", nil, []string{"-p", ""}, []string{"staging", "work"}, ":4"},
		{"-p after a command, by prefix", nil, []string{"status", "--profile", "w"}, []string{"work"}, ":4"},
		{"-o", nil, []string{"status", "-o", ""}, []string{"text", "json"}, ":4"},
		{"--endpoint", nil, []string{"setup", "--endpoint", ""}, pluginhost.Families, ":4"},
		{"--proxy", nil, []string{"setup", "claude", "--proxy", ""}, pluginhost.ProxyModes, ":4"},
		{"--shell", nil, []string{"env", "--shell", ""}, shellenv.Names(), ":4"},
		{"exec --tool", nil, []string{"exec", "--tool", ""}, tools, ":4"},
		{"env TOOL, each once", nil, []string{"env", "openai", ""}, without(tools, "openai"), ":4"},
		// 6 = NoSpace|NoFileComp: the model name follows the = directly.
		{"--model: PLUGIN= first", nil, []string{"setup", "--model", ""}, prefixes, ":6"},
		{"--model: PLUGIN= by prefix", nil, []string{"setup", "--model", "cl"}, []string{"claude="}, ":6"},
		{"--model: the profile's cached models", nil, []string{"-p", "work", "setup", "--model", "claude=databricks-claude"},
			[]string{"claude=databricks-claude-sonnet-4-6", "claude=databricks-claude-opus-4-6"}, ":4"},
		{"--model PLUGIN.ROLE=", nil, []string{"setup", "-p", "work", "--model", "opencode.small_model="},
			[]string{"opencode.small_model=databricks-claude-sonnet-4-6", "opencode.small_model=databricks-gpt-5", "opencode.small_model=databricks-claude-opus-4-6"}, ":4"},
		{"--model: the profile from CODA_PROFILE", map[string]string{"CODA_PROFILE": "work"}, []string{"setup", "--model", "codex=databricks-g"}, []string{"codex=databricks-gpt-5"}, ":4"},
		{"--model: another profile's cache is not used", nil, []string{"-p", "staging", "setup", "--model", "claude="}, nil, ":4"},
		{"--model: no such plugin", nil, []string{"-p", "work", "setup", "--model", "nope="}, nil, ":4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ww := w
			if tt.env != nil {
				ww.env = map[string]string{}
				for k, v := range w.env {
					ww.env[k] = v
				}
				for k, v := range tt.env {
					ww.env[k] = v
				}
			}
			got, directive := ww.complete(t, t0.Add(time.Hour), tt.args...)
			if !slices.Equal(withoutDesc(got), tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("__complete %q = %q, want %q", tt.args, withoutDesc(got), tt.want)
			}
			if directive != tt.directive {
				t.Errorf("__complete %q directive = %s, want %s", tt.args, directive, tt.directive)
			}
		})
	}
}

// TestCompletionDescriptions: zsh and fish show a profile's workspace and
// a plugin's description next to its name.
func TestCompletionDescriptions(t *testing.T) {
	w := newWorld(t)
	got, _ := w.complete(t, t0, "-p", "")
	if !slices.Contains(got, "work\t"+workHost) {
		t.Errorf("-p candidates %q do not describe work by its host", got)
	}
	got, _ = w.complete(t, t0, "setup", "cla")
	if len(got) != 1 || !strings.HasPrefix(got[0], "claude\t") || len(got[0]) <= len("claude\t") {
		t.Errorf("setup candidates %q do not describe claude", got)
	}
}

// TestModelCache: the cache offers its names for a day, for the workspace
// it was listed from only.
func TestModelCache(t *testing.T) {
	tests := []struct {
		name  string
		host  string // the cache's
		age   time.Duration
		wantN int
	}{
		{"fresh", workHost, time.Hour, 1},
		{"a day old", workHost, cmdutil.ModelCacheTTL - time.Minute, 1},
		{"older than a day", workHost, cmdutil.ModelCacheTTL + time.Minute, 0},
		{"from the future", workHost, -time.Hour, 0},
		{"listed from another workspace", stagingHost, time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.factory(t0).RememberModels("work", tt.host, []string{"databricks-gpt-5"})
			got, _ := w.complete(t, t0.Add(tt.age), "-p", "work", "setup", "--model", "codex=")
			if len(got) != tt.wantN {
				t.Errorf("candidates %q, want %d", got, tt.wantN)
			}
		})
	}
	t.Run("the file", func(t *testing.T) {
		w := newWorld(t)
		w.factory(t0).RememberModels("work", workHost, []string{"databricks-gpt-5"})
		fi, err := os.Stat(cmdutil.ModelCachePath(w.dir, "work"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("the cache file is %v, want private", fi.Mode().Perm())
		}
	})
}

// TestCompletionReadsOnly: completing waits for no lock (a rotation may
// hold the store for seconds) and writes nothing, not even the config dir.
func TestCompletionReadsOnly(t *testing.T) {
	w := newWorld(t)
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- store.NewFileStore(w.dir).Update(context.Background(), func(*store.State) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	type result struct {
		got []string
		err error
	}
	finished := make(chan result, 1)
	go func() {
		got, _, err := w.tryComplete(t0, "-p", "")
		finished <- result{got, err}
	}()
	select {
	case r := <-finished:
		if r.err != nil {
			t.Error(r.err)
		} else if !slices.Equal(withoutDesc(r.got), []string{"staging", "work"}) {
			t.Errorf("with the store locked, -p candidates are %q", r.got)
		}
	case <-time.After(10 * time.Second):
		t.Error("completing -p waited for the store's lock")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	empty := world{dir: filepath.Join(t.TempDir(), "none"), env: map[string]string{}}
	empty.env["CODA_CONFIG_DIR"] = empty.dir
	for _, args := range [][]string{{"-p", ""}, {"setup", "--model", "claude="}} {
		if got, directive := empty.complete(t, t0, args...); len(got) != 0 || directive != ":4" {
			t.Errorf("without a config dir, __complete %q = %q %s", args, got, directive)
		}
	}
	if _, err := os.Stat(empty.dir); !os.IsNotExist(err) {
		t.Errorf("completing created the config dir (%v)", err)
	}
}
