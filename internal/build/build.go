// Package build says which coda this is: version, commit, commit date, Go
// version and platform, for `coda version` and `coda --version`.
//
// Release builds (goreleaser) set the version, commit and date through
// -ldflags -X on this package's variables. Every other build reads them
// from the build information the Go toolchain embeds: `go install
// github.com/coda-cli/coda/cmd/coda@v1.2.3` records the module version
// (a pseudo-version, which carries the commit and its date, for an untagged
// commit), and a build inside a git checkout records the version Go derives
// from the tags, vcs.revision, vcs.time and vcs.modified. Only a build that
// has none of these (GOFLAGS=-buildvcs=false outside a module download)
// says "dev".
//
// The date is the commit's, never the time of the build, so two builds of
// one commit are byte-identical.
package build

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// ModulePath is coda's module. A custom coda (pkg/coda) is another main
// module that has this one as a dependency.
const ModulePath = "github.com/coda-cli/coda"

// Set by release builds: -X github.com/coda-cli/coda/internal/build.version=…
var (
	version  string
	commit   string
	date     string // RFC 3339
	modified string // "true" for a build from a changed tree
)

// Info identifies a build.
type Info struct {
	Version  string    // "v1.2.3", a pseudo-version, or "dev"
	Commit   string    // full revision; "" when unknown
	Date     time.Time // the commit's time, UTC; zero when unknown
	Modified bool      // built from a working tree with uncommitted changes
	Go       string    // "go1.26.8"
	OS, Arch string
}

// LDFlags are the values a release build sets.
type LDFlags struct{ Version, Commit, Date, Modified string }

// Get describes the running binary.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuildInfo(LDFlags{version, commit, date, modified}, bi, runtime.GOOS, runtime.GOARCH)
}

// FromBuildInfo combines what the linker set with what the toolchain
// embedded (bi may be nil). Linker values win: they come from the release
// pipeline, which knows the tag even where the toolchain cannot.
func FromBuildInfo(ld LDFlags, bi *debug.BuildInfo, goos, goarch string) Info {
	info := Info{Version: "dev", Go: runtime.Version(), OS: goos, Arch: goarch}
	if bi != nil {
		if bi.GoVersion != "" {
			info.Go = bi.GoVersion
		}
		info.fromModule(bi)
	}
	if ld.Version != "" {
		info.Version = ld.Version
	}
	if ld.Commit != "" {
		info.Commit = ld.Commit
	}
	if t, err := time.Parse(time.RFC3339, ld.Date); err == nil {
		info.Date = t.UTC()
	}
	if m, err := strconv.ParseBool(ld.Modified); err == nil {
		info.Modified = m
	}
	return info
}

func (i *Info) fromModule(bi *debug.BuildInfo) {
	mod := &bi.Main
	ownVCS := bi.Main.Path == ModulePath
	if !ownVCS {
		// A custom coda: its vcs.* settings describe its own repository, not
		// coda's, so only coda's module version is ours to report.
		mod = nil
		for _, d := range bi.Deps {
			if d.Path == ModulePath {
				mod = d
				if d.Replace != nil {
					mod = d.Replace
				}
				break
			}
		}
		if mod == nil {
			return
		}
	}
	if v := mod.Version; v != "" && v != "(devel)" {
		i.Version = v
		// The go command marks a version built from a changed tree "+dirty".
		i.Modified = strings.HasSuffix(v, "+dirty")
		if rev, t, ok := pseudo(v); ok {
			i.Commit, i.Date = rev, t
		}
	}
	if !ownVCS {
		return
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				i.Date = t.UTC()
			}
		case "vcs.modified":
			i.Modified, _ = strconv.ParseBool(s.Value)
		}
	}
}

// pseudoRE matches the tail of a pseudo-version (vX.0.0-yyyymmddhhmmss-rev,
// vX.Y.Z-pre.0.yyyymmddhhmmss-rev, vX.Y.(Z+1)-0.yyyymmddhhmmss-rev).
var pseudoRE = regexp.MustCompile(`^v\d+\.\d+\.\d+-(?:.*[.-])?(\d{14})-([0-9a-f]{12})(?:\+incompatible)?(?:\+dirty)?$`)

// pseudo returns the commit prefix and time a pseudo-version names.
func pseudo(v string) (rev string, t time.Time, ok bool) {
	m := pseudoRE.FindStringSubmatch(v)
	if m == nil {
		return "", time.Time{}, false
	}
	t, err := time.Parse("20060102150405", m[1])
	if err != nil {
		return "", time.Time{}, false
	}
	return m[2], t, true
}

// Platform is GOOS/GOARCH.
func (i Info) Platform() string { return i.OS + "/" + i.Arch }

// String is what `coda version` and `coda --version` print. Its first line
// is cobra's usual "coda version X", which scripts grep for.
func (i Info) String() string {
	c := i.Commit
	if c == "" {
		c = "unknown"
	}
	if i.Modified {
		c += " (modified)"
	}
	d := "unknown"
	if !i.Date.IsZero() {
		d = i.Date.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("coda version %s\ncommit    %s\ndate      %s\ngo        %s\nplatform  %s\n",
		i.Version, c, d, i.Go, i.Platform())
}
