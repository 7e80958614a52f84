package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	proxycmd "github.com/coda-cli/coda/internal/cmd/proxy"
	"github.com/coda-cli/coda/internal/cmd/status"
	"github.com/coda-cli/coda/internal/lifecycle"
	core "github.com/coda-cli/coda/internal/pluginhost"
	"github.com/coda-cli/coda/internal/plugins/gemini"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/internal/policy"
	"github.com/coda-cli/coda/internal/redact"
	"github.com/coda-cli/coda/internal/service"
	"github.com/coda-cli/coda/internal/shellquote"
	"github.com/coda-cli/coda/internal/sink"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/internal/store/ownercheck"
	"github.com/coda-cli/coda/pkg/configurator"
)

// check is one row of the table: a name, whether it needs the network (or
// --deep), and the function that returns its lines (named after the check
// unless a line names itself, as the per-plugin ones do).
type check struct {
	name   string
	online bool
	deep   bool
	run    func(w *world) []Result
}

// checks run in this order; the report follows it.
var checks = []check{
	{name: "store", run: checkStore},
	{name: "token", run: checkToken},
	{name: "token online", online: true, run: checkTokenOnline},
	{name: "timing", run: checkTiming},
	{name: "watcher", run: checkWatcher},
	{name: "last rotation", run: checkLastRotation},
	{name: "pending", run: checkPending},
	{name: "proxy", run: checkProxy},
	{name: "http proxy", run: checkHTTPProxy},
	{name: "plugins", run: checkPlugins},
	{name: "sinks", run: checkSinks},
	{name: "helpers", run: checkHelpers},
	{name: "gemini env", run: checkGeminiEnv},
	{name: "clock", run: checkClock},
	{name: "endpoints", online: true, run: checkEndpoints},
	{name: "models", online: true, run: checkModels},
	{name: "deep", online: true, deep: true, run: checkDeep},
}

func pass(detail string) []Result { return []Result{{Status: Pass, Detail: detail}} }
func skip(detail string) []Result { return []Result{{Status: Skip, Detail: detail}} }

// needProfile is the SKIP line of a check that has nothing to look at.
func (w *world) needProfile() []Result {
	if w.loadErr != nil {
		return skip("the credentials file cannot be read")
	}
	if !w.p.HasToken() {
		return skip("not logged in")
	}
	return nil
}

// checkStore: the config dir is the user's own and private, the
// credentials file parses and is 0600, and so is the proxy key.
func checkStore(w *world) []Result {
	fi, err := os.Stat(w.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return skip(w.dir + " does not exist yet (coda login creates it)")
	}
	if err != nil {
		return []Result{{Status: Fail, Detail: err.Error(), Fix: "check " + w.dir}}
	}
	var out []Result
	if err := ownercheck.Unshared("config dir", w.dir, fi); err != nil {
		out = append(out, ownerFail(err))
	} else if ownercheck.ModesMatter() && fi.Mode().Perm()&0o077 != 0 {
		out = append(out, Result{Status: Warn, Detail: fmt.Sprintf("%s is open to other users (mode %04o): they can list coda's files", w.dir, fi.Mode().Perm()),
			Fix: "chmod 700 " + shellquote.Quote(w.dir)})
	}
	if w.loadErr != nil {
		r := Result{Status: Fail, Detail: w.loadErr.Error()}
		var corrupt *store.CorruptError
		var version *store.VersionError
		var owner *ownercheck.Error
		switch {
		case errors.As(w.loadErr, &corrupt):
			r.Fix = fmt.Sprintf("mv %s %s.corrupt && coda login", shellquote.Quote(corrupt.Path), shellquote.Quote(corrupt.Path))
		case errors.As(w.loadErr, &version):
			r.Fix = "upgrade coda"
		case errors.As(w.loadErr, &owner):
			r = ownerFail(owner)
		}
		return append(out, r)
	}
	secret := []struct{ what, path string }{{"credentials file", w.st.Path()}}
	if w.key != "" {
		secret = append(secret, struct{ what, path string }{"proxy key", core.ProxyKeyPath(w.dir, w.profile)})
	}
	for _, s := range secret {
		fi, err := os.Stat(s.path)
		if err != nil || !ownercheck.ModesMatter() || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		fix := "chmod 600 " + shellquote.Quote(s.path) + " && " + w.cmd("rotate")
		if s.what == "proxy key" {
			fix = "chmod 600 " + shellquote.Quote(s.path)
		}
		out = append(out, Result{Status: Fail, Detail: fmt.Sprintf("the %s %s is readable by other users (mode %04o)", s.what, s.path, fi.Mode().Perm()), Fix: fix})
	}
	if len(out) == 0 {
		return pass(w.dir + " is private and the credentials file reads")
	}
	return out
}

