// Package cmdtest is the harness shared by the unit tests of the command
// packages under internal/cmd. An Env runs one command the way the root
// command would: over in-memory streams, a map environment, a fake clock,
// a fake workspace and the real SDK client.
//
// Only tests import this package. It must not import a command package:
// those packages' own tests import it.
package cmdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/clock"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/plugins"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// T0 is when every Env's fake clock starts.
var T0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// User is the workspace user every Env's fake workspace knows.
const User = "alice@example.com"

// Env is one test's world. Tests change its fields before running a
// command; every run builds a fresh Factory from them.
type Env struct {
	T     *testing.T
	Srv   *fakeworkspace.Server
	Clock *clock.Fake
	Dir   string            // the config dir, CODA_CONFIG_DIR in Vars
	Vars  map[string]string // the environment the command sees
	TTY   bool              // whether stdin and stderr are terminals
	Stdin string
	Ctx   context.Context // the command's context

	// Prompter answers login's prompt.
	Prompter cmdutil.Prompter

	// PAT is User's personal access token, issued at T0 by NewWithPAT.
	PAT, PATID string

	run, login func(*cmdutil.Factory) *cobra.Command // for Run and Login
}

// New returns an Env over a fresh fake workspace that knows User, with an
// empty config dir, no prompter and no consumer. The workspace fails the
// test on any request it does not expect. run is the command under test,
// as Run runs it; see Cmd.
func New(t *testing.T, run func(*cmdutil.Factory) *cobra.Command) *Env {
	t.Helper()
	clk := clock.NewFake(T0)
	srv := fakeworkspace.New(fakeworkspace.Options{
		Clock:        clk,
		OnUnexpected: func(msg string) { t.Errorf("%s", msg) },
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddUser(User, "Alice Example")
	dir := filepath.Join(t.TempDir(), "coda") // coda makes it 0700, whatever the umask
	return &Env{
		T: t, Srv: srv, Clock: clk, Dir: dir,
		// A login never probes the real system keyring of the machine
		// running the tests: tests of the keyring unset this.
		Vars: map[string]string{"CODA_CONFIG_DIR": dir, "CODA_STORAGE": "file"},
		Ctx:  context.Background(),
		run:  run,
	}
}

// NewWithPAT is New for the commands that run after login: User holds a
// PAT named "laptop" for Login to paste into login (the real login
// command), a Recorder is the consumer, and the prompter refuses to be
// called.
func NewWithPAT(t *testing.T, run, login func(*cmdutil.Factory) *cobra.Command) *Env {
	t.Helper()
	e := New(t, run)
	e.login = login
	e.PAT, e.PATID = e.Srv.IssuePAT(User, "laptop", 0)
	e.Prompter = refusingPrompter{}
	return e
}

type refusingPrompter struct{}

func (refusingPrompter) Login(cmdutil.LoginPrompt) (string, string, error) {
	return "", "", errors.New("the test prompter must not be called")
}

func (refusingPrompter) Confirm(string, bool) (bool, error) {
	return false, errors.New("the test prompter must not be called")
}

func (refusingPrompter) Choose(string, []cmdutil.Option) (string, error) {
	return "", errors.New("the test prompter must not be called")
}

// Result is what one command run printed and returned.
type Result struct {
	Out, ErrOut string
	Err         error
}

// Code is the exit code the error maps to.
func (r Result) Code() int { return exit.CodeOf(r.Err) }

// Factory builds the Factory the way root.NewFactory does, over in-memory
// streams, the map environment, the fake clock and the real SDK client.
// It returns the buffers behind stdout and stderr.
func (e *Env) Factory() (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, in, out, errOut := cmdutil.TestStreams(e.TTY)
	in.WriteString(e.Stdin)
	f := &cmdutil.Factory{
		IO:          ios,
		Getenv:      func(k string) string { return e.Vars[k] },
		Clock:       e.Clock,
		Clients:     workspace.NewSDKClient,
		Prompter:    func() cmdutil.Prompter { return e.Prompter },
		Plugins:     plugins.Builtins(),
		ProfileFlag: "default",
		Output:      "text",
	}
	return f, out, errOut
}

// Cmd adapts a command constructor to New, NewWithPAT and Exec: the
// command runs its real run function (runF nil).
func Cmd[O any](newCmd func(*cmdutil.Factory, func(context.Context, *O) error) *cobra.Command) func(*cmdutil.Factory) *cobra.Command {
	return func(f *cmdutil.Factory) *cobra.Command { return newCmd(f, nil) }
}

// Parse runs newCmd with a runF that keeps a copy of the Options it is
// given and does nothing else, to test flag parsing. got is nil when the
// command failed before calling runF.
func Parse[O any](e *Env, newCmd func(*cmdutil.Factory, func(context.Context, *O) error) *cobra.Command, args ...string) (res Result, got *O) {
	e.T.Helper()
	res = e.Exec(func(f *cmdutil.Factory) *cobra.Command {
		return newCmd(f, func(_ context.Context, o *O) error {
			c := *o
			got = &c
			return nil
		})
	}, args...)
	return res, got
}

// Exec runs one command. "-o X" and "-p X" are taken out of args and set
// on the Factory, as the root command's persistent flags would.
func (e *Env) Exec(newCmd func(*cmdutil.Factory) *cobra.Command, args ...string) Result {
	e.T.Helper()
	f, out, errOut := e.Factory()
	rest := []string{} // never nil: cobra would parse the test binary's own arguments
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-o":
			f.Output, f.OutputFlag = args[i+1], true
			i++
		case "-p":
			f.ProfileFlag, f.ProfileChanged = args[i+1], true
			i++
		default:
			rest = append(rest, args[i])
		}
	}
	cmd := newCmd(f)
	cmd.SetArgs(rest)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(e.Ctx)
	return Result{Out: out.String(), ErrOut: errOut.String(), Err: err}
}

