// Package rotate implements `coda rotate`: one rotation, or with --watch the
// foreground loop that rotates on schedule.
package rotate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/agentproc"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/rotation"
)

// Options are rotate's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	Lifetime      time.Duration
	Grace         time.Duration
	Watch         bool
	Interval      time.Duration
	PauseWhenIdle bool
	// AgentsRunning reports whether a coding agent runs (tests replace it).
	AgentsRunning func() bool
}

// NewCmdRotate builds the command; runF replaces the run function in tests.
func NewCmdRotate(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, AgentsRunning: agentproc.Running}
	cmd := &cobra.Command{
		Use:   "rotate [--watch]",
		Short: "Replace coda's token with a fresh one (once, or on schedule with --watch)",
		Long: `Mint a new token, store it, hand it to every configured CLI, then delete the
old token once --grace has passed.

Why the grace: the workspace answers a deleted token with 403, and some agents
only fetch a new token after a 401 or when their refresh interval passes, so
deleting the old token at once would break running sessions. A one-shot
rotate deletes every old token whose grace has passed (--grace 0s: the one
it just replaced). A failed delete stays pending and is retried at every
later rotation; it never fails the rotation. Each rotation also deletes
orphans: tokens with this installation's tag that coda does not hold.

With --watch coda stays in the foreground (a tmux pane is a good home):
it rotates at once when the token is older than --interval, then every
--interval, and deletes old tokens when their grace ends. It sleeps in
slices of at most a minute against the token's real expiry, so after a
suspend it rotates at once if the token still lives, and exits 4 if it does
not. Network errors, 5xx and 429 are retried with capped exponential backoff
and jitter that never runs past the expiry. One line per event goes to
stderr (with -o json, one JSON object per event to stdout). Ctrl-C or
SIGTERM finishes the current step and exits 0; a second one kills. Only one
watcher runs per profile.`,
		Example: `  coda rotate
  coda rotate --grace 0s
  coda rotate --watch
  coda rotate --watch --pause-when-idle`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			for name, dst := range map[string]*time.Duration{"lifetime": &opts.Lifetime, "grace": &opts.Grace, "interval": &opts.Interval} {
				if *dst, err = f.Duration(cmd, name); err != nil {
					return err
				}
			}
			if opts.Watch {
				err = rotation.ValidateWatch(opts.Lifetime, opts.Interval, opts.Grace)
			} else {
				err = rotation.ValidateOnce(opts.Lifetime, opts.Grace)
			}
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.Watch {
				return runWatch(cmd.Context(), opts)
			}
			return runOnce(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Lifetime, "lifetime", rotation.DefaultLifetime, "lifetime of each new token (at least 1m)")
	cmd.Flags().DurationVar(&opts.Grace, "grace", rotation.DefaultGrace, "how long the old token lives on after a rotation")
	cmd.Flags().BoolVar(&opts.Watch, "watch", false, "stay in the foreground and rotate every --interval")
	cmd.Flags().DurationVar(&opts.Interval, "interval", rotation.DefaultInterval, "with --watch: time between rotations (shorter than --lifetime)")
	cmd.Flags().BoolVar(&opts.PauseWhenIdle, "pause-when-idle", false, "with --watch: skip rotations while no claude, codex, gemini or opencode process runs")
	return cmd
}

