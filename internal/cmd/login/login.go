// Package login implements `coda login`: take a personal access token once
// (pasted, piped, or the credentials of one Databricks CLI profile),
// validate it with that token alone, and swap it for a coda-owned token.
//
// Choices: a Databricks CLI profile is read explicitly (its own section,
// its own auth type, nothing from the environment: see
// workspace.TokenFromProfile) and used once. Replacing a live login asks
// first on a terminal and needs --force elsewhere (exit 2 without it): a
// script that logs in again would otherwise silently move the profile's
// tools to another workspace or user. After a first login on a terminal
// coda offers to run coda setup --all.
//
// Where the token lives is decided here, once, and pinned in the profile
// (store.StorageKeyring or store.StorageFile): --storage, else
// CODA_STORAGE, else storage in config.yaml, else what the profile was
// pinned to at its last login, else the system keyring when a throwaway
// entry can be stored, read back and deleted, and credentials.json (said
// on stderr) when not. A keyring that was asked for, or pinned, and fails
// that probe is an error: coda never moves a token out of the keyring on
// its own, because a later command in the desktop session would otherwise
// find the token somewhere the person did not choose.
package login

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/plugins/databricks"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/workspace"
	"github.com/coda-cli/coda/pkg/configurator"
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
	// DatabricksProfile is the Databricks CLI profile whose credentials
	// mint coda's first token: --databricks-profile, else
	// DATABRICKS_CONFIG_PROFILE when neither --host nor --token-stdin is
	// given.
	DatabricksProfile string
	// Force replaces a live login without asking.
	Force bool
	// Storage is --storage (store.StorageKeyring or store.StorageFile),
	// "" when not given.
	Storage string
	// Timing resolves the profile's policy (--lifetime is stored in it).
	Timing lifecycle.Timing
	// RunSetup runs coda setup --all when the person accepts the offer
	// after a first login; tests replace it.
	RunSetup func(ctx context.Context) error
}

