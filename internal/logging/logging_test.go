package logging

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLevel(t *testing.T) {
	tests := []struct {
		debug, quiet bool
		want         slog.Level
	}{
		{false, false, slog.LevelInfo},
		{true, false, slog.LevelDebug},
		{false, true, slog.LevelWarn},
		{true, true, slog.LevelWarn}, // -q beats CODA_DEBUG
	}
	for _, tt := range tests {
		if got := Level(tt.debug, tt.quiet); got != tt.want {
			t.Errorf("Level(%v, %v) = %v, want %v", tt.debug, tt.quiet, got, tt.want)
		}
	}
}

var at = time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))

// logOne writes one record at level through a logger at min and returns
// what was written.
func logOne(min, level slog.Level, msg string, attrs ...slog.Attr) string {
	var buf bytes.Buffer
	l := New(&buf, min)
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	if l.Enabled(context.Background(), level) {
		_ = l.Handler().Handle(context.Background(), r)
	}
	return buf.String()
}

func TestLines(t *testing.T) {
	const tok = "dapi0123456789abcdef0123456789abcdef"
	tests := []struct {
		name       string
		min, level slog.Level
		msg        string
		attrs      []slog.Attr
		want       string
	}{
		{name: "info has no level word", min: slog.LevelInfo, level: slog.LevelInfo,
			msg: "default rotated …abcd", want: "2026-05-01T10:00:00Z default rotated …abcd\n"},
		{name: "warn", min: slog.LevelInfo, level: slog.LevelWarn,
			msg: "default retry in 1s", want: "2026-05-01T10:00:00Z WARN default retry in 1s\n"},
		{name: "debug with attrs", min: slog.LevelDebug, level: slog.LevelDebug, msg: "http",
			attrs: []slog.Attr{slog.String("method", "GET"), slog.Int("status", 200), slog.String("note", "two words"), slog.String("empty", "")},
			want:  "2026-05-01T10:00:00Z DEBUG http method=GET status=200 note=\"two words\" empty=\"\"\n"},
		{name: "group", min: slog.LevelInfo, level: slog.LevelError, msg: "m",
			attrs: []slog.Attr{slog.Group("req", slog.String("id", "x"))},
			want:  "2026-05-01T10:00:00Z ERROR m req.id=x\n"},
		{name: "debug dropped at info", min: slog.LevelInfo, level: slog.LevelDebug, msg: "http", want: ""},
		{name: "info dropped when quiet", min: slog.LevelWarn, level: slog.LevelInfo, msg: "started", want: ""},
		{name: "warn kept when quiet", min: slog.LevelWarn, level: slog.LevelWarn, msg: "w",
			want: "2026-05-01T10:00:00Z WARN w\n"},
		{name: "token in the message", min: slog.LevelInfo, level: slog.LevelInfo,
			msg: "oops " + tok, want: "2026-05-01T10:00:00Z oops …cdef\n"},
		{name: "token in an attr", min: slog.LevelInfo, level: slog.LevelInfo, msg: "m",
			attrs: []slog.Attr{slog.String("auth", "Bearer abcdefghijklmnopqrstuvwxyz")},
			want:  "2026-05-01T10:00:00Z m auth=\"Bearer …wxyz\"\n"},
		{name: "control characters", min: slog.LevelInfo, level: slog.LevelInfo,
			msg: "a\nb\x1b[31mc", want: "2026-05-01T10:00:00Z a b [31mc\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logOne(tt.min, tt.level, tt.msg, tt.attrs...); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLevelCanChangeAfterNew(t *testing.T) {
	var buf bytes.Buffer
	var lv slog.LevelVar
	l := New(&buf, &lv)
	l.Debug("hidden")
	lv.Set(slog.LevelDebug)
	l.Debug("shown")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "DEBUG shown") {
		t.Errorf("output = %q", got)
	}
}

func TestWithPrefixAndAttrs(t *testing.T) {
	var buf bytes.Buffer
	l := WithPrefix(New(&buf, slog.LevelDebug), "default proxy:").With("a", 1).WithGroup("g")
	l.Debug("http", "status", 200)
	l.Info("serving gemini")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{" DEBUG default proxy: http a=1 g.status=200", " default proxy: serving gemini a=1"}
	if len(lines) != len(want) {
		t.Fatalf("lines = %q", lines)
	}
	for i := range want {
		if !strings.HasSuffix(lines[i], want[i]) {
			t.Errorf("line %d = %q, want it to end with %q", i, lines[i], want[i])
		}
	}
	if WithPrefix(nil, "x").Enabled(context.Background(), slog.LevelError) {
		t.Error("WithPrefix(nil) logs")
	}
}

func TestAtLeast(t *testing.T) {
	var buf bytes.Buffer
	l := AtLeast(WithPrefix(New(&buf, slog.LevelInfo), "exec proxy:"), slog.LevelWarn).With("a", 1)
	if l.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Info enabled below the floor")
	}
	l.Info("retrying once")
	l.Warn("no newer token")
	if got, want := strings.TrimSpace(buf.String()), "WARN exec proxy: no newer token a=1"; !strings.HasSuffix(got, want) || strings.Count(got, "\n") != 0 {
		t.Errorf("got %q, want one line ending %q", got, want)
	}
	// The inner level still applies above the floor.
	buf.Reset()
	AtLeast(New(&buf, slog.LevelError), slog.LevelWarn).Warn("x")
	if buf.Len() != 0 {
		t.Errorf("a Warn through an Error logger: %q", buf.String())
	}
	if AtLeast(nil, slog.LevelDebug).Enabled(context.Background(), slog.LevelError) {
		t.Error("AtLeast(nil) logs")
	}
}

// Lines from many goroutines stay whole.
func TestConcurrentLinesDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, slog.LevelInfo)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				l.Info(fmt.Sprintf("g%d line %d %s", g, i, strings.Repeat("x", 200)))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, line := range lines {
		if !strings.HasSuffix(line, strings.Repeat("x", 200)) || strings.Count(line, "line") != 1 {
			t.Fatalf("mangled line %q", line)
		}
	}
}