func ownerFail(err error) Result {
	r := Result{Status: Fail, Detail: err.Error()}
	var oe *ownercheck.Error
	if errors.As(err, &oe) {
		r.Detail = oe.What + " " + oe.Path + " " + oe.Reason
		r.Fix = strings.TrimPrefix(oe.Fix, "fix it with: ")
	}
	return r
}

// checkToken: a token is stored, unexpired, with more than the rotation
// margin left.
func checkToken(w *world) []Result {
	if w.loadErr != nil {
		return skip("the credentials file cannot be read")
	}
	if !w.p.HasToken() {
		return []Result{{Status: Fail, Detail: fmt.Sprintf("profile %s is not logged in", w.profile), Fix: w.cmd("login"), auth: true}}
	}
	id := redact.Suffix(w.p.TokenID)
	if !w.live() {
		return []Result{{Status: Fail, Detail: fmt.Sprintf("token %s expired at %s", id, w.p.ExpiresAt.UTC().Format(time.RFC3339)), Fix: w.cmd("login"), auth: true}}
	}
	if w.sealErr != nil {
		return []Result{{Status: Fail, Detail: w.sealErr.Error(), Fix: w.cmd("login", "--storage file")}}
	}
	left := w.p.Remaining(w.now).Round(time.Second)
	if margin := w.p.Policy.Policy().Margin(); left < margin {
		return []Result{{Status: Warn, Detail: fmt.Sprintf("token %s expires in %s, less than the %s a rotation keeps: nothing rotated it in time", id, left, policy.Short(margin)),
			Fix: w.cmd("rotate")}}
	}
	return pass(fmt.Sprintf("token %s of %s on %s expires in %s", id, w.p.User, w.p.Host, left))
}

// checkTokenOnline asks the workspace whether it accepts the token.
func checkTokenOnline(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	if !w.live() {
		return skip("the token expired")
	}
	if w.sealErr != nil {
		return skip("the token cannot be read from the system keyring")
	}
	c := status.CheckToken(w.ctx, w.f, w.p)
	switch {
	case !c.Valid:
		w.rejected = true
		return []Result{{Status: Fail, Detail: "the workspace rejects the token: " + c.Error, Fix: w.cmd("login"), auth: true}}
	case c.Error != "":
		return []Result{{Status: Warn, Detail: "could not ask the workspace: " + c.Error, Fix: "check the network and " + w.p.Host}}
	}
	return pass("the workspace accepts the token (user " + c.User + ")")
}

// checkTiming: the policy in force (CODA_* and config.yaml over the stored
// settings) is valid, and the configured helpers refresh well inside the
// grace.
func checkTiming(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	fixValues := "unset the CODA_* timing variables and config.yaml's timing keys, or store valid values: " + w.cmd("rotate", "--lifetime 15m --interval 10m --grace 2m")
	if w.opts.TimingErr != nil {
		return []Result{{Status: Fail, Detail: w.opts.TimingErr.Error(), Fix: fixValues}}
	}
	inForce, toStore, err := w.opts.Timing.Resolve(w.p.Policy)
	if err == nil {
		err = lifecycle.CheckPolicy(w.p, inForce, toStore)
	}
	helpers, refresh := w.p.Helpers()
	if err != nil {
		fix := fixValues
		if inForce.Validate() == nil && !policy.FitsHelpers(inForce.GraceD(), refresh) {
			// Setting the helpers up again with this grace makes them
			// refresh often enough.
			fix = w.cmd("setup", "--grace", policy.Short(inForce.GraceD()), strings.Join(helpers, " "))
		}
		return []Result{{Status: Fail, Detail: err.Error(), Fix: fix}}
	}
	detail := fmt.Sprintf("lifetime %s, interval %s, grace %s, min-ttl %s", policy.Short(inForce.LifetimeD()), policy.Short(inForce.IntervalD()),
		policy.Short(inForce.GraceD()), policy.Short(inForce.MinTTLD()))
	if len(helpers) > 0 {
		detail += fmt.Sprintf(", helpers (%s) refresh every %s", strings.Join(helpers, ", "), policy.Short(refresh))
	}
	return pass(detail)
}

