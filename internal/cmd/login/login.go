// Package login implements `coda login`: take a personal access token once,
// validate it with that token alone, and swap it for a coda-owned token.
package login

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// maxTokenBytes bounds what --token-stdin takes: a PAT is under 100 bytes,
// so anything near this is not a token, and it is refused, never cut.
const maxTokenBytes = 4 << 10

// Options are login's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	Host         string
	TokenStdin   bool
	RevokePasted string
	// Timing resolves the profile's policy (--lifetime is stored in it).
	Timing lifecycle.Timing
}

// NewCmdLogin builds the command; runF replaces the run function in tests.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "login [--host URL] [--token-stdin]",
		Short: "Swap a personal access token for a short-lived coda token",
		Long: `Take a Databricks personal access token (PAT) once, check it against the
workspace using that token alone, and swap it for a coda-owned token that
lives --lifetime (15 minutes by default).

On a terminal coda asks for the workspace URL and the token (masked). Without
a terminal it never prompts: pipe the token in with --token-stdin and give
the host with --host or DATABRICKS_HOST. A token is never accepted as a
command-line argument.

The pasted PAT stays yours: coda leaves it alone unless you pass
--revoke-pasted=TOKEN_ID (a suffix of the id is enough), which deletes that
token once coda's own is stored. The workspace lists no token values, so
coda never guesses which token you pasted: on a terminal, --revoke-pasted
without an id lists your tokens that coda did not create (id, comment,
created, expires) and asks; without a terminal the id is required.`,
		Example: `  coda login --host https://my-workspace.cloud.databricks.com
  pbpaste | coda login --host https://my-workspace.cloud.databricks.com --token-stdin`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				// Never echo it: it may be the token itself.
				return exit.Usagef("coda login takes no arguments, and a token never goes on the command line (shell history, the process list): paste it at the masked prompt or pipe it into --token-stdin")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case cmd.Flags().Changed("revoke-pasted") && opts.RevokePasted == "":
				return exit.Usagef("--revoke-pasted= needs a token id: --revoke-pasted=TOKEN_ID (a suffix of the id is enough)")
			case opts.RevokePasted == lifecycle.RevokePastedAsk && !f.IO.CanPrompt():
				return exit.Usagef("--revoke-pasted without an id asks which token to delete, and there is no terminal: pass --revoke-pasted=TOKEN_ID (the id of the token you pasted, from the workspace's Access tokens page)")
			}
			var err error
			if opts.Timing, err = f.Timing(cmd, true); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Host, "host", "", "workspace URL (default: DATABRICKS_HOST, else the profile's host)")
	cmd.Flags().BoolVar(&opts.TokenStdin, "token-stdin", false, "read the personal access token from standard input")
	cmdutil.AddTimingFlags(cmd.Flags(), cmdutil.KeyLifetime)
	cmd.Flags().StringVar(&opts.RevokePasted, "revoke-pasted", "", "delete the pasted token after the swap (=TOKEN_ID to choose which)")
	cmd.Flags().Lookup("revoke-pasted").NoOptDefVal = lifecycle.RevokePastedAsk
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, e, err := f.Lifecycle()
	if err != nil {
		return err
	}
	state, err := e.Store.Load()
	if err != nil {
		return err
	}
	host, pat, err := readCredentials(ctx, opts, state.Profile(profile))
	if err != nil {
		return err
	}
	res, err := e.Login(ctx, lifecycle.LoginRequest{Profile: profile, Host: host, PAT: pat, Timing: opts.Timing})
	if err != nil {
		return err
	}
	for _, sf := range res.SinkFailures {
		fmt.Fprintf(f.IO.ErrOut, "warning: %v\n", sf)
	}
	if res.SkewWarning != "" {
		fmt.Fprintln(f.IO.ErrOut, "warning:", res.SkewWarning)
	}
	revoked, revokeErr := "", error(nil)
	if opts.RevokePasted != "" {
		revoked, revokeErr = revokePasted(ctx, f, e, profile, opts.RevokePasted)
	}
	if err := report(f, res, revoked); err != nil {
		return err
	}
	return revokeErr
}

// revokePasted deletes the token the person names, or (ask) chooses from
// the list on a terminal; it returns the deleted id ("" for none).
func revokePasted(ctx context.Context, f *cmdutil.Factory, e *lifecycle.Engine, profile, want string) (string, error) {
	if want == lifecycle.RevokePastedAsk {
		all, err := e.PastedCandidates(ctx, profile)
		if err != nil {
			return "", err
		}
		if len(all) == 0 {
			fmt.Fprintln(f.IO.ErrOut, "No token of yours that coda did not create is left to revoke.")
			return "", nil
		}
		options := []cmdutil.Option{{Label: "none: keep them all", Value: ""}}
		for _, ti := range all {
			options = append(options, cmdutil.Option{Label: describeToken(ti), Value: ti.ID})
		}
		if want, err = f.Prompter().Choose("Which token did you paste? coda deletes it", options); err != nil || want == "" {
			return "", err
		}
	}
	id, candidates, err := e.RevokePasted(ctx, profile, want)
	for _, ti := range candidates {
		fmt.Fprintln(f.IO.ErrOut, "  "+describeToken(ti))
	}
	return id, err
}