// Run runs the command under test, as Exec does.
func (e *Env) Run(args ...string) Result {
	e.T.Helper()
	return e.Exec(e.run, args...)
}

// Login runs the real `coda login --token-stdin` with PAT (NewWithPAT
// only), fails the test unless it stored a token, and returns the stored
// profile. args may hold "-p NAME". It passes --force: a test that logs
// in again means to replace the login.
func (e *Env) Login(args ...string) *store.Profile {
	e.T.Helper()
	if e.login == nil {
		e.T.Fatal("cmdtest: Login needs an Env from NewWithPAT")
	}
	e.Stdin = e.PAT
	defer func() { e.Stdin = "" }()
	res := e.Exec(e.login, append([]string{"--host", e.Srv.URL(), "--token-stdin", "--force"}, args...)...)
	if res.Err != nil {
		e.T.Fatalf("login: %v\nstderr: %s", res.Err, res.ErrOut)
	}
	profile := "default"
	for i, a := range args {
		if a == "-p" {
			profile = args[i+1]
		}
	}
	p := e.State().Profile(profile)
	if !p.HasToken() {
		e.T.Fatalf("login stored no token for %s", profile)
	}
	return p
}

// AddSink gives profile a tool whose token sink is a file in the test's
// config dir, as coda setup records for a literal-delivery plugin, and
// returns it.
func (e *Env) AddSink(profile string) sink.Spec {
	e.T.Helper()
	spec := sink.Spec{Plugin: "testtool", Path: filepath.Join(e.Dir, "tools", profile+".token"), Format: sink.FormatFile}
	err := store.NewFileStore(e.Dir).Update(context.Background(), func(s *store.State) error {
		p := s.Profile(profile)
		if p == nil {
			return errors.New("no profile " + profile)
		}
		p.Tools = append(p.Tools, store.Tool{Plugin: spec.Plugin, Sinks: []sink.Spec{spec}})
		return nil
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return spec
}

// SinkToken is the token a sink holds ("" for none).
func (e *Env) SinkToken(s sink.Spec) string {
	e.T.Helper()
	tok, err := sink.Writer{}.Get(s)
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

// State loads the stored state from the config dir.
func (e *Env) State() *store.State {
	e.T.Helper()
	st, err := store.NewFileStore(e.Dir).Load()
	if err != nil {
		e.T.Fatal(err)
	}
	return st
}

// WriteConfig writes config.yaml in the config dir.
func (e *Env) WriteConfig(yaml string) {
	e.T.Helper()
	if err := os.MkdirAll(e.Dir, 0o700); err != nil {
		e.T.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.Dir, cmdutil.SettingsFile), []byte(yaml), 0o600); err != nil {
		e.T.Fatal(err)
	}
}

// AssertNoSecrets fails if any token the fake ever minted shows up.
func (e *Env) AssertNoSecrets(texts ...string) {
	e.T.Helper()
	for _, v := range e.Srv.MintedValues() {
		for _, s := range texts {
			if strings.Contains(s, v) {
				e.T.Errorf("output contains a token value (%s…):\n%s", v[:8], s)
			}
		}
	}
}

// IsLive reports whether User's token id is live in the workspace.
func (e *Env) IsLive(id string) bool {
	for _, ti := range e.Srv.LiveTokens(User) {
		if ti.ID == id {
			return true
		}
	}
	return false
}

// DecodeJSON decodes s as one JSON object and checks its schema version.
func DecodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, s)
	}
	if m["version"] != float64(1) {
		t.Errorf("version = %v, want 1", m["version"])
	}
	return m
}

// InForce resolves a command's timing for a profile with no stored policy
// and checks it, as the engine does before it acts: the policy in force,
// or the usage error the command would end with.
func InForce(timing lifecycle.Timing) (policy.Policy, error) {
	in, _, err := timing.Resolve(policy.Settings{})
	if err == nil {
		err = in.Validate()
	}
	return in, err
}