type pendingJSON struct {
	TokenID     string    `json:"token_id"`
	DeleteAfter time.Time `json:"delete_after"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
}

type resultJSON struct {
	Version        int           `json:"version"`
	Profile        string        `json:"profile"`
	TokenID        string        `json:"token_id"`
	ExpiresAt      time.Time     `json:"expires_at"`
	Deleted        []string      `json:"deleted"`
	OrphansDeleted []string      `json:"orphans_deleted"`
	Pending        []pendingJSON `json:"pending"`
	Warnings       []string      `json:"warnings"`
}

func runOnce(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, err := f.Profile()
	if err != nil {
		return err
	}
	r, err := f.Rotator()
	if err != nil {
		return err
	}
	res, err := r.Rotate(ctx, rotation.Options{Profile: profile, Lifetime: opts.Lifetime, Grace: opts.Grace})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(f.IO.ErrOut, "warning:", w)
	}
	if f.JSON() {
		out := resultJSON{Version: cmdutil.JSONVersion, Profile: profile, TokenID: redact.Suffix(res.TokenID),
			ExpiresAt: res.ExpiresAt.UTC(), Deleted: suffixes(res.Deleted), OrphansDeleted: suffixes(res.OrphansDeleted),
			Pending: []pendingJSON{}, Warnings: append([]string{}, res.Warnings...)}
		for _, pe := range res.Pending {
			out.Pending = append(out.Pending, pendingJSON{redact.Suffix(pe.TokenID), pe.DeleteAfter.UTC(), pe.Attempts, pe.LastError})
		}
		return cmdutil.PrintJSON(f.IO.Out, out)
	}
	w := f.IO.Out
	fmt.Fprintf(w, "Rotated profile %s: token %s expires at %s.\n", profile, redact.Suffix(res.TokenID), stamp(res.ExpiresAt))
	if len(res.Deleted) > 0 {
		fmt.Fprintf(w, "Deleted old token %s.\n", strings.Join(suffixes(res.Deleted), ", "))
	}
	if len(res.OrphansDeleted) > 0 {
		fmt.Fprintf(w, "Deleted orphaned token %s.\n", strings.Join(suffixes(res.OrphansDeleted), ", "))
	}
	for _, pe := range res.Pending {
		if pe.LastError != "" {
			fmt.Fprintf(w, "Pending deletion: %s (failed %d times: %s; retried at the next rotation).\n", redact.Suffix(pe.TokenID), pe.Attempts, pe.LastError)
		} else {
			fmt.Fprintf(w, "Pending deletion: %s after %s.\n", redact.Suffix(pe.TokenID), stamp(pe.DeleteAfter))
		}
	}
	return nil
}

func runWatch(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, err := f.Profile()
	if err != nil {
		return err
	}
	st, err := f.Store()
	if err != nil {
		return err
	}
	release, err := st.AcquireWatcher(profile)
	if err != nil {
		return err
	}
	defer release()
	r, err := f.Rotator()
	if err != nil {
		return err
	}
	if f.JSON() {
		r.Events = jsonEvents(f.IO.Out)
	} else {
		r.Events = textEvents(f.IO.ErrOut)
	}
	return r.Watch(ctx, rotation.WatchOptions{
		Options:       rotation.Options{Profile: profile, Lifetime: opts.Lifetime, Grace: opts.Grace},
		Interval:      opts.Interval,
		PauseWhenIdle: opts.PauseWhenIdle,
		AgentsRunning: opts.AgentsRunning,
	})
}

type eventJSON struct {
	Version     int        `json:"version"`
	Time        time.Time  `json:"time"`
	Profile     string     `json:"profile"`
	Event       string     `json:"event"`
	TokenID     string     `json:"token_id,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	NextAttempt *time.Time `json:"next_at,omitempty"`
	Message     string     `json:"message,omitempty"`
}

func jsonEvents(w io.Writer) func(rotation.Event) {
	enc := json.NewEncoder(w)
	return func(e rotation.Event) {
		out := eventJSON{Version: cmdutil.JSONVersion, Time: e.Time.UTC(), Profile: e.Profile, Event: e.Kind, Message: e.Message}
		if e.TokenID != "" {
			out.TokenID = redact.Suffix(e.TokenID)
		}
		if !e.ExpiresAt.IsZero() {
			t := e.ExpiresAt.UTC()
			out.ExpiresAt = &t
		}
		if !e.NextAttempt.IsZero() {
			t := e.NextAttempt.UTC()
			out.NextAttempt = &t
		}
		_ = enc.Encode(out)
	}
}

func textEvents(w io.Writer) func(rotation.Event) {
	return func(e rotation.Event) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s", stamp(e.Time), e.Profile, e.Kind)
		if e.TokenID != "" {
			fmt.Fprintf(&b, " %s", redact.Suffix(e.TokenID))
		}
		switch e.Kind {
		case rotation.EventWaiting:
			fmt.Fprintf(&b, " expires %s, next rotation %s", stamp(e.ExpiresAt), stamp(e.NextAttempt))
		case rotation.EventRetry:
			fmt.Fprintf(&b, " in %s", e.RetryIn.Round(time.Millisecond))
		default:
			if !e.ExpiresAt.IsZero() {
				fmt.Fprintf(&b, " expires %s", stamp(e.ExpiresAt))
			}
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
		fmt.Fprintln(w, b.String())
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func suffixes(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, redact.Suffix(id))
	}
	return out
}