// checkWatcher: something rotates on schedule: a watcher (by hand or as
// the service), or cron. An installed service whose watcher is not running
// is broken.
func checkWatcher(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	unit, target, installed := w.serviceUnit()
	if pid, running := w.st.WatcherPID(w.profile); running {
		detail := fmt.Sprintf("a watcher runs (PID %d)", pid)
		if installed {
			detail += ", service " + unit.Name + " installed"
		}
		return pass(detail)
	}
	if installed {
		fix := w.cmd("service install")
		if target.AllProfiles {
			fix = "coda service install --all-profiles"
		}
		return []Result{{Status: Fail, Detail: fmt.Sprintf("service %s is installed but no watcher runs (logs: %s)", unit.Name, unit.LogCommand), Fix: fix}}
	}
	if cron, err := w.opts.Crontab(w.ctx); err == nil && cronRotates(cron) {
		return pass("no watcher runs, but cron runs coda rotate")
	}
	return []Result{{Status: Warn, Detail: "no watcher, service or cron job rotates the token: it dies " + policy.Short(w.p.Policy.Policy().LifetimeD()) + " after the last coda token call",
		Fix: w.cmd("service install") + " (or " + w.cmd("rotate --watch") + " in a terminal)"}}
}

// serviceUnit is the installed user service that watches the profile:
// its own or the all-profiles one. It reads the unit files only.
func (w *world) serviceUnit() (service.Unit, service.Target, bool) {
	sys, err := service.Local(w.f.Getenv)
	if err != nil {
		return service.Unit{}, service.Target{}, false
	}
	for _, t := range []service.Target{{Profile: w.profile}, {AllProfiles: true}} {
		u, err := sys.Unit(t)
		if err != nil {
			continue
		}
		if _, err := os.Stat(u.Path); err == nil {
			return u, t, true
		}
	}
	return service.Unit{}, service.Target{}, false
}

// cronRotates reports whether a crontab line (not a comment) runs coda
// rotate.
func cronRotates(crontab string) bool {
	for _, line := range strings.Split(crontab, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && strings.Contains(line, "coda rotate") {
			return true
		}
	}
	return false
}

// checkLastRotation: the last rotation (or the login) is no older than
// the interval and a little slack.
func checkLastRotation(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	if !w.live() {
		return skip("the token expired")
	}
	last := w.p.CreatedAt
	if w.p.LastRotation.After(last) {
		last = w.p.LastRotation
	}
	interval := w.p.Policy.Policy().IntervalD()
	if w.opts.Timing != nil {
		if in, _, err := w.opts.Timing.Resolve(w.p.Policy); err == nil {
			interval = in.IntervalD()
		}
	}
	age := w.now.Sub(last).Round(time.Second)
	// Slack for a cron schedule or a late wake-up: half the interval, at
	// most a minute.
	if age <= interval+min(interval/2, time.Minute) {
		return pass(fmt.Sprintf("%s ago (interval %s)", policy.Short(max(age, 0)), policy.Short(interval)))
	}
	return []Result{{Status: Warn, Detail: fmt.Sprintf("the last rotation was %s ago, at %s, but the interval is %s: nothing rotates on schedule, or it keeps failing",
		policy.Short(age), last.UTC().Format(time.RFC3339), policy.Short(interval)), Fix: w.cmd("rotate") + ", then " + w.cmd("service install")}}
}