// describeToken is one line about a token: id suffix, created, expiry and
// comment; never its value.
func describeToken(ti lifecycle.PastedCandidate) string {
	expires := "never expires"
	if !ti.Expiry.IsZero() {
		expires = "expires " + ti.Expiry.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s  created %s  %s  %q", redact.Suffix(ti.ID), ti.Created.UTC().Format(time.RFC3339), expires, ti.Comment)
}

// readCredentials gets host and token from flags, stdin or a prompt.
func readCredentials(ctx context.Context, opts *Options, prev *store.Profile) (host, token string, err error) {
	f := opts.F
	host = opts.Host
	if host == "" {
		host = f.Getenv("DATABRICKS_HOST")
	}
	if host == "" && prev != nil {
		host = prev.Host
	}
	switch {
	case opts.TokenStdin:
		raw, err := io.ReadAll(io.LimitReader(f.IO.In, maxTokenBytes+1))
		if err != nil {
			return "", "", fmt.Errorf("read the token from stdin: %w", err)
		}
		switch {
		case len(raw) > maxTokenBytes:
			return "", "", exit.Usagef("stdin holds more than %d bytes, which is no personal access token: pipe in only the token", maxTokenBytes)
		case bytes.IndexByte(raw, 0) >= 0:
			return "", "", exit.Usagef("stdin holds a NUL byte, which no personal access token has: pipe in only the token")
		}
		token = strings.TrimSpace(string(raw))
		if token == "" {
			return "", "", exit.Usagef("no token on stdin: pipe a personal access token into coda login --token-stdin")
		}
		if strings.ContainsAny(token, " \t\r\n") {
			return "", "", exit.Usagef("stdin holds more than one line or word: pipe in only the personal access token")
		}
	case f.IO.CanPrompt():
		if host, token, err = f.Prompter().Login(host); err != nil {
			return "", "", err
		}
	default:
		return "", "", exit.Usagef("no terminal to ask for the token: pipe it in with --token-stdin and pass --host (or set DATABRICKS_HOST)")
	}
	if host == "" {
		return "", "", exit.Usagef("no workspace host: pass --host https://<workspace>.cloud.databricks.com or set DATABRICKS_HOST")
	}
	if host, err = workspace.NormalizeHost(host); err != nil {
		return "", "", exit.Usagef("%v", err)
	}
	return host, token, nil
}

type loginJSON struct {
	Version      int       `json:"version"`
	Profile      string    `json:"profile"`
	Host         string    `json:"host"`
	User         string    `json:"user"`
	TokenID      string    `json:"token_id"`
	ExpiresAt    time.Time `json:"expires_at"`
	PastedToken  string    `json:"pasted_token"`
	RevokedToken string    `json:"revoked_token_id,omitempty"`
}

func report(f *cmdutil.Factory, res *lifecycle.LoginResult, revoked string) error {
	profile, host, me := res.Profile, res.Host, res.User
	pasted := "kept"
	if revoked != "" {
		pasted = "revoked"
	}
	if f.JSON() {
		out := loginJSON{Version: cmdutil.JSONVersion, Profile: profile, Host: host, User: me.UserName,
			TokenID: redact.Suffix(res.TokenID), ExpiresAt: res.ExpiresAt.UTC(), PastedToken: pasted}
		if revoked != "" {
			out.RevokedToken = redact.Suffix(revoked)
		}
		return cmdutil.PrintJSON(f.IO.Out, out)
	}
	left := res.ExpiresAt.Sub(f.Clock.Now()).Round(time.Second)
	fmt.Fprintf(f.IO.Out, "Logged in to %s as %s (profile %s).\n", host, me.UserName, profile)
	fmt.Fprintf(f.IO.Out, "coda token %s expires at %s (in %s).\n", redact.Suffix(res.TokenID), res.ExpiresAt.UTC().Format(time.RFC3339), left)
	if revoked != "" {
		fmt.Fprintf(f.IO.Out, "Revoked the pasted token %s.\n", redact.Suffix(revoked))
	} else {
		fmt.Fprintln(f.IO.ErrOut, "Your pasted token was left as it is (revoke it in the workspace, or log in with --revoke-pasted=TOKEN_ID).")
	}
	fmt.Fprintln(f.IO.ErrOut, "Next: coda setup --all, then keep coda rotate --watch running (or run coda rotate from cron).")
	return nil
}
