package gemini

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coda-cli/coda/internal/merge/jsonedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// Folder trust. Gemini CLI decides trust per working directory from
// trustedFolders.json: the longest rule whose folder holds it wins, and a
// trusted folder's trust covers every folder under it. Only in a trusted
// folder does it read ~/.gemini/.env (in an untrusted one it reads no
// ~/.gemini/.env, and from a project .env only a few key variables, never
// the base URL), project .gemini settings, and auto-approve tools. So a
// TRUST_FOLDER rule for HOME trusts every repository the user has. coda
// leaves that decision to the user: it writes the rule only when asked
// (coda setup --gemini-trust-home), never overrides a rule that does not
// trust, and takes back a rule an earlier setup wrote.

const (
	trustFolder = "TRUST_FOLDER"
	trustParent = "TRUST_PARENT"

	// OptionTrustHome is the plugin option (Target.Options) that coda
	// setup --gemini-trust-home sets to "true": coda then trusts HOME.
	OptionTrustHome = "trust-home"
	trustHomeFlag   = "--gemini-trust-home"
)

func trustHome(t configurator.Target) bool { return t.Option(OptionTrustHome, "") == "true" }

func trusts(level any) bool { return level == trustFolder || level == trustParent }

// levelText shows a rule's value: a string as it is, else as JSON.
func levelText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pluginkit.JSONText(v)
}

// decide returns the trustedFolders.json rule that decides the trust of
// dir, as Gemini CLI picks it: of the rules whose folder (a TRUST_PARENT
// rule standing for its parent) holds dir, comparing real paths, the one
// with the longest path. "" when no rule holds dir.
func decide(rules *jsonedit.Object, dir string) (rule string, level any) {
	loc := realPath(dir)
	best := -1
	for _, r := range rules.Keys() {
		v, _ := rules.Get(r)
		root := r
		if v == trustParent {
			root = filepath.Dir(r)
		}
		if within(loc, realPath(root)) && len(r) > best {
			best, rule, level = len(r), r, v
		}
	}
	return rule, level
}

func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