// checkPending: old tokens waiting for deletion, and why.
func checkPending(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	if len(w.p.Pending) == 0 {
		return pass("no old token waits for deletion")
	}
	worst, parts := Pass, []string{}
	for _, pe := range w.p.Pending {
		id := redact.Suffix(pe.TokenID)
		switch {
		case !pe.ExpiresAt.IsZero() && !w.now.Before(pe.ExpiresAt):
			parts = append(parts, id+" expired (the next rotation forgets it)")
		case pe.Host != "":
			parts = append(parts, fmt.Sprintf("%s on %s, where coda is no longer logged in, expires at %s", id, pe.Host, pe.ExpiresAt.UTC().Format(time.RFC3339)))
		case pe.HeldBy != "":
			worst = Warn
			parts = append(parts, fmt.Sprintf("%s kept alive while a tool may hold it (%s)", id, pe.HeldBy))
		case pe.LastError != "":
			worst = Warn
			parts = append(parts, fmt.Sprintf("%s: deletion failed %d times (%s)", id, pe.Attempts, pe.LastError))
		case w.now.After(pe.DeleteAfter.Add(time.Minute)):
			worst = Warn
			parts = append(parts, fmt.Sprintf("%s overdue since %s: no rotation ran to delete it", id, pe.DeleteAfter.UTC().Format(time.RFC3339)))
		default:
			parts = append(parts, fmt.Sprintf("%s deleted after its grace, at %s", id, pe.DeleteAfter.UTC().Format(time.RFC3339)))
		}
	}
	r := Result{Status: worst, Detail: strings.Join(parts, "; ")}
	if worst != Pass {
		r.Fix = w.cmd("rotate") + " (after fixing what keeps a tool from taking the new token)"
	}
	return []Result{r}
}

// checkProxy: the loopback proxy is up when an agent depends on it.
func checkProxy(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	if !w.p.ServesProxy() {
		return skip("no agent goes through coda's proxy")
	}
	clients := strings.Join(w.p.ProxyClients(), ", ")
	if w.key == "" || w.p.Proxy.Port == 0 {
		return []Result{{Status: Fail, Detail: "the proxy has no local key or port, so " + clients + " cannot reach the workspace", Fix: w.cmd("setup", w.p.ProxiedTools()...)}}
	}
	addr := core.ProxyURL(w.p.Proxy.Port)
	if !proxycmd.Running(w.p) {
		return []Result{{Status: Fail, Detail: addr + " is down: " + clients + " cannot reach the workspace",
			Fix: w.cmd("service install") + " (or " + w.cmd("rotate --watch") + ", or " + w.cmd("proxy") + ")"}}
	}
	return pass(addr + " is up, for " + clients)
}

// checkHTTPProxy: an HTTP(S)_PROXY would not take the agents' loopback
// requests to coda's proxy.
func checkHTTPProxy(w *world) []Result {
	warning := status.LoopbackProxied(w.f.Getenv)
	switch {
	case warning == "":
		return pass("no HTTP(S)_PROXY in the way of loopback requests")
	case w.p == nil || !w.p.ServesProxy():
		return skip("an HTTP(S)_PROXY is set without NO_PROXY for 127.0.0.1, but no agent goes through coda's proxy")
	}
	return []Result{{Status: Warn, Detail: warning, Fix: "export NO_PROXY=127.0.0.1,localhost (added to what it holds)"}}
}

// checkPlugins: each tool's state, as coda status reports it.
func checkPlugins(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	states := status.PluginStates(w.f, w.opts.Plugins, w.profile, w.p)
	if len(states) == 0 {
		return skip("no tool set up (coda setup)")
	}
	var out []Result
	for _, s := range states {
		r := Result{Name: "plugin " + s.Name, Detail: s.State}
		if s.Detail != "" {
			r.Detail += ": " + s.Detail
		}
		switch configurator.State(s.State) {
		case configurator.StateConfigured:
			r.Status = Pass
		case configurator.StateAbsent:
			r.Status, r.Fix = Warn, "install "+s.Name+", or "+w.cmd("setup", "--remove", s.Name)
		case configurator.StateForeign:
			r.Status, r.Fix = Warn, w.cmd("setup", s.Name)
		case "unknown":
			r.Status, r.Fix = Warn, "use the coda that set it up, or "+w.cmd("setup", "--remove", s.Name)
		default: // stale, not-configured, error
			r.Status, r.Fix = Fail, w.cmd("setup", s.Name)
		}
		out = append(out, r)
	}
	return out
}