// NewCmdLogin builds the command; runF replaces the run function in tests.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "login [--host URL] [--token-stdin | --databricks-profile NAME]",
		Short: "Swap a personal access token for a short-lived coda token",
		Long: `Take a Databricks personal access token (PAT) once, check it against the
workspace using that token alone, and swap it for a coda-owned token that
lives --lifetime (15 minutes by default).

On a terminal coda asks for the workspace URL (not when --host is given)
and the token (masked). Without a terminal it never prompts: pipe the
token in with --token-stdin and give the host with --host or
DATABRICKS_HOST. A token is never accepted as a command-line argument.

--databricks-profile NAME takes the credentials of that one profile of
~/.databrickscfg (or DATABRICKS_CONFIG_FILE) instead, whatever its auth
type: a PAT (auth_type = pat), a service principal's OAuth secret
(oauth-m2m) or a databricks auth login (databricks-cli, read from the
Databricks CLI's token cache ~/.databricks/token-cache.json and refreshed
there when it has expired). They are used once, to mint coda's first
token, and never stored. Only that profile counts: no other profile, no
[DEFAULT] and no DATABRICKS_* variable. Without --host and --token-stdin,
DATABRICKS_CONFIG_PROFILE names the profile too.

The token needs the authentication scope (or all APIs) to create coda's
tokens; a scoped token without it is refused with an error that names it.

A profile that is already logged in (its coda token has not expired) is
only replaced after a yes on a terminal, or with --force; without a
terminal and without --force login refuses (exit 2). After the first login
of a profile on a terminal, coda offers to run coda setup --all.

The pasted PAT stays yours: coda leaves it alone unless you pass
--revoke-pasted=TOKEN_ID (a suffix of the id is enough), which deletes that
token once coda's own is stored; coda revoke --pasted TOKEN_ID does it
later. The workspace lists no token values, so coda never guesses which
token you pasted: on a terminal, --revoke-pasted without an id lists your
tokens that coda did not create (id, comment, created, expires) and asks;
without a terminal the id is required.

coda keeps the token in the system keyring (the Secret Service on Linux,
the login Keychain on macOS, the Credential Manager on Windows) when it
works, else in credentials.json (0600) with a note on stderr. --storage
keyring|file, CODA_STORAGE or storage in config.yaml choose; a chosen
keyring that does not work is an error, never a fallback. The choice is
pinned in the profile: every later command follows it, and a login again
keeps it unless one of those says otherwise. Each keyring call gives up
after 3 seconds. A profile whose token is in the keyring cannot be used
where the keyring is out of reach (cron, ssh or systemd without a D-Bus
session): log such a profile in with --storage file.`,
		Example: `  coda login --host https://my-workspace.cloud.databricks.com
  pbpaste | coda login --host https://my-workspace.cloud.databricks.com --token-stdin
  coda login --databricks-profile work
  coda login -p work --databricks-profile work --force`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				// Never echo it: it may be the token itself.
				return exit.Usagef("coda login takes no arguments, and a token never goes on the command line (shell history, the process list): paste it at the masked prompt or pipe it into --token-stdin")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			fromProfile := cmd.Flags().Changed("databricks-profile")
			switch {
			case cmd.Flags().Changed("revoke-pasted") && opts.RevokePasted == "":
				return exit.Usagef("--revoke-pasted= needs a token id: --revoke-pasted=TOKEN_ID (a suffix of the id is enough)")
			case fromProfile && opts.DatabricksProfile == "":
				return exit.Usagef("--databricks-profile needs the name of a profile in ~/.databrickscfg")
			case fromProfile && (opts.Host != "" || opts.TokenStdin || opts.RevokePasted != ""):
				return exit.Usagef("--databricks-profile takes the host and the credentials from the profile: drop --host, --token-stdin and --revoke-pasted")
			case cmd.Flags().Changed("storage") && opts.Storage != store.StorageKeyring && opts.Storage != store.StorageFile:
				return exit.Usagef("--storage must be keyring or file, got %q", opts.Storage)
			case opts.RevokePasted == lifecycle.RevokePastedAsk && !f.IO.CanPrompt():
				return exit.Usagef("--revoke-pasted without an id asks which token to delete, and there is no terminal: pass --revoke-pasted=TOKEN_ID (the id of the token you pasted, from the workspace's Access tokens page)")
			}
			if !fromProfile && opts.Host == "" && !opts.TokenStdin && opts.RevokePasted == "" {
				opts.DatabricksProfile = strings.TrimSpace(f.Getenv("DATABRICKS_CONFIG_PROFILE"))
			}
			var err error
			if opts.Timing, err = f.Timing(cmd, true); err != nil {
				return err
			}
			if opts.RunSetup == nil {
				opts.RunSetup = func(ctx context.Context) error { return runSetupAll(ctx, cmd) }
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Host, "host", "", "workspace URL (default: DATABRICKS_HOST, else the profile's host)")
	cmd.Flags().BoolVar(&opts.TokenStdin, "token-stdin", false, "read the personal access token from standard input")
	cmd.Flags().StringVar(&opts.DatabricksProfile, "databricks-profile", "", "log in with the credentials of this ~/.databrickscfg profile (pat, oauth-m2m or databricks-cli)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace a live login of the profile without asking")
	cmd.Flags().StringVar(&opts.Storage, "storage", "", "keep the token in the system keyring or in the credentials file: keyring or file (default: "+cmdutil.EnvName(cmdutil.KeyStorage)+", storage in config.yaml, the profile's, else keyring when it works)")
	_ = cmd.RegisterFlagCompletionFunc("storage", cmdutil.CompleteWords(store.StorageKeyring, store.StorageFile))
	cmdutil.AddTimingFlags(cmd.Flags(), cmdutil.KeyLifetime)
	cmd.Flags().StringVar(&opts.RevokePasted, "revoke-pasted", "", "delete the pasted token after the swap (=TOKEN_ID to choose which)")
	cmd.Flags().Lookup("revoke-pasted").NoOptDefVal = lifecycle.RevokePastedAsk
	return cmd
}

// runSetupAll runs the setup command of cmd's tree as `coda setup --all`,
// for the same profile (the factory holds it).
func runSetupAll(ctx context.Context, cmd *cobra.Command) error {
	setup, _, err := cmd.Root().Find([]string{"setup"})
	if err != nil || setup == nil || setup.Name() != "setup" || setup.RunE == nil {
		return errors.New("this coda has no setup command: configure your tools with coda setup --all")
	}
	if err := setup.ParseFlags([]string{"--all"}); err != nil {
		return err
	}
	setup.SetContext(ctx)
	return setup.RunE(setup, nil)
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
	prev := state.Profile(profile)
	if keep, err := confirmReplace(f, opts, profile, prev); err != nil || keep {
		return err
	}
	storage, err := chooseStorage(f, opts, profile, prev)
	if err != nil {
		return err
	}
	req := lifecycle.LoginRequest{Profile: profile, Timing: opts.Timing, DatabricksProfile: opts.DatabricksProfile, Storage: storage}
	var authType string
	if opts.DatabricksProfile != "" {
		var pt workspace.ProfileToken
		if pt, err = tokenFromProfile(ctx, f, opts.DatabricksProfile); err != nil {
			return err
		}
		req.Host, req.PAT, authType = pt.Host, pt.Token, pt.AuthType
	} else if req.Host, req.PAT, err = readCredentials(ctx, opts, prev); err != nil {
		return err
	}
	res, err := e.Login(ctx, req)
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
		if revokeErr != nil {
			revokeErr = fmt.Errorf("logged in, but %w", revokeErr)
		}
	}
	if err := report(f, res, opts.DatabricksProfile, authType, revoked); err != nil {
		return err
	}
	if revokeErr != nil {
		return revokeErr
	}
	return offerSetup(ctx, f, opts, !res.KeptTools)
}

