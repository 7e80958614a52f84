//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/plugins"
)

// npmInstallTimeout bounds the first install (about 40 s on a good line).
const npmInstallTimeout = 10 * time.Minute

// cliPackage is one pinned agent CLI.
type cliPackage struct {
	plugin, name, version string
}

func (p cliPackage) spec() string { return p.name + "@" + p.version }

// pinnedCLIs are the CLIs at the versions `coda setup --install` installs,
// so the suite tests what coda hands its users.
func pinnedCLIs(t *testing.T) []cliPackage {
	t.Helper()
	var out []cliPackage
	for _, pl := range plugins.Builtins() {
		info := pl.Info()
		if info.NPMPackage == "" || ownBinary[info.Name] != "" {
			continue
		}
		i := strings.LastIndex(info.NPMPackage, "@")
		if i <= 0 {
			t.Fatalf("plugin %s: NPMPackage %q is not NAME@VERSION", info.Name, info.NPMPackage)
		}
		out = append(out, cliPackage{plugin: info.Name, name: info.NPMPackage[:i], version: info.NPMPackage[i+1:]})
	}
	slices.SortFunc(out, func(a, b cliPackage) int { return strings.Compare(a.plugin, b.plugin) })
	return out
}

// ownBinary are the agents whose npm package cannot be installed on the
// suite's machines, with the reason: their rows run only where the binary
// is on the test's PATH, and skip loudly elsewhere.
var ownBinary = map[string]string{
	"crush": "@charmland/crush downloads its binary from GitHub releases while it installs, which these machines cannot reach; put a crush binary on PATH to run its row",
}

// ownBinaryDirs are the directories, on the test's PATH, of the ownBinary
// agents found there.
func ownBinaryDirs() []string {
	var dirs []string
	for name := range ownBinary {
		if path, err := exec.LookPath(name); err == nil {
			dirs = append(dirs, filepath.Dir(path))
		}
	}
	return dirs
}

// skipUnlessOnPath skips, loudly, the row of an ownBinary agent that the
// world's PATH lacks.
func skipUnlessOnPath(t *testing.T, w *world, name string) {
	t.Helper()
	if ownBinary[name] == "" {
		return
	}
	if _, err := w.lookPath(name); err != nil {
		bar := strings.Repeat("#", 78)
		fmt.Fprintf(os.Stderr, "\n%s\n## coda e2e: %s SKIPPED\n## %s\n%s\n\n", bar, name, ownBinary[name], bar)
		t.Skip("SKIPPED: " + ownBinary[name])
	}
}

// cacheDir is $CODA_E2E_CACHE, else ~/.cache/coda-e2e.
func cacheDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("CODA_E2E_CACHE"); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatalf("no home directory for the npm cache (set CODA_E2E_CACHE): %v", err)
	}
	return filepath.Join(home, ".cache", "coda-e2e")
}

