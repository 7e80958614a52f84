// Package rotate implements `coda rotate`: one rotation, or with --watch the
// foreground loop that rotates on schedule.
package rotate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/coda-cli/coda/internal/agentproc"
	proxycmd "github.com/coda-cli/coda/internal/cmd/proxy"
	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/redact"
)

// Options are rotate's dependencies and flags.
type Options struct {
	F *cmdutil.Factory

	// Timing resolves the profile's policy; --lifetime, --interval and
	// --grace given here are stored in it.
	Timing        lifecycle.Timing
	Watch         bool
	AllProfiles   bool
	PauseWhenIdle bool
	// AgentsRunning reports whether a coding agent runs, or that it cannot
	// tell (tests replace it).
	AgentsRunning func() (bool, error)
}

// NewCmdRotate builds the command; runF replaces the run function in tests.
func NewCmdRotate(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f, AgentsRunning: agentproc.Running}
	cmd := &cobra.Command{
		Use:   "rotate [--watch]",
		Short: "Replace coda's token with a fresh one (once, or on schedule with --watch)",
		Long: `Mint a new token, store it, write it into every tool file that holds a
literal token (Gemini CLI's .env, the Databricks CLI profile, OpenCode's
token file), then delete the old token once its grace has passed.

Why the grace: the workspace answers a deleted token with 403, and some agents
only fetch a new token when their refresh interval passes, so deleting the
old token at once would break running sessions. A one-shot rotate deletes
every old token whose grace has passed (--grace 0s: the one it just
replaced). An old token is never deleted while a tool file may still hold
it: if writing the new token into a tool's file fails, the old token stays
pending (coda status shows it) until every file holds the new one or it
expires, and rotate exits 1 naming the file. A failed delete stays pending
and is retried at every later rotation. Each rotation also deletes orphans:
tokens with this installation's tag that coda does not hold.

--lifetime, --interval and --grace given here are stored in the profile's
timing policy, which every later command and running watcher uses. A grace
shorter than twice the refresh interval of a configured credential helper
(Claude Code, Codex) is refused: run coda setup --grace first.

With --watch coda stays in the foreground (a tmux pane is a good home). It
rotates when the interval has passed since the last rotation, or earlier
when the token would otherwise have less than max(grace, min-ttl, 30s) left,
so the current token always has real life left; a token that would die
before the next rotation is rotated at once. It deletes old tokens when
their grace ends. It sleeps in slices of at most a minute against the
token's real expiry, so after a suspend it rotates at once if the token
still lives, and exits 4 if it does not. Network errors, 5xx and 429 are
retried with capped exponential backoff and jitter that never runs past the
expiry. One line per event goes to stderr (with -o json, one JSON object per
event to stdout). Ctrl-C or SIGTERM finishes the current step and exits 0;
a second one kills. Only one watcher runs per profile.`,
		Example: `  coda rotate
  coda rotate --grace 0s
  coda rotate --watch
  coda rotate --watch --pause-when-idle`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("interval") && !opts.Watch {
				return exit.Usagef("--interval goes with --watch (a one-shot rotate has no schedule)")
			}
			if opts.AllProfiles && !opts.Watch {
				return exit.Usagef("--all-profiles goes with --watch")
			}
			if opts.AllProfiles && f.ProfileChanged {
				return exit.Usagef("--all-profiles watches every profile: drop -p")
			}
			var err error
			if opts.Timing, err = f.Timing(cmd, true); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.AllProfiles {
				return runWatchAll(cmd.Context(), opts)
			}
			if opts.Watch {
				return runWatch(cmd.Context(), opts)
			}
			return runOnce(cmd.Context(), opts)
		},
	}
	cmdutil.AddTimingFlags(cmd.Flags(), cmdutil.KeyLifetime, cmdutil.KeyGrace, cmdutil.KeyInterval)
	cmd.Flags().BoolVar(&opts.Watch, "watch", false, "stay in the foreground and rotate on schedule")
	cmd.Flags().BoolVar(&opts.AllProfiles, "all-profiles", false, "with --watch: watch every logged-in profile in one process, each on its own schedule, and serve their proxies")
	cmd.Flags().BoolVar(&opts.PauseWhenIdle, "pause-when-idle", false, "with --watch: skip rotations while no claude, codex, gemini or opencode process runs")
	return cmd
}