// chooseStorage decides where the profile keeps its token (see the
// package doc) and says so on stderr when it falls back to the file.
func chooseStorage(f *cmdutil.Factory, opts *Options, profile string, prev *store.Profile) (string, error) {
	choice, source := opts.Storage, "--storage "+opts.Storage
	if choice == "" {
		name := cmdutil.EnvName(cmdutil.KeyStorage)
		if env := f.Getenv(name); env != "" {
			if env != store.StorageKeyring && env != store.StorageFile {
				return "", exit.Usagef("%s must be keyring or file, got %q", name, env)
			}
			choice, source = env, name+"="+env
		} else if v, err := f.SettingString(cmdutil.KeyStorage); err != nil {
			return "", err
		} else if v != "" {
			choice, source = v, cmdutil.KeyStorage+": "+v+" in "+cmdutil.SettingsFile
		}
	}
	pinned := ""
	if prev != nil {
		pinned = prev.Storage
	}
	st, err := f.Store()
	if err != nil {
		return "", err
	}
	storage, note, err := decideStorage(choice, source, profile, pinned, st.ProbeKeyring)
	if note != "" {
		fmt.Fprintln(f.IO.ErrOut, note)
	}
	return storage, err
}

// decideStorage is the rule: choice (from source) over the profile's
// pinned storage over the probe. The keyring is probed only when it may
// be used.
func decideStorage(choice, source, profile, pinned string, probe func() error) (storage, note string, err error) {
	switch {
	case choice == store.StorageFile, choice == "" && pinned == store.StorageFile:
		return store.StorageFile, "", nil
	case choice == store.StorageKeyring:
		if err := probe(); err != nil {
			return "", "", fmt.Errorf("%s asks for the system keyring, which does not work here (%v): make it work (on Linux, a D-Bus session with a Secret Service such as gnome-keyring) or keep the token in credentials.json with --storage file", source, err)
		}
		return store.StorageKeyring, "", nil
	case pinned == store.StorageKeyring:
		if err := probe(); err != nil {
			return "", "", fmt.Errorf("profile %s keeps its token in the system keyring, which does not work here (%v): log in where it works, or pass --storage file to keep the token in credentials.json from now on", profile, err)
		}
		return store.StorageKeyring, "", nil
	}
	if err := probe(); err != nil {
		return store.StorageFile, fmt.Sprintf("note: no usable system keyring (%v); keeping the token of profile %s in credentials.json (0600). --storage keyring makes that an error instead.", err, profile), nil
	}
	return store.StorageKeyring, "", nil
}

// confirmReplace decides whether a login may replace the profile's live
// one: yes with --force, else the person's answer on a terminal; without a
// terminal it refuses (exit 2). keep is true when the person said no.
func confirmReplace(f *cmdutil.Factory, opts *Options, profile string, prev *store.Profile) (keep bool, err error) {
	now := f.Clock.Now()
	if opts.Force || !prev.Live(now) {
		return false, nil
	}
	left := prev.Remaining(now).Round(time.Second)
	if !f.IO.CanPrompt() {
		return false, exit.Usagef("profile %s is logged in to %s as %s (coda token %s, %s left): pass --force to replace that login, or log in another profile with -p NAME",
			profile, prev.Host, prev.User, redact.Suffix(prev.TokenID), left)
	}
	replace, err := f.Prompter().Confirm(fmt.Sprintf("Profile %s is logged in to %s as %s (%s left). Replace that login?", profile, prev.Host, prev.User, left), false)
	if err != nil {
		return false, err
	}
	if !replace {
		fmt.Fprintf(f.IO.ErrOut, "Kept the login of profile %s.\n", profile)
	}
	return !replace, nil
}

// tokenFromProfile gets the bearer token of Databricks CLI profile name,
// from ~/.databrickscfg or DATABRICKS_CONFIG_FILE.
func tokenFromProfile(ctx context.Context, f *cmdutil.Factory, name string) (workspace.ProfileToken, error) {
	home := f.Getenv("HOME")
	if home == "" {
		// Windows sets USERPROFILE, not HOME (the Databricks CLI reads the
		// same directory there).
		home = f.Getenv("USERPROFILE")
	}
	if home == "" {
		return workspace.ProfileToken{}, errors.New("HOME is not set, so coda cannot find ~/.databrickscfg: set HOME or DATABRICKS_CONFIG_FILE")
	}
	// The file coda setup databricks writes.
	file := databricks.ConfigPath(configurator.Env{Home: home, Getenv: f.Getenv})
	return workspace.TokenFromProfile(ctx, workspace.DatabricksProfile{Name: name, File: file,
		TokenCache: filepath.Join(home, ".databricks", "token-cache.json"), Log: f.Log()})
}