// installedVersion returns the version of package name under an npm
// prefix, or "" when it is not installed.
func installedVersion(prefix, name string) string {
	raw, err := os.ReadFile(filepath.Join(prefix, "lib", "node_modules", filepath.FromSlash(name), "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(raw, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// missingCLIs lists the pinned packages not installed at their version,
// with a binary of the plugin's name, under prefix.
func missingCLIs(prefix string, pkgs []cliPackage) []string {
	var missing []string
	for _, p := range pkgs {
		if installedVersion(prefix, p.name) != p.version {
			missing = append(missing, p.spec())
			continue
		}
		if _, err := os.Stat(filepath.Join(prefix, "bin", p.plugin)); err != nil {
			missing = append(missing, p.spec())
		}
	}
	return missing
}

// npmNetworkError matches the error codes npm reports when it cannot reach
// the registry.
var npmNetworkError = regexp.MustCompile(`(?m)^npm (?:ERR!|error) (?:code|errno) (ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ECONNRESET|ENETUNREACH|EHOSTUNREACH|ENETDOWN|ESOCKETTIMEDOUT|EPIPE)\b`)

// networkFailure returns the network error code in npm's output, or "".
func networkFailure(output []byte) string {
	if m := npmNetworkError.FindSubmatch(output); m != nil {
		return string(m[1])
	}
	return ""
}

// errRegistryUnreachable marks an install that failed only because the npm
// registry could not be reached.
var errRegistryUnreachable = errors.New("the npm registry cannot be reached")

// installCLIs makes sure the pinned CLIs are installed under
// <cache>/npm and returns its bin directory. installed says whether npm
// ran. A registry that cannot be reached gives errRegistryUnreachable.
func installCLIs(t *testing.T, pkgs []cliPackage) (bin string, installed bool, err error) {
	t.Helper()
	cache := cacheDir(t)
	prefix := filepath.Join(cache, "npm")
	missing := missingCLIs(prefix, pkgs)
	if len(missing) == 0 {
		return filepath.Join(prefix, "bin"), false, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", false, fmt.Errorf("npm is not on PATH: install Node.js and npm to run the e2e suite")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", false, err
	}
	// Install into a fresh directory and move it into place, so an
	// interrupted install never looks complete.
	tmp, err := os.MkdirTemp(cache, "npm-install-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)
	specs := make([]string, len(pkgs))
	for i, p := range pkgs {
		specs[i] = p.spec()
	}
	t.Logf("installing %s into %s (missing or at another version: %s)", strings.Join(specs, " "), prefix, strings.Join(missing, " "))
	ctx, cancel := context.WithTimeout(context.Background(), npmInstallTimeout)
	defer cancel()
	args := append([]string{"install", "-g", "--prefix", tmp, "--no-audit", "--no-fund"}, specs...)
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Env = os.Environ() // the user's registry, proxy and CA settings
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	configureProcessGroup(cmd)
	runErr := cmd.Run()
	if runErr != nil {
		if code := networkFailure(out.Bytes()); code != "" {
			return "", false, fmt.Errorf("%w (npm: %s)", errRegistryUnreachable, code)
		}
		if ctx.Err() != nil {
			return "", false, fmt.Errorf("npm install did not finish within %s:\n%s", npmInstallTimeout, tail(out.Bytes(), 40))
		}
		return "", false, fmt.Errorf("npm install failed (%v):\n%s", runErr, tail(out.Bytes(), 40))
	}
	if still := missingCLIs(tmp, pkgs); len(still) > 0 {
		return "", false, fmt.Errorf("npm install succeeded but left out %s:\n%s", strings.Join(still, " "), tail(out.Bytes(), 40))
	}
	if err := os.RemoveAll(prefix); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, prefix); err != nil {
		return "", false, err
	}
	return filepath.Join(prefix, "bin"), true, nil
}

// skipLoudly skips the test with a banner on stderr, so a suite that did not
// run never passes silently.
func skipLoudly(t *testing.T, reason string) {
	t.Helper()
	bar := strings.Repeat("#", 78)
	fmt.Fprintf(os.Stderr, "\n%s\n## coda e2e: SKIPPED\n## %s\n## The agent CLIs could not be installed, so no agent was tested.\n%s\n\n", bar, reason, bar)
	t.Skip("SKIPPED: " + reason)
}

// TestNPMNetworkFailure checks the classification of npm's output: only a
// registry that cannot be reached skips the suite.
func TestNPMNetworkFailure(t *testing.T) {
	for _, tc := range []struct {
		out, want string
	}{
		{"npm error code ENOTFOUND\nnpm error syscall getaddrinfo\nnpm error errno ENOTFOUND\n", "ENOTFOUND"},
		{"npm ERR! code ECONNREFUSED\nnpm ERR! errno ECONNREFUSED\n", "ECONNREFUSED"},
		{"npm error code ETIMEDOUT\n", "ETIMEDOUT"},
		{"npm error code EAI_AGAIN\n", "EAI_AGAIN"},
		{"npm error errno ECONNRESET\n", "ECONNRESET"},
		{"npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/opencode-ai\n", ""},
		{"npm error code EACCES\nnpm error syscall mkdir\n", ""},
		{"npm error code ETARGET\nnpm error notarget No matching version found\n", ""},
		{"npm error code EINTEGRITY\n", ""},
		{"some log line mentioning ENOTFOUND in passing\n", ""},
	} {
		if got := networkFailure([]byte(tc.out)); got != tc.want {
			t.Errorf("networkFailure(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}