type resultJSON struct {
	Version        int                   `json:"version"`
	Profile        string                `json:"profile"`
	TokenID        string                `json:"token_id"`
	ExpiresAt      cmdutil.Time          `json:"expires_at"`
	Deleted        []string              `json:"deleted"`
	OrphansDeleted []string              `json:"orphans_deleted"`
	Pending        []cmdutil.PendingJSON `json:"pending"`
	SinkFailures   []string              `json:"sink_failures"`
	Warnings       []string              `json:"warnings"`
}

func runOnce(ctx context.Context, opts *Options) error {
	f := opts.F
	profile, e, err := f.Lifecycle()
	if err != nil {
		return err
	}
	res, err := e.Rotate(ctx, lifecycle.RotateRequest{Profile: profile, Timing: opts.Timing})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(f.IO.ErrOut, "warning:", w)
	}
	if res.PolicyStored != "" && !f.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "Stored in profile %s: %s (later rotations, coda token and the watcher use it).\n", profile, res.PolicyStored)
	}
	if f.JSON() {
		out := resultJSON{Version: cmdutil.JSONVersion, Profile: profile, TokenID: redact.Suffix(res.TokenID),
			ExpiresAt: cmdutil.NewTime(res.ExpiresAt), Deleted: suffixes(res.Deleted), OrphansDeleted: suffixes(res.OrphansDeleted),
			Pending: []cmdutil.PendingJSON{}, SinkFailures: []string{}, Warnings: append([]string{}, res.Warnings...)}
		for _, pe := range res.Pending {
			out.Pending = append(out.Pending, cmdutil.Pending(pe))
		}
		for _, sf := range res.SinkFailures {
			out.SinkFailures = append(out.SinkFailures, sf.Error())
		}
		if err := cmdutil.PrintJSON(f.IO.Out, out); err != nil {
			return err
		}
		return sinkError(res)
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
		if pe.HeldBy != "" {
			fmt.Fprintf(w, "Pending deletion: %s (kept while a tool may still hold it).\n", redact.Suffix(pe.TokenID))
		} else if pe.LastError != "" {
			fmt.Fprintf(w, "Pending deletion: %s (failed %d times: %s; retried at the next rotation).\n", redact.Suffix(pe.TokenID), pe.Attempts, pe.LastError)
		} else {
			fmt.Fprintf(w, "Pending deletion: %s after %s.\n", redact.Suffix(pe.TokenID), stamp(pe.DeleteAfter))
		}
	}
	return sinkError(res)
}

// sinkError fails a rotation whose token did not reach every tool: the
// old tokens stay alive until it does, and the user must fix the file.
func sinkError(res *lifecycle.RotateResult) error {
	if len(res.SinkFailures) == 0 {
		return nil
	}
	var b strings.Builder
	for i, sf := range res.SinkFailures {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(sf.Error())
	}
	return fmt.Errorf("rotated, but the new token did not reach %s; the old token is kept until it does: fix that file, then run coda rotate", b.String())
}

func runWatch(ctx context.Context, opts *Options) error {
	profile, err := opts.F.Profile()
	if err != nil {
		return err
	}
	return watchProfile(ctx, opts, profile, eventSink(opts.F))
}

// eventSink writes the watcher's events: JSON lines on stdout with -o
// json, else log lines on stderr.
func eventSink(f *cmdutil.Factory) func(lifecycle.Event) {
	if f.JSON() {
		return jsonEvents(f.IO.Out)
	}
	return textEvents(f.Log())
}

// watchProfile is one profile's watcher: its lock, its proxy when an agent
// uses one, and the engine's loop, which sends its events to events.
func watchProfile(ctx context.Context, opts *Options, profile string, events func(lifecycle.Event)) error {
	f := opts.F
	e, err := f.Engine()
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
	// The profile's proxy, when an agent of it uses one, is served by the
	// watcher: one process, as users already run it in a tmux pane.
	serve, err := proxycmd.Prepare(f, e, profile, opts.Timing)
	if err != nil {
		return err
	}
	if serve != nil {
		ctx, stop := context.WithCancel(ctx)
		served := make(chan error, 1)
		go func() {
			err := serve(ctx)
			if err != nil && ctx.Err() == nil {
				// The watcher goes on rotating for the helpers; the agents
				// on the proxy need it restarted.
				f.Log().Error(fmt.Sprintf("%s proxy stopped: %v; restart the watcher to serve it again", profile, err))
			}
			served <- err
		}()
		defer func() { stop(); <-served }()
	}
	e.Events = events
	return e.Watch(ctx, lifecycle.WatchRequest{
		Profile:       profile,
		Timing:        opts.Timing,
		PauseWhenIdle: opts.PauseWhenIdle,
		AgentsRunning: opts.AgentsRunning,
	})
}

