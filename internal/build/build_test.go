package build

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestFromBuildInfo(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-01T10:20:30Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	main := func(v string, settings []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: ModulePath, Version: v}, Settings: settings}
	}
	vcsTime := time.Date(2026, 11, 1, 10, 20, 30, 0, time.UTC)
	tests := []struct {
		name string
		ld   LDFlags
		bi   *debug.BuildInfo
		want Info
	}{
		{
			name: "no build info at all",
			want: Info{Version: "dev", Go: runtime.Version()},
		},
		{
			name: "source build without vcs stamping (-buildvcs=false)",
			bi:   main("(devel)", nil),
			want: Info{Version: "dev", Go: "go1.26.8"},
		},
		{
			name: "source build in a clean checkout: vcs settings",
			bi:   main("(devel)", vcs("false")),
			want: Info{Version: "dev", Commit: rev, Date: vcsTime, Go: "go1.26.8"},
		},
		{
			name: "source build on a tag (Go stamps the tag as the version)",
			bi:   main("v1.2.3", vcs("false")),
			want: Info{Version: "v1.2.3", Commit: rev, Date: vcsTime, Go: "go1.26.8"},
		},
		{
			name: "source build with uncommitted changes",
			bi:   main("v1.2.4-0.20261101102030-0123456789ab+dirty", vcs("true")),
			want: Info{Version: "v1.2.4-0.20261101102030-0123456789ab+dirty", Commit: rev, Date: vcsTime, Modified: true, Go: "go1.26.8"},
		},
		{
			name: "go install @v1.2.3: module version, no vcs settings",
			bi:   main("v1.2.3", nil),
			want: Info{Version: "v1.2.3", Go: "go1.26.8"},
		},
		{
			name: "go install @latest of an untagged commit: the pseudo-version names commit and date",
			bi:   main("v0.0.0-20261101102030-0123456789ab", nil),
			want: Info{Version: "v0.0.0-20261101102030-0123456789ab", Commit: "0123456789ab", Date: vcsTime, Go: "go1.26.8"},
		},
		{
			name: "pseudo-version after a pre-release tag",
			bi:   main("v1.3.0-rc.1.0.20261101102030-0123456789ab", nil),
			want: Info{Version: "v1.3.0-rc.1.0.20261101102030-0123456789ab", Commit: "0123456789ab", Date: vcsTime, Go: "go1.26.8"},
		},
		{
			name: "a pre-release tag is not a pseudo-version",
			bi:   main("v1.3.0-rc.1", nil),
			want: Info{Version: "v1.3.0-rc.1", Go: "go1.26.8"},
		},
		{
			name: "release build: ldflags win over build info",
			ld:   LDFlags{Version: "1.2.3", Commit: "fedcba9876543210fedcba9876543210fedcba98", Date: "2026-12-24T08:00:00Z"},
			bi:   main("(devel)", vcs("false")),
			want: Info{Version: "1.2.3", Commit: "fedcba9876543210fedcba9876543210fedcba98", Date: time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC), Go: "go1.26.8"},
		},
		{
			name: "snapshot release build from a changed tree",
			ld:   LDFlags{Version: "v0.0.0-SNAPSHOT-fedcba9", Commit: "fedcba9876543210fedcba9876543210fedcba98", Modified: "true"},
			want: Info{Version: "v0.0.0-SNAPSHOT-fedcba9", Commit: "fedcba9876543210fedcba9876543210fedcba98", Modified: true, Go: runtime.Version()},
		},
		{
			name: "ldflags say clean: a vcs.modified of the build tree is overridden",
			ld:   LDFlags{Version: "1.2.3", Modified: "false"},
			bi:   main("(devel)", vcs("true")),
			want: Info{Version: "1.2.3", Commit: rev, Date: vcsTime, Go: "go1.26.8"},
		},
		{
			name: "ldflags version only: commit and date still from vcs",
			ld:   LDFlags{Version: "1.2.3"},
			bi:   main("(devel)", vcs("false")),
			want: Info{Version: "1.2.3", Commit: rev, Date: vcsTime, Go: "go1.26.8"},
		},
		{
			name: "ldflags date in another zone is shown in UTC",
			ld:   LDFlags{Version: "1.2.3", Date: "2026-12-24T09:00:00+01:00"},
			want: Info{Version: "1.2.3", Date: time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC), Go: runtime.Version()},
		},
		{
			name: "unparsable ldflags date",
			ld:   LDFlags{Version: "1.2.3", Date: "yesterday"},
			bi:   main("(devel)", nil),
			want: Info{Version: "1.2.3", Go: "go1.26.8"},
		},
		{
			name: "custom coda (pkg/coda): coda's dependency version, not the main module's vcs",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main:     debug.Module{Path: "example.com/mycoda", Version: "v9.9.9"},
				Deps:     []*debug.Module{{Path: "example.com/other", Version: "v0.1.0"}, {Path: ModulePath, Version: "v1.2.3"}},
				Settings: vcs("true")},
			want: Info{Version: "v1.2.3", Go: "go1.26.8"},
		},
		{
			name: "custom coda with coda replaced by a tagged fork",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main: debug.Module{Path: "example.com/mycoda"},
				Deps: []*debug.Module{{Path: ModulePath, Version: "v1.2.3", Replace: &debug.Module{Path: "example.com/fork", Version: "v0.0.0-20261101102030-0123456789ab"}}}},
			want: Info{Version: "v0.0.0-20261101102030-0123456789ab", Commit: "0123456789ab", Date: vcsTime, Go: "go1.26.8"},
		},
		{
			name: "custom coda with coda replaced by a local directory",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main: debug.Module{Path: "example.com/mycoda"},
				Deps: []*debug.Module{{Path: ModulePath, Version: "v1.2.3", Replace: &debug.Module{Path: "../coda"}}}},
			want: Info{Version: "dev", Go: "go1.26.8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.OS, tt.want.Arch = "darwin", "arm64"
			got := FromBuildInfo(tt.ld, tt.bi, "darwin", "arm64")
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name string
		info Info
		want string
	}{
		{
			name: "release",
			info: Info{Version: "1.2.3", Commit: "fedcba98", Date: time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC), Go: "go1.26.8", OS: "linux", Arch: "amd64"},
			want: "coda version 1.2.3\ncommit    fedcba98\ndate      2026-12-24T08:00:00Z\ngo        go1.26.8\nplatform  linux/amd64\n",
		},
		{
			name: "nothing known",
			info: Info{Version: "dev", Go: "go1.26.8", OS: "windows", Arch: "arm64"},
			want: "coda version dev\ncommit    unknown\ndate      unknown\ngo        go1.26.8\nplatform  windows/arm64\n",
		},
		{
			name: "modified tree",
			info: Info{Version: "dev", Commit: "abc", Modified: true, Go: "go1.26.8", OS: "darwin", Arch: "arm64"},
			want: "coda version dev\ncommit    abc (modified)\ndate      unknown\ngo        go1.26.8\nplatform  darwin/arm64\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.info.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestGetReadsThisBinary checks Get against the test binary's own build
// information, which the toolchain always embeds.
func TestGetReadsThisBinary(t *testing.T) {
	got := Get()
	if got.OS != runtime.GOOS || got.Arch != runtime.GOARCH || got.Go != runtime.Version() {
		t.Errorf("Get() = %+v; want platform %s/%s and %s", got, runtime.GOOS, runtime.GOARCH, runtime.Version())
	}
	if got.Version == "" {
		t.Error("empty version")
	}
}