// checkSinks: every file a tool reads a literal token from holds the
// current one. Only equality is checked; no value is shown.
func checkSinks(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	specs := w.p.Sinks()
	if len(specs) == 0 {
		return skip("no tool reads a literal token")
	}
	var out []Result
	for _, s := range specs {
		r := Result{Name: "sink " + s.Plugin}
		got, err := sink.Writer{}.Get(s)
		switch {
		case err != nil:
			r.Status, r.Detail, r.Fix = Fail, err.Error(), w.cmd("rotate")
		case got == w.p.Token:
			r.Status, r.Detail = Pass, display(w, s)+" holds the current token"
		case got == "":
			r.Status, r.Detail, r.Fix = Fail, display(w, s)+" holds no token", w.cmd("rotate")
		default:
			r.Status, r.Detail, r.Fix = Fail, display(w, s)+" holds another token than the current one", w.cmd("rotate")
		}
		out = append(out, r)
	}
	return out
}

// display names a sink's file (with the home directory as ~) and key.
func display(w *world, s sink.Spec) string {
	s.Path = pluginkit.Display(w.env, s.Path)
	return strings.TrimPrefix(s.String(), s.Plugin+": ")
}

// helperPath finds the coda an agent's key command runs, in its config:
// an absolute path followed by coda's token or proxy key subcommand, as a
// shell word ("/x/coda token -p P"), or TOML's command and args
// (command = "/x/coda" / args = ["token", ...]).
var helperPath = regexp.MustCompile(`(?:^|[\s"'(!=])(/[^\s"'()$!=,;\[\]{}]+)(?:\s+|["']\s*\n\s*args\s*=\s*\[\s*["'])(?:token|proxy["']?[\s,]+["']?key)["']?[\s,]+["']?-p[\s"']`)

// checkHelpers: the coda each tool's key command runs exists and is this
// coda. Only the files the plugin manages (Detection.Files) are read.
func checkHelpers(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	self, selfErr := os.Executable()
	var out []Result
	for _, t := range w.tools {
		if t.pl == nil || t.targetErr != nil {
			continue
		}
		var found []string
		for _, file := range t.pl.Detect(w.env).Files {
			data, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			for _, m := range helperPath.FindAllSubmatch(data, -1) {
				if p := string(m[1]); !slices.Contains(found, p) {
					found = append(found, p)
				}
			}
		}
		for _, path := range found {
			r := Result{Name: "helper " + t.name}
			fi, err := os.Stat(path)
			switch {
			case err != nil:
				r.Status, r.Detail, r.Fix = Fail, fmt.Sprintf("%s's key command runs %s, which does not exist", t.name, path), w.cmd("setup", t.name)
			case fi.IsDir() || (ownercheck.ModesMatter() && fi.Mode().Perm()&0o111 == 0):
				r.Status, r.Detail, r.Fix = Fail, fmt.Sprintf("%s's key command runs %s, which is not an executable", t.name, path), w.cmd("setup", t.name)
			case path == w.exe || (selfErr == nil && sameFile(fi, self)):
				r.Status, r.Detail = Pass, fmt.Sprintf("%s's key command runs this coda (%s)", t.name, path)
			default:
				r.Status, r.Detail, r.Fix = Warn, fmt.Sprintf("%s's key command runs %s, not this coda (%s)", t.name, path, w.exe), w.cmd("setup", t.name)+", with the coda you keep"
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return skip("no tool runs a coda key command")
	}
	return out
}

func sameFile(fi fs.FileInfo, path string) bool {
	other, err := os.Stat(path)
	return err == nil && os.SameFile(fi, other)
}

// checkGeminiEnv: Gemini CLI started in the working directory reads coda's
// ~/.gemini/.env: no project .env hides it and the folder is trusted.
func checkGeminiEnv(w *world) []Result {
	if r := w.needProfile(); r != nil {
		return r
	}
	if w.p.Tool("gemini") == nil {
		return skip("gemini is not set up")
	}
	cwd := pluginkit.Getwd(w.env)
	if cwd == "" {
		return skip("no working directory")
	}
	warning := gemini.ProjectEnvWarning(w.env, cwd)
	switch {
	case warning == "":
		return pass("Gemini CLI started in " + pluginkit.Display(w.env, cwd) + " reads ~/.gemini/.env")
	case strings.Contains(warning, " hides "):
		return []Result{{Status: Warn, Detail: warning, Fix: "move that .env away, or start gemini outside this folder"}}
	}
	return []Result{{Status: Warn, Detail: warning, Fix: "trust the folder when Gemini CLI asks, or " + w.cmd("setup", "gemini", "--gemini-trust-home")}}
}