// runWatchAll watches every logged-in profile in one process, each on its
// own schedule. A profile that cannot be watched (it needs coda login,
// another watcher has it) is reported and the others go on; the command
// ends when every profile has stopped, or at the first Ctrl-C.
func runWatchAll(ctx context.Context, opts *Options) error {
	f := opts.F
	st, err := f.Store()
	if err != nil {
		return err
	}
	state, err := st.Load()
	if err != nil {
		return err
	}
	var names []string
	for _, name := range state.ProfileNames() {
		if state.Profile(name).HasToken() {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return lifecycle.LoginRequired("", "no profile is logged in")
	}
	// One writer for every profile's events: lines never interleave.
	var mu sync.Mutex
	sink := eventSink(f)
	events := func(ev lifecycle.Event) {
		mu.Lock()
		defer mu.Unlock()
		sink(ev)
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = watchProfile(ctx, opts, name, events); errs[i] != nil && ctx.Err() == nil {
				f.Log().Error(fmt.Sprintf("%s stopped: %v", name, errs[i]))
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("every profile's watcher stopped (%s): see the lines above", strings.Join(names, ", "))
}

type eventJSON struct {
	Version     int           `json:"version"`
	Time        cmdutil.Time  `json:"time"`
	Profile     string        `json:"profile"`
	Event       string        `json:"event"`
	TokenID     string        `json:"token_id,omitempty"`
	ExpiresAt   *cmdutil.Time `json:"expires_at,omitempty"`
	NextAttempt *cmdutil.Time `json:"next_at,omitempty"`
	Message     string        `json:"message,omitempty"`
}

func jsonEvents(w io.Writer) func(lifecycle.Event) {
	enc := json.NewEncoder(w)
	return func(e lifecycle.Event) {
		out := eventJSON{Version: cmdutil.JSONVersion, Time: cmdutil.NewTime(e.Time), Profile: e.Profile, Event: e.Kind, Message: e.Message,
			ExpiresAt: cmdutil.TimeOrNil(e.ExpiresAt), NextAttempt: cmdutil.TimeOrNil(e.NextAttempt)}
		if e.TokenID != "" {
			out.TokenID = redact.Suffix(e.TokenID)
		}
		_ = enc.Encode(out)
	}
}

// textEvents logs each event as one line, stamped with the event's time:
// a warning for what needs a look (a failure, a retry, a token about to
// expire unrotated), else Info, which -q drops.
func textEvents(log *slog.Logger) func(lifecycle.Event) {
	return func(e lifecycle.Event) {
		level := slog.LevelInfo
		switch e.Kind {
		case lifecycle.EventDeleteFailed, lifecycle.EventSinkFailed, lifecycle.EventVerifyFailed, lifecycle.EventRetry,
			lifecycle.EventIdleUnknown, lifecycle.EventExpiryWarning, lifecycle.EventClockSkew:
			level = slog.LevelWarn
		}
		ctx := context.Background()
		if !log.Enabled(ctx, level) {
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s", e.Profile, e.Kind)
		if e.TokenID != "" {
			fmt.Fprintf(&b, " %s", redact.Suffix(e.TokenID))
		}
		switch e.Kind {
		case lifecycle.EventWaiting:
			fmt.Fprintf(&b, " expires %s, next rotation %s", stamp(e.ExpiresAt), stamp(e.NextAttempt))
		case lifecycle.EventRetry:
			fmt.Fprintf(&b, " in %s", e.RetryIn.Round(time.Millisecond))
		default:
			if !e.ExpiresAt.IsZero() {
				fmt.Fprintf(&b, " expires %s", stamp(e.ExpiresAt))
			}
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
		_ = log.Handler().Handle(ctx, slog.NewRecord(e.Time, level, b.String(), 0))
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
