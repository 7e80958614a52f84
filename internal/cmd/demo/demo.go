// Package demo implements `coda demo`: the whole token lifecycle against
// the embedded fake workspace, narrated, with no real workspace needed.
package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/fakeworkspace/tokenapi"
)

// demoUser is the fake workspace's only user.
const demoUser = "demo.user@example.com"

// Options are demo's dependencies.
type Options struct {
	F       *cmdutil.Factory
	NewRoot func(*cmdutil.Factory) *cobra.Command
}

// NewCmdDemo builds the command. newRoot builds the command tree the demo
// drives (passed in because root imports this package).
func NewCmdDemo(f *cmdutil.Factory, newRoot func(*cmdutil.Factory) *cobra.Command, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, NewRoot: newRoot}
	return &cobra.Command{
		Use:   "demo",
		Short: "Show the whole token lifecycle against a built-in fake workspace",
		Long: `Start coda's fake Databricks workspace on 127.0.0.1, then run login, status,
rotate, rotate and revoke against it in a temporary config dir, narrating
each step. Nothing outside the temporary dir is read or written and no real
workspace is contacted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
}

func run(ctx context.Context, opts *Options) error {
	out := opts.F.IO.Out
	fake := tokenapi.New(tokenapi.Options{Clock: opts.F.Clock})
	if err := fake.Start(); err != nil {
		return fmt.Errorf("start the fake workspace: %w", err)
	}
	defer fake.Close()
	fake.AddUser(demoUser, "Demo User")
	pat, _ := fake.IssuePAT(demoUser, "pasted by the demo user", 90*24*time.Hour)

	dir, err := os.MkdirTemp("", "coda-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(out, "A fake Databricks workspace is listening on %s.\n", fake.URL())
	fmt.Fprintf(out, "coda keeps its state for this demo in %s (removed afterwards).\n", dir)

	steps := []struct {
		say   string
		args  []string
		stdin string
	}{
		{"Log in: the personal access token is read from stdin (on a terminal coda asks for it, masked),\n" +
			"checked with that token alone, and swapped for a coda token that lives 15 minutes.",
			[]string{"login", "--host", fake.URL(), "--token-stdin"}, pat},
		{"Status works offline: it shows the token's last 4 characters, never the token.",
			[]string{"status"}, ""},
		{"Rotate with no grace: a new token is minted, stored and verified, and the old one is deleted at once.\n   (--grace is stored in the profile's timing policy: later rotations use it too.)",
			[]string{"rotate", "--grace", "0s"}, ""},
		{"Rotate with a 2-minute grace again: the old token stays alive so running agents can switch.",
			[]string{"rotate", "--grace", "2m"}, ""},
		{"Status again: one token is waiting for its grace to end.",
			[]string{"status"}, ""},
		{"Revoke: delete coda's tokens in the workspace and forget the profile.",
			[]string{"revoke"}, ""},
	}
	for i, s := range steps {
		fmt.Fprintf(out, "\n%d. %s\n$ coda %s\n", i+1, s.say, strings.Join(s.args, " "))
		if code := runChild(ctx, opts, dir, s.args, s.stdin); code != exit.OK {
			return fmt.Errorf("demo step %q failed with exit code %d", strings.Join(s.args, " "), code)
		}
	}
	live := 0
	for _, t := range fake.LiveTokens(demoUser) {
		if strings.HasPrefix(t.Comment, "coda:") {
			live++
		}
	}
	fmt.Fprintf(out, "\nThe workspace answered %d requests; coda tokens still alive: %d.\n", len(fake.Requests()), live)
	fmt.Fprintln(out, "Next, for real: coda login, coda setup --all, coda rotate --watch.")
	return nil
}

// runChild runs one coda command line against the demo's config dir.
func runChild(ctx context.Context, opts *Options, dir string, args []string, stdin string) int {
	parent := opts.F
	child := &cmdutil.Factory{
		IO: &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: indent(parent.IO.Out), ErrOut: indent(parent.IO.ErrOut)},
		Getenv: func(k string) string {
			if k == "CODA_CONFIG_DIR" {
				return dir
			}
			if k == "CODA_STORAGE" {
				return "file" // the demo's tokens never reach the system keyring
			}
			if strings.HasPrefix(k, "CODA_") || strings.HasPrefix(k, "DATABRICKS_") {
				return ""
			}
			return parent.Getenv(k)
		},
		Clock:   parent.Clock,
		Clients: parent.Clients,
	}
	cmd := opts.NewRoot(child)
	cmd.SetArgs(args)
	cmd.SetOut(child.IO.Out)
	cmd.SetErr(child.IO.ErrOut)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(child.IO.ErrOut, "Error:", err)
		return exit.CodeOf(err)
	}
	return exit.OK
}

// indent prefixes every line a child command writes, so the narration
// stands out from the commands' own output.
func indent(w io.Writer) io.Writer { return &prefixWriter{w: w, atStart: true} }

type prefixWriter struct {
	w       io.Writer
	atStart bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var sb strings.Builder
	for _, c := range string(b) {
		if p.atStart {
			sb.WriteString("    ")
		}
		sb.WriteRune(c)
		p.atStart = c == '\n'
	}
	if _, err := io.WriteString(p.w, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}