// offerSetup offers, on a terminal and after the first login of the
// profile, to run coda setup --all (yes by default), and ends with the
// next steps.
func offerSetup(ctx context.Context, f *cmdutil.Factory, opts *Options, first bool) error {
	const watch = "keep coda rotate --watch running (or run coda rotate from cron)"
	if !first || !f.IO.CanPrompt() || f.JSON() {
		fmt.Fprintln(f.IO.ErrOut, "Next: coda setup --all, then "+watch+".")
		return nil
	}
	yes, err := f.Prompter().Confirm("Set up your coding agents and the Databricks CLI now (coda setup --all)?", true)
	if err != nil {
		return err
	}
	if !yes {
		fmt.Fprintln(f.IO.ErrOut, "Next: coda setup --all, then "+watch+".")
		return nil
	}
	if err := opts.RunSetup(ctx); err != nil {
		return fmt.Errorf("logged in, but coda setup --all failed: %w", err)
	}
	fmt.Fprintln(f.IO.ErrOut, "Next: "+watch+".")
	return nil
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
			options = append(options, cmdutil.Option{Label: DescribePasted(ti), Value: ti.ID})
		}
		if want, err = f.Prompter().Choose("Which token did you paste? coda deletes it", options); err != nil || want == "" {
			return "", err
		}
	}
	id, candidates, err := e.RevokePasted(ctx, profile, want)
	for _, ti := range candidates {
		fmt.Fprintln(f.IO.ErrOut, "  "+DescribePasted(ti))
	}
	return id, err
}

// DescribePasted is one line about a token that may be the pasted one: id
// suffix, created, expiry and comment; never its value. coda revoke
// --pasted lists candidates the same way.
func DescribePasted(ti lifecycle.PastedCandidate) string {
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
		if host, token, err = f.Prompter().Login(cmdutil.LoginPrompt{Host: host, HostFixed: opts.Host != ""}); err != nil {
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
	Version     int          `json:"version"`
	Profile     string       `json:"profile"`
	Host        string       `json:"host"`
	User        string       `json:"user"`
	TokenID     string       `json:"token_id"`
	ExpiresAt   cmdutil.Time `json:"expires_at"`
	PastedToken string       `json:"pasted_token"` // kept, revoked, or none (a Databricks CLI profile's)
	// Storage is where coda keeps the token: keyring or file.
	Storage string `json:"storage"`
	// DatabricksProfile is the Databricks CLI profile whose credentials
	// minted the token, and AuthType their kind.
	DatabricksProfile string `json:"databricks_profile,omitempty"`
	AuthType          string `json:"auth_type,omitempty"`
	RevokedToken      string `json:"revoked_token_id,omitempty"`
}

func report(f *cmdutil.Factory, res *lifecycle.LoginResult, dbProfile, authType, revoked string) error {
	profile, host, me := res.Profile, res.Host, res.User
	pasted := "kept"
	switch {
	case dbProfile != "":
		pasted = "none"
	case revoked != "":
		pasted = "revoked"
	}
	if f.JSON() {
		out := loginJSON{Version: cmdutil.JSONVersion, Profile: profile, Host: host, User: me.UserName,
			TokenID: redact.Suffix(res.TokenID), ExpiresAt: cmdutil.NewTime(res.ExpiresAt), PastedToken: pasted,
			DatabricksProfile: dbProfile, AuthType: authType, Storage: res.Storage}
		if revoked != "" {
			out.RevokedToken = redact.Suffix(revoked)
		}
		return cmdutil.PrintJSON(f.IO.Out, out)
	}
	left := res.ExpiresAt.Sub(f.Clock.Now()).Round(time.Second)
	fmt.Fprintf(f.IO.Out, "Logged in to %s as %s (profile %s).\n", host, me.UserName, profile)
	fmt.Fprintf(f.IO.Out, "coda token %s expires at %s (in %s).\n", redact.Suffix(res.TokenID), res.ExpiresAt.UTC().Format(time.RFC3339), left)
	if res.Storage == store.StorageKeyring {
		fmt.Fprintf(f.IO.Out, "It is kept in the system keyring (service %s).\n", store.KeyringService)
	}
	switch pasted {
	case "revoked":
		fmt.Fprintf(f.IO.Out, "Revoked the pasted token %s.\n", redact.Suffix(revoked))
	case "kept":
		fmt.Fprintln(f.IO.ErrOut, "Your pasted token was left as it is (revoke it in the workspace, or later with coda revoke --pasted TOKEN_ID).")
	default:
		fmt.Fprintf(f.IO.ErrOut, "Used the credentials of Databricks CLI profile %s (%s) once; coda keeps none of them.\n", dbProfile, authType)
	}
	return nil
}
