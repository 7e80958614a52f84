package cmdutil

import (
	"context"
	"log/slog"
	"testing"
)

func TestFactoryLogLevel(t *testing.T) {
	tests := []struct {
		name         string
		debug, quiet bool
		env          string
		want         slog.Level
	}{
		{name: "default", want: slog.LevelInfo},
		{name: "--debug", debug: true, want: slog.LevelDebug},
		{name: "CODA_DEBUG=1", env: "1", want: slog.LevelDebug},
		{name: "CODA_DEBUG=true", env: "true", want: slog.LevelDebug},
		{name: "CODA_DEBUG=0", env: "0", want: slog.LevelInfo},
		{name: "CODA_DEBUG=junk", env: "junk", want: slog.LevelInfo},
		{name: "-q", quiet: true, want: slog.LevelWarn},
		{name: "-q beats CODA_DEBUG", quiet: true, env: "1", want: slog.LevelWarn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, errOut := TestStreams(false)
			f := &Factory{IO: ios, Getenv: func(k string) string {
				if k == "CODA_DEBUG" {
					return tt.env
				}
				return ""
			}}
			// The logger may be taken before the flags are parsed: it
			// follows them at every call.
			early := f.Log()
			f.Debug, f.Quiet = tt.debug, tt.quiet
			l := f.Log()
			if l != early {
				t.Error("Log returned another logger")
			}
			for _, lv := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
				if got := l.Enabled(context.Background(), lv); got != (lv >= tt.want) {
					t.Errorf("Enabled(%v) = %v, want level %v", lv, got, tt.want)
				}
			}
			l.Log(context.Background(), tt.want, "hello")
			if errOut.Len() == 0 {
				t.Error("nothing written to stderr")
			}
		})
	}
}