func within(path, root string) bool {
	if path == root {
		return true
	}
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// folderTrustOff reports whether settings.json turns Gemini CLI's folder
// trust off (security.folderTrust.enabled = false): every folder is then
// trusted.
func folderTrustOff(settings *jsonedit.Object) bool {
	if settings == nil {
		return false
	}
	v, _ := settings.GetPath("security", "folderTrust", "enabled")
	return v == false
}

// trustPlan is what setup does to trustedFolders.json.
type trustPlan struct {
	change *configurator.Change // nil: the file is left as it is
	notes  []string             // for the setup result
	// stale says why Status calls the setup out of date when the file
	// changes ("" when it does not).
	stale string
	// detail is Status's sentence on trust.
	detail string
}

// planTrust plans trustedFolders.json and updates rec, coda's record, to
// match: rec keeps a folder's rule only while coda's own TRUST_FOLDER is
// in the file and wanted.
//
// Rules an earlier setup wrote (rec has their original) are taken back
// unless this setup trusts HOME and the rule is coda's own TRUST_FOLDER
// for HOME: a rule coda added is deleted, a value coda replaced (an older
// coda replaced DO_NOT_TRUST) is put back. A rule the user changed since
// is theirs and stays. With optIn, HOME gets TRUST_FOLDER when no rule
// decides its trust yet; a rule that does not trust it stays, with a
// note.
func (c *current) planTrust(rec *pluginkit.Record, home string, optIn bool) trustPlan {
	var tp trustPlan
	file := pluginkit.Display(c.env, c.p.trusted)
	envFile := pluginkit.Display(c.env, c.p.env)
	after := pluginkit.CloneJSON(c.trusted)
	created := false
	restoredHome := false

	if fr := rec.File(c.p.trusted); fr != nil {
		created = fr.Created
		var kept []*pluginkit.KeyRecord
		for _, k := range fr.Keys {
			if len(k.Key) != 1 {
				continue
			}
			folder := k.Key[0]
			orig, had := fr.OriginalJSON(folder)
			cur, ok := after.Get(folder)
			switch {
			case had && trusts(orig), !ok || cur != trustFolder:
				// The user's own trust, or a rule they changed since.
			case optIn && folder == home && !had:
				kept = append(kept, k) // coda's TRUST_FOLDER, still asked for
			case had:
				after.Set(folder, orig)
				restoredHome = restoredHome || folder == home
				tp.notes = append(tp.notes, fmt.Sprintf("put back your %s for %s in %s, which an older coda had replaced with TRUST_FOLDER: coda never overrides it; remove it yourself if you want Gemini CLI to trust that folder", levelText(orig), folder, file))
				tp.stale = fmt.Sprintf("coda replaced your %s for %s in %s with TRUST_FOLDER", levelText(orig), folder, file)
			default:
				after.Delete(folder)
				tp.notes = append(tp.notes, fmt.Sprintf("took back the TRUST_FOLDER rule for %s that coda wrote to %s: it made Gemini CLI trust every folder under it", folder, file))
				tp.stale = fmt.Sprintf("%s still holds coda's TRUST_FOLDER rule for %s, which trusts every folder under it", file, folder)
			}
		}
		fr.Keys = kept
		if len(fr.Keys) == 0 && len(fr.Parents) == 0 {
			rec.DropFile(c.p.trusted)
		}
	}

	ours := rec.File(c.p.trusted).Key(home) != nil
	switch rule, level := decide(after, home); {
	case !optIn:
		if !folderTrustOff(c.settings) {
			tp.detail = fmt.Sprintf("Gemini CLI reads %s only in folders you trust (it asks the first time it starts in one); coda setup %s trusts your whole home", envFile, trustHomeFlag)
			tp.notes = append(tp.notes, fmt.Sprintf("Gemini CLI reads %s only in folders you trust (it asks the first time it starts in one), and coda leaves trust to you: coda setup %s trusts every folder under %s", envFile, trustHomeFlag, home))
		}
	case ours:
		tp.detail = fmt.Sprintf("coda trusts %s for Gemini CLI (%s): every folder under it loads its .gemini settings, .env files and tool auto-approval without asking", home, trustHomeFlag)
	case trusts(level):
		tp.detail = fmt.Sprintf("%s already trusts %s (your rule for %s), so coda adds none", file, home, rule)
	case rule != "":
		tp.detail = fmt.Sprintf("%s asks coda to trust %s, but %s marks %s %s, which coda never overrides: Gemini CLI reads %s only in folders you trust", trustHomeFlag, home, file, rule, levelText(level), envFile)
		if !restoredHome {
			tp.notes = append(tp.notes, fmt.Sprintf("left %s for %s in %s as it is: coda never overrides it, so %s changes nothing until you remove that rule yourself", levelText(level), rule, file, trustHomeFlag))
		}
	default:
		after.Set(home, trustFolder)
		fr := rec.File(c.p.trusted)
		if fr == nil {
			fr = rec.AddFile(c.p.trusted, c.trustedRaw == nil)
			created = fr.Created
		}
		fr.KeepJSON(pluginkit.Key{home}, nil, false)
		tp.detail = fmt.Sprintf("coda trusts %s for Gemini CLI (%s): every folder under it loads its .gemini settings, .env files and tool auto-approval without asking", home, trustHomeFlag)
		tp.notes = append(tp.notes, fmt.Sprintf("trusts %s in %s (%s), so Gemini CLI reads %s in every folder under it: their .gemini settings, .env files and tool auto-approval load without asking", home, file, trustHomeFlag, envFile))
		tp.stale = fmt.Sprintf("%s is not trusted in %s, although you set up with %s", home, file, trustHomeFlag)
	}

	if !pluginkit.SameJSON(c.trusted, after) {
		ch := removeJSON(c.p.trusted, c.trustedRaw, c.trusted, after, created, 0o600)
		tp.change = &ch
	}
	return tp
}

// removeTrust plans trustedFolders.json on remove: every rule coda
// recorded is taken back while it still holds coda's TRUST_FOLDER; the
// file goes when coda created it and nothing else is left in it.
func (c *current) removeTrust() *configurator.Change {
	fr := c.rec.File(c.p.trusted)
	if fr == nil || c.trustedRaw == nil {
		return nil
	}
	after := pluginkit.CloneJSON(c.trusted)
	for _, k := range fr.Keys {
		if len(k.Key) != 1 {
			continue
		}
		folder := k.Key[0]
		orig, had := fr.OriginalJSON(folder)
		if cur, _ := after.Get(folder); cur != trustFolder || had && trusts(orig) {
			continue
		}
		if had {
			after.Set(folder, orig)
		} else {
			after.Delete(folder)
		}
	}
	ch := removeJSON(c.p.trusted, c.trustedRaw, c.trusted, after, fr.Created, 0o600)
	return &ch
}

// untrustedWarning says, in one line, that Gemini CLI started in cwd does
// not read ~/.gemini/.env because cwd is not trusted, or returns "".
// When it cannot tell, it says nothing: the warning is for the clear case
// only.
func untrustedWarning(env configurator.Env, p paths, settings *jsonedit.Object, cwd string) string {
	if folderTrustOff(settings) {
		return ""
	}
	data, err := os.ReadFile(p.trusted)
	if err != nil && !os.IsNotExist(err) {
		return ""
	}
	rules := jsonedit.New()
	if err == nil {
		if rules, err = jsonedit.ParseDialect(data, jsonedit.Comments); err != nil {
			return ""
		}
	}
	ours := pluginkit.Display(env, p.env)
	switch rule, level := decide(rules, cwd); {
	case trusts(level):
		return ""
	case rule == "":
		return fmt.Sprintf("Gemini CLI does not trust %s yet, so it reads no %s there until you trust the folder (it asks the first time it starts there; coda setup %s trusts your whole home)", cwd, ours, trustHomeFlag)
	default:
		return fmt.Sprintf("%s marks %s %s, so Gemini CLI started in %s reads no %s", pluginkit.Display(env, p.trusted), rule, levelText(level), cwd, ours)
	}
}
