// Package login implements `coda login`: take a personal access token once,
// validate it with that token alone, and swap it for a coda-owned token.
package login

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/rotation"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
)

// revokeAuto is --revoke-pasted without a value: find the pasted token.
const revokeAuto = "auto"

// maxTokenBytes bounds what --token-stdin reads; a PAT is under 100 bytes.
const maxTokenBytes = 64 << 10

// Options are login's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	Host         string
	TokenStdin   bool
	Lifetime     time.Duration
	RevokePasted string
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
--revoke-pasted, which deletes it when exactly one token that coda did not
create was made in the last hour (else it lists them; pick one with
--revoke-pasted=TOKEN_ID, where a suffix of the id is enough).`,
		Example: `  coda login --host https://my-workspace.cloud.databricks.com
  pbpaste | coda login --host https://my-workspace.cloud.databricks.com --token-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Lifetime, err = f.Duration(cmd, "lifetime"); err != nil {
				return err
			}
			if err := rotation.ValidateOnce(opts.Lifetime, 0); err != nil {
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
	cmd.Flags().DurationVar(&opts.Lifetime, "lifetime", rotation.DefaultLifetime, "lifetime of coda's token (at least 1m)")
	cmd.Flags().StringVar(&opts.RevokePasted, "revoke-pasted", "", "delete the pasted token after the swap (=TOKEN_ID to choose which)")
	cmd.Flags().Lookup("revoke-pasted").NoOptDefVal = revokeAuto
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, err := f.Profile()
	if err != nil {
		return err
	}
	st, err := f.Store()
	if err != nil {
		return err
	}
	state, err := st.Load()
	if err != nil {
		return err
	}
	host, pat, err := readCredentials(ctx, opts, state.Profile(profile))
	if err != nil {
		return err
	}

	pastedClient, err := f.Clients(host, pat)
	if err != nil {
		return err
	}
	me, err := pastedClient.Me(ctx)
	if err != nil {
		return explain(host, "check the token", err)
	}

	unlock, err := st.LockProfile(ctx, profile)
	if err != nil {
		return err
	}
	defer unlock()

	var installationID string
	if err := st.Update(ctx, func(s *store.State) error { installationID = s.InstallationID; return nil }); err != nil {
		return err
	}
	// From here on an interrupt must not separate the create from the save.
	saveCtx := context.WithoutCancel(ctx)
	tag := rotation.Tag{InstallationID: installationID, Profile: profile}
	minted, err := pastedClient.CreateToken(saveCtx, opts.Lifetime, tag.Comment())
	if err != nil {
		return explain(host, "create coda's token", err)
	}
	now := f.Clock.Now()
	var saved store.Profile
	err = st.Update(saveCtx, func(s *store.State) error {
		prev := s.Profile(profile)
		p := &store.Profile{
			Host: host, User: me.UserName,
			Token: minted.Value, TokenID: minted.ID,
			CreatedAt: minted.Created, ExpiresAt: minted.Expiry,
		}
		if prev != nil && prev.Host == host {
			// The previous coda tokens of this profile are deleted by the
			// next rotation, after the usual grace.
			p.Settings = prev.Settings
			p.Pending = prev.Pending
			if prev.TokenID != "" {
				p.Pending = append(p.Pending, store.Pending{TokenID: prev.TokenID,
					DeleteAfter: now.Add(rotation.DefaultGrace), ExpiresAt: prev.ExpiresAt})
			}
		}
		s.Profiles[profile] = p
		saved = *p
		return nil
	})
	if err != nil {
		_ = pastedClient.DeleteToken(saveCtx, minted.ID)
		return fmt.Errorf("store coda's token: %w", err)
	}
	for _, c := range f.TokenConsumers() {
		if err := c.TokenRotated(ctx, profile, saved); err != nil {
			fmt.Fprintf(f.IO.ErrOut, "warning: %s: %v\n", c.Name(), err)
		}
	}

	revoked, revokeErr := "", error(nil)
	if opts.RevokePasted != "" {
		revoked, revokeErr = revokePasted(ctx, f, host, minted, opts.RevokePasted)
	}
	if err := report(f, profile, host, me, minted, revoked); err != nil {
		return err
	}
	return revokeErr
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
		raw, err := io.ReadAll(io.LimitReader(f.IO.In, maxTokenBytes))
		if err != nil {
			return "", "", fmt.Errorf("read the token from stdin: %w", err)
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

// explain turns a workspace error at login into the next step to take.
func explain(host, what string, err error) error {
	switch workspace.KindOf(err) {
	case workspace.KindInvalidToken:
		return exit.Authf("%s rejected the token (%v): create a new personal access token in the workspace (Settings > Developer > Access tokens) and run coda login again", host, err)
	case workspace.KindPermission:
		return fmt.Errorf("%s does not let this user %s (%v): ask a workspace admin for token permissions", host, what, err)
	case workspace.KindQuota:
		return fmt.Errorf("%s: too many live tokens (%v): delete unused ones in Settings > Developer > Access tokens", host, err)
	case workspace.KindTransient, workspace.KindRateLimited:
		return fmt.Errorf("could not %s at %s (%v): check the URL and your network, then try again", what, host, err)
	}
	return fmt.Errorf("could not %s at %s: %w", what, host, err)
}

// revokePasted deletes the token the user pasted. The workspace lists no
// token values, so it is recognised as the one non-coda token created in
// the last hour, or named by (a suffix of) its id.
func revokePasted(ctx context.Context, f *cmdutil.Factory, host string, minted workspace.NewToken, want string) (string, error) {
	c, err := f.Clients(host, minted.Value)
	if err != nil {
		return "", err
	}
	infos, err := c.ListTokens(ctx)
	if err != nil {
		return "", fmt.Errorf("logged in, but could not list tokens to revoke the pasted one: %w", err)
	}
	since := f.Clock.Now().Add(-time.Hour)
	var candidates []workspace.TokenInfo
	for _, ti := range infos {
		if rotation.IsCodaComment(ti.Comment) {
			continue
		}
		if want == revokeAuto && ti.Created.Before(since) {
			continue
		}
		if want != revokeAuto && !strings.HasSuffix(ti.ID, want) {
			continue
		}
		candidates = append(candidates, ti)
	}
	if len(candidates) != 1 {
		slices.SortFunc(candidates, func(a, b workspace.TokenInfo) int { return a.Created.Compare(b.Created) })
		var b strings.Builder
		for _, ti := range candidates {
			fmt.Fprintf(&b, "  %s  created %s  %q\n", redact.Suffix(ti.ID), ti.Created.UTC().Format(time.RFC3339), ti.Comment)
		}
		fmt.Fprint(f.IO.ErrOut, b.String())
		if want != revokeAuto {
			return "", fmt.Errorf("logged in, but %d of your tokens match --revoke-pasted=%s (coda's own never do): give more of the id", len(candidates), want)
		}
		return "", fmt.Errorf("logged in, but %d tokens coda did not create were made in the last hour, so none was revoked: run coda login --revoke-pasted=TOKEN_ID with one of the ids above", len(candidates))
	}
	if err := c.DeleteToken(ctx, candidates[0].ID); err != nil {
		return "", fmt.Errorf("logged in, but could not delete the pasted token %s: %w", redact.Suffix(candidates[0].ID), err)
	}
	return candidates[0].ID, nil
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

func report(f *cmdutil.Factory, profile, host string, me workspace.User, minted workspace.NewToken, revoked string) error {
	pasted := "kept"
	if revoked != "" {
		pasted = "revoked"
	}
	if f.JSON() {
		out := loginJSON{Version: cmdutil.JSONVersion, Profile: profile, Host: host, User: me.UserName,
			TokenID: redact.Suffix(minted.ID), ExpiresAt: minted.Expiry.UTC(), PastedToken: pasted}
		if revoked != "" {
			out.RevokedToken = redact.Suffix(revoked)
		}
		return cmdutil.PrintJSON(f.IO.Out, out)
	}
	left := minted.Expiry.Sub(f.Clock.Now()).Round(time.Second)
	fmt.Fprintf(f.IO.Out, "Logged in to %s as %s (profile %s).\n", host, me.UserName, profile)
	fmt.Fprintf(f.IO.Out, "coda token %s expires at %s (in %s).\n", redact.Suffix(minted.ID), minted.Expiry.UTC().Format(time.RFC3339), left)
	if revoked != "" {
		fmt.Fprintf(f.IO.Out, "Revoked the pasted token %s.\n", redact.Suffix(revoked))
	} else {
		fmt.Fprintln(f.IO.ErrOut, "Your pasted token was left as it is (revoke it in the workspace, or log in with --revoke-pasted).")
	}
	fmt.Fprintln(f.IO.ErrOut, "Next: coda setup --all, then keep coda rotate --watch running (or run coda rotate from cron).")
	return nil
}
