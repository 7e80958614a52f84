package version

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/build"
	"github.com/coda-cli/coda/internal/cmdutil"
)

func TestNewCmdVersionArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantRun bool
	}{
		{name: "no arguments", wantRun: true},
		{name: "positional argument", args: []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := cmdutil.TestStreams(false)
			f := &cmdutil.Factory{IO: ios, Output: "text"}
			var got *Options
			cmd := NewCmdVersion(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if (err == nil) != tt.wantRun || (got != nil) != tt.wantRun {
				t.Fatalf("err = %v, run called = %v; want run %v", err, got != nil, tt.wantRun)
			}
			if got != nil && (got.F != f || got.Info == nil) {
				t.Error("runF did not get the Factory and the real build info")
			}
		})
	}
}

func TestRun(t *testing.T) {
	release := build.Info{Version: "v1.2.3", Commit: "fedcba9876543210fedcba9876543210fedcba98",
		Date: time.Date(2026, 12, 24, 8, 0, 0, 0, time.FixedZone("CET", 3600)), Go: "go1.26.8", OS: "linux", Arch: "arm64"}
	dev := build.Info{Version: "dev", Modified: true, Go: "go1.26.8", OS: "windows", Arch: "amd64"}
	tests := []struct {
		name   string
		output string
		info   build.Info
		want   string
	}{
		{
			name: "text, release: UTC date", output: "text", info: release,
			want: "coda version v1.2.3\ncommit    fedcba9876543210fedcba9876543210fedcba98\ndate      2026-12-24T07:00:00Z\ngo        go1.26.8\nplatform  linux/arm64\n",
		},
		{
			name: "text, nothing known", output: "text", info: dev,
			want: "coda version dev\ncommit    unknown (modified)\ndate      unknown\ngo        go1.26.8\nplatform  windows/amd64\n",
		},
		{
			name: "json, release: versioned, UTC date", output: "json", info: release,
			want: `{
  "version": 1,
  "coda_version": "v1.2.3",
  "commit": "fedcba9876543210fedcba9876543210fedcba98",
  "modified": false,
  "date": "2026-12-24T07:00:00Z",
  "go_version": "go1.26.8",
  "os": "linux",
  "arch": "arm64"
}
`,
		},
		{
			name: "json, nothing known: every key present", output: "json", info: dev,
			want: `{
  "version": 1,
  "coda_version": "dev",
  "commit": "",
  "modified": true,
  "date": null,
  "go_version": "go1.26.8",
  "os": "windows",
  "arch": "amd64"
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := cmdutil.TestStreams(false)
			f := &cmdutil.Factory{IO: ios, Output: tt.output}
			if err := run(&Options{F: f, Info: func() build.Info { return tt.info }}); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tt.want)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr = %q", errOut)
			}
			if tt.output == "json" && !json.Valid(out.Bytes()) {
				t.Error("invalid JSON")
			}
		})
	}
}
