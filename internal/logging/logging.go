// Package logging builds coda's one logger: a *slog.Logger that writes one
// human-readable line per record to stderr. The watcher, the proxy and the
// workspace client's HTTP trace all log through it, so --debug and -q act
// on all of them at once.
//
// A line is the record's time (RFC 3339, UTC), its level unless it is Info,
// the message and the attributes as key=value:
//
//	2026-05-01T10:00:00Z default rotated …9f3a expires 2026-05-01T10:15:00Z: replaces …0c1d
//	2026-05-01T10:00:00Z WARN default retry in 1.2s: create token: 503 TEMPORARILY_UNAVAILABLE
//	2026-05-01T10:00:00Z DEBUG http method=POST url=https://x.cloud.databricks.com/api/2.0/token/create status=200 duration=84ms request_id=6f1c…
//
// Info lines carry no level word so the watcher's and the proxy's lines
// read as they always have. Levels: Info by default, Debug with --debug
// (or CODA_DEBUG=1), Warn with -q. Every line is made safe before it is
// written, as a last line of defence: token-shaped strings and Bearer
// credentials redacted, control characters replaced, at most MaxLine
// bytes. Nothing should depend on that: callers never pass a secret.
package logging

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coda-cli/coda/internal/redact"
)

// MaxLine bounds one written line.
const MaxLine = 4096

// Level is the level the root's flags select: Warn with quiet (a flag
// beats CODA_DEBUG), Debug with debug, else Info.
func Level(debug, quiet bool) slog.Level {
	switch {
	case quiet:
		return slog.LevelWarn
	case debug:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// New returns a logger that writes to w the records at level or above.
// Writes are serialised, so lines from concurrent goroutines (the proxy's
// requests, an --all-profiles watcher) never interleave.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	if level == nil {
		level = slog.LevelInfo
	}
	return slog.New(&handler{out: &output{w: w}, level: level})
}

// Discard returns a logger that writes nothing.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// WithPrefix returns l with prefix put before every message ("default
// proxy:"), for a component whose lines have always started that way.
func WithPrefix(l *slog.Logger, prefix string) *slog.Logger {
	if l == nil {
		return Discard()
	}
	return slog.New(wrapper{inner: l.Handler(), prefix: prefix, min: noFloor})
}

// output is a writer shared by a handler and its derivatives.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

type handler struct {
	out    *output
	level  slog.Leveler
	attrs  string // pre-rendered " key=value" pairs from WithAttrs
	groups string // "a.b." from WithGroup
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if !r.Time.IsZero() {
		b.WriteString(r.Time.UTC().Format(time.RFC3339))
		b.WriteByte(' ')
	}
	if r.Level != slog.LevelInfo {
		b.WriteString(r.Level.String())
		b.WriteByte(' ')
	}
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.groups, a)
		return true
	})
	line := redact.Line(redact.Secrets(b.String()), MaxLine) + "\n"
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := io.WriteString(h.out.w, line)
	return err
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		appendAttr(&b, h.groups, a)
	}
	c := *h
	c.attrs += b.String()
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups += name + "."
	return &c
}

// appendAttr writes " key=value"; a group's attributes get "group." keys.
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, p, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix + a.Key)
	b.WriteByte('=')
	var v string
	switch a.Value.Kind() {
	case slog.KindTime:
		v = a.Value.Time().UTC().Format(time.RFC3339)
	default:
		v = a.Value.String()
	}
	if v == "" || strings.ContainsAny(v, " \"=") {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

// wrapper is a view of an inner handler: a prefix before every message,
// and a floor below which records are dropped (WithPrefix and AtLeast).
type wrapper struct {
	inner  slog.Handler
	prefix string
	min    slog.Level
}

// noFloor lets every level through.
const noFloor = slog.Level(math.MinInt)

func (w wrapper) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= w.min && w.inner.Enabled(ctx, l)
}

func (w wrapper) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < w.min {
		return nil
	}
	if w.prefix == "" {
		return w.inner.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, w.prefix+" "+r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return w.inner.Handle(ctx, out)
}

func (w wrapper) WithAttrs(attrs []slog.Attr) slog.Handler {
	w.inner = w.inner.WithAttrs(attrs)
	return w
}

func (w wrapper) WithGroup(name string) slog.Handler {
	w.inner = w.inner.WithGroup(name)
	return w
}

// AtLeast returns l without the records below min, for a component that
// shares a terminal with another program (coda exec's proxy speaks only
// when something goes wrong).
func AtLeast(l *slog.Logger, min slog.Level) *slog.Logger {
	if l == nil {
		return Discard()
	}
	return slog.New(wrapper{inner: l.Handler(), min: min})
}
