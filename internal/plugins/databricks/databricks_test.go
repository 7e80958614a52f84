package databricks_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/merge/iniedit"
	"github.com/coda-cli/coda/internal/plugins/databricks"
	"github.com/coda-cli/coda/internal/plugins/plugintest"
	"github.com/coda-cli/coda/pkg/configurator"
	"github.com/coda-cli/coda/pkg/configurator/configuratortest"
)

const (
	cfgRel    = ".databrickscfg"
	nextToken = "dapi-next-token-1111"
)

func target() configurator.Target { return plugintest.Target() }

// userCfg is a ~/.databrickscfg with the things people keep in it: a
// settings section, profiles with their own tokens and OAuth credentials,
// comments (some inline), odd spacing, blank lines, and no DEFAULT.
const userCfg = `; Databricks profiles (managed by hand)
[__settings__]
default_profile = work

# Work workspace, personal token
[work]
host  = https://work.cloud.databricks.com/
token = dapi-user-work-token-not-coda ; rotated by hand
cluster_id = 0123-456789-abcdef

[staging]
host=https://staging.cloud.databricks.com
client_id     = 11111111-2222-3333-4444-555555555555
client_secret = not-a-real-secret
auth_type = oauth-m2m
# trailing comment of staging
`

// split decodes a managed file into the sections and keys coda does not
// own and coda's keys of [DEFAULT] (the suite's target profile).
func split(rel string, data []byte) (any, any, error) {
	if rel != cfgRel {
		return nil, nil, errors.New("unexpected file " + rel)
	}
	return splitSection(data, iniedit.DefaultSection)
}

func splitSection(data []byte, section string) (foreign, owned map[string]map[string]string, err error) {
	doc, err := iniedit.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	foreign = map[string]map[string]string{}
	for _, name := range doc.Sections() {
		kvs, _ := doc.Section(name)
		for k, v := range kvs {
			if name == section && slices.Contains(databricks.OwnedKeys, k) {
				if owned == nil {
					owned = map[string]map[string]string{name: {}}
				}
				owned[name][k] = v
				delete(kvs, k)
			}
		}
		if len(kvs) > 0 || name != section {
			foreign[name] = kvs
		}
	}
	return foreign, owned, nil
}

func TestContract(t *testing.T) {
	configuratortest.Run(t, configuratortest.Suite{
		New:      databricks.New,
		Target:   target,
		Binaries: []string{"databricks"},
		// The profile serves every SDK consumer, not only the CLI.
		NeverAbsent: true,
		UserFiles:   map[string]string{cfgRel: userCfg},
		Malformed: map[string]string{
			cfgRel: "[work]\nhost = https://work.cloud.databricks.com\n[broken\ntoken = x\n",
		},
		Split: func(rel string, data []byte) (any, any, error) { return split(rel, data) },
	})
}

func newFixture(t *testing.T, files map[string]string) *plugintest.Fixture {
	t.Helper()
	return plugintest.NewFixture(t, databricks.New(), files)
}

func withProfile(tgt configurator.Target, name string) configurator.Target {
	tgt.Options = map[string]string{databricks.OptionProfile: name}
	return tgt
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		tgt   configurator.Target
	}{
		{"empty", nil, target()},
		{"existing", map[string]string{cfgRel: userCfg}, target()},
		{"named-profile", map[string]string{cfgRel: "[DEFAULT]\nhost = https://other.cloud.databricks.com\ntoken = dapi-someone-else\n"},
			withProfile(target(), "coda")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.files)
			p := f.Plan(tc.tgt)
			plugintest.CompareGolden(t, filepath.Join("testdata", "golden", tc.name), f.Golden(p))
		})
	}
}

// TestOtherProfilesKeptByteForByte: apply only appends coda's section,
// a rotation changes only the token line, and remove gives back the
// user's exact bytes.
func TestOtherProfilesKeptByteForByte(t *testing.T) {
	f := newFixture(t, map[string]string{cfgRel: userCfg})
	f.Apply(target())
	wantSection := "\n[DEFAULT]\nhost = " + plugintest.GoldenHost + "\ntoken = " + plugintest.GoldenToken + "\nauth_type = pat\n"
	if got := f.Read(cfgRel); got != userCfg+wantSection {
		t.Fatalf("after setup:\n%s\nwant the user's file plus:\n%s", got, wantSection)
	}
	if bak := f.Read(cfgRel + ".bak"); bak != userCfg {
		t.Errorf(".bak is not the user's file:\n%s", bak)
	}
	next := target()
	next.Token = nextToken
	f.Apply(next)
	if got := f.Read(cfgRel); got != userCfg+strings.Replace(wantSection, plugintest.GoldenToken, nextToken, 1) {
		t.Fatalf("after rotation:\n%s", got)
	}
	if bak := f.Read(cfgRel + ".bak"); bak != userCfg {
		t.Errorf("a rotation replaced the .bak (it would keep only the dead token):\n%s", bak)
	}
	f.Remove(next)
	if got := f.Read(cfgRel); got != userCfg {
		t.Fatalf("after remove:\n%s\nwant the user's file back", got)
	}
	if _, err := os.Stat(filepath.Join(f.State, "plugins", "databricks.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the sidecar is still there after remove: %v", err)
	}
}

// TestRotationChangesOnlyTheTokenLine compares the files line by line.
func TestRotationChangesOnlyTheTokenLine(t *testing.T) {
	for _, name := range []string{"", "coda"} {
		t.Run("profile="+name, func(t *testing.T) {
			f := newFixture(t, map[string]string{cfgRel: userCfg})
			tgt := withProfile(target(), name)
			f.Apply(tgt)
			before := strings.Split(f.Read(cfgRel), "\n")
			next := tgt
			next.Token = nextToken
			p := f.Apply(next)
			after := strings.Split(f.Read(cfgRel), "\n")
			if len(before) != len(after) {
				t.Fatalf("rotation changed the number of lines: %d → %d", len(before), len(after))
			}
			var changed []string
			for i := range before {
				if before[i] != after[i] {
					changed = append(changed, after[i])
				}
			}
			if !reflect.DeepEqual(changed, []string{"token = " + nextToken}) {
				t.Errorf("rotation changed these lines: %q", changed)
			}
			for _, c := range p.Changes {
				if c.Backup && filepath.Base(c.Path) == cfgRel {
					t.Error("a rotation asks for a .bak")
				}
			}
			info, err := os.Stat(filepath.Join(f.Home, cfgRel))
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("mode %o, want 0600", info.Mode().Perm())
			}
		})
	}
}

func TestRevokeRemovesTheToken(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	revoked := target()
	revoked.Token = ""
	f.Apply(revoked)
	want := "[DEFAULT]\nhost = " + plugintest.GoldenHost + "\nauth_type = pat\n"
	if got := f.Read(cfgRel); got != want {
		t.Fatalf("after revoke:\n%s\nwant\n%s", got, want)
	}
	if st := f.Status(revoked); st.State != configurator.StateConfigured {
		t.Errorf("status for the token-less target: %+v", st)
	}
	if st := f.Status(target()); st.State != configurator.StateStale || !strings.Contains(st.Detail, "no token") {
		t.Errorf("status after revoke for the old target: %+v", st)
	}
	// The next login's token goes back in.
	next := target()
	next.Token = nextToken
	f.Apply(next)
	if got := f.Read(cfgRel); !strings.Contains(got, "token = "+nextToken+"\n") {
		t.Fatalf("after a new login:\n%s", got)
	}
	f.Remove(next)
	if _, err := os.Stat(filepath.Join(f.Home, cfgRel)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the file coda created is still there after remove: %v", err)
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, value, rel string }{
		{"absolute", "", "conf/databricks.ini"},
		{"tilde", "~/alt/.databrickscfg", "alt/.databrickscfg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.Vars["DATABRICKS_CONFIG_FILE"] = tc.value
			if tc.value == "" {
				f.Vars["DATABRICKS_CONFIG_FILE"] = filepath.Join(f.Home, tc.rel)
			}
			if got := f.C.Detect(f.Env).Files; !reflect.DeepEqual(got, []string{filepath.Join(f.Home, tc.rel)}) {
				t.Errorf("Detect files %v", got)
			}
			f.Apply(target())
			if _, err := os.Stat(filepath.Join(f.Home, cfgRel)); !errors.Is(err, fs.ErrNotExist) {
				t.Error("~/.databrickscfg was written although DATABRICKS_CONFIG_FILE names another file")
			}
			if got := f.Read(tc.rel); !strings.Contains(got, "token = "+plugintest.GoldenToken) {
				t.Fatalf("%s:\n%s", tc.rel, got)
			}
			if st := f.Status(target()); st.State != configurator.StateConfigured {
				t.Errorf("status %+v", st)
			}
			f.Remove(target())
			if _, err := os.Stat(filepath.Join(f.Home, tc.rel)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("remove left the file it created: %v", err)
			}
		})
	}
}

// TestRefusals: sections coda must not take over, and names it must not use.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name, cfg, profile string
		want               []string // substrings of the error
	}{
		{"default for another host", "[DEFAULT]\nhost = https://other.cloud.databricks.com\n", "",
			[]string{"~/.databrickscfg already has a [DEFAULT] profile for https://other.cloud.databricks.com", "coda setup databricks --databricks-profile coda"}},
		{"implicit default for another host", "host = https://other.cloud.databricks.com\n\n[coda]\nhost = https://x\n", "",
			[]string{"[DEFAULT] profile for https://other.cloud.databricks.com", "--databricks-profile coda-2"}},
		{"named profile for another host", "[work]\nhost = https://other.cloud.databricks.com\n", "work",
			[]string{"[work] profile for https://other", "--databricks-profile coda"}},
		{"client_id", "[DEFAULT]\nhost = " + plugintest.GoldenHost + "\nclient_id = abc\nclient_secret = shh\n", "",
			[]string{"[DEFAULT] profile with its own credentials (client_id, client_secret)", "--databricks-profile coda"}},
		{"client_id without host", "[DEFAULT]\nclient_id = abc\n", "",
			[]string{"own credentials (client_id)", "--databricks-profile"}},
		{"azure", "[DEFAULT]\nhost = " + plugintest.GoldenHost + "\nazure_client_id = x\nazure_tenant_id = y\n", "",
			[]string{"own credentials (azure_client_id, azure_tenant_id)"}},
		{"google", "[DEFAULT]\nhost = " + plugintest.GoldenHost + "\ngoogle_service_account = sa@x\n", "",
			[]string{"own credentials (google_service_account)"}},
		{"basic auth", "[DEFAULT]\nhost = " + plugintest.GoldenHost + "\nusername = u\npassword = p\n", "",
			[]string{"own credentials (username, password)"}},
		{"auth_type", "[DEFAULT]\nhost = " + plugintest.GoldenHost + "\nauth_type = databricks-cli\n", "",
			[]string{"own credentials (auth_type = databricks-cli)"}},
		{"user's token for the same host", "[DEFAULT]\nhost = " + plugintest.GoldenHost + "\ntoken = dapi-user-own\n", "",
			[]string{"own credentials (a token)", "--databricks-profile coda"}},
		{"settings section", "", "__settings__",
			[]string{"__settings__ is reserved", "--databricks-profile NAME"}},
		{"bad name", "", "a]b", []string{`"a]b" cannot be a profile name`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.cfg != "" {
				files[cfgRel] = tc.cfg
			}
			f := newFixture(t, files)
			tgt := withProfile(target(), tc.profile)
			_, err := f.C.Plan(f.Env, tgt)
			if err == nil {
				t.Fatal("Plan accepted the section")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, plugintest.GoldenToken) || strings.Contains(msg, "dapi-user-own") || strings.Contains(msg, "shh") {
				t.Errorf("error is not one line or holds a secret: %q", msg)
			}
			if tc.cfg != "" && f.Read(cfgRel) != tc.cfg {
				t.Error("the file changed")
			}
			// Nothing of coda's to remove.
			if p, err := f.C.PlanRemove(f.Env, tgt); tc.profile != "__settings__" && tc.profile != "a]b" && (err != nil || !p.Empty()) {
				t.Errorf("PlanRemove: %v %v", err, p)
			}
		})
	}
}

// TestAdoptAndRestore: a section with this host and no credentials is
// taken over and put back on remove; a section coda created is deleted.
func TestAdoptAndRestore(t *testing.T) {
	cfg := "[DEFAULT]\nhost = https://Example.cloud.databricks.com/ ; mine\nwarehouse_id = abc\nauth_type = pat\n\n[other]\nhost = https://o\n"
	f := newFixture(t, map[string]string{cfgRel: cfg})
	p := f.Apply(target())
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "takes over the existing [DEFAULT] profile") {
		t.Errorf("notes %q", p.Notes)
	}
	want := "[DEFAULT]\nhost = https://Example.cloud.databricks.com/ ; mine\nwarehouse_id = abc\nauth_type = pat\ntoken = " + plugintest.GoldenToken + "\n\n[other]\nhost = https://o\n"
	if got := f.Read(cfgRel); got != want {
		t.Fatalf("after setup:\n%s\nwant\n%s", got, want)
	}
	if bak := f.Read(cfgRel + ".bak"); bak != cfg {
		t.Errorf("taking a section over keeps no .bak of the user's file:\n%s", bak)
	}
	if st := f.Status(target()); st.State != configurator.StateConfigured {
		t.Errorf("status %+v", st)
	}
	// The workspace moves: coda's host is written, the original restored on remove.
	moved := target()
	moved.Host = "https://elsewhere.cloud.databricks.com"
	f.Apply(moved)
	if got, _ := iniGet(t, f.Read(cfgRel), "DEFAULT", "host"); got != moved.Host {
		t.Fatalf("host %q after moving", got)
	}
	f.Remove(moved)
	if got := f.Read(cfgRel); got != cfg {
		t.Fatalf("after remove:\n%s\nwant\n%s", got, cfg)
	}
}

func iniGet(t *testing.T, data, section, key string) (string, bool) {
	t.Helper()
	doc, err := iniedit.Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return doc.Get(section, key)
}

// TestUserChangesToCodasSection: a token the user put into coda's section
// is theirs: setup refuses, status says foreign, remove keeps it.
func TestUserChangesToCodasSection(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	f.Write(cfgRel, strings.Replace(f.Read(cfgRel), plugintest.GoldenToken, "dapi-user-own", 1)+"cluster_id = c1\n")
	_, err := f.C.Plan(f.Env, target())
	if err == nil || !strings.Contains(err.Error(), "holds a token coda did not write") || strings.Contains(err.Error(), "dapi-user-own") {
		t.Fatalf("Plan: %v", err)
	}
	if st := f.Status(target()); st.State != configurator.StateForeign {
		t.Errorf("status %+v", st)
	}
	p := f.Remove(target())
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "kept token") {
		t.Errorf("notes %q", p.Notes)
	}
	want := "[DEFAULT]\ntoken = dapi-user-own\ncluster_id = c1\n"
	if got := f.Read(cfgRel); got != want {
		t.Fatalf("after remove:\n%s\nwant\n%s", got, want)
	}
}

// TestOneSectionPerCodaProfile: another coda profile cannot take over a
// section coda wrote for the first one (their rotations would fight).
func TestOneSectionPerCodaProfile(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	other := target()
	other.Profile = "work"
	other.Host = "https://work.cloud.databricks.com"
	_, err := f.C.Plan(f.Env, other)
	if err == nil || !strings.Contains(err.Error(), `the [DEFAULT] profile is coda's for its profile "default"`) || !strings.Contains(err.Error(), "--databricks-profile coda") {
		t.Fatalf("Plan: %v", err)
	}
	f.Apply(withProfile(other, "work"))
	doc, err := iniedit.Parse([]byte(f.Read(cfgRel)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc.Sections(), []string{"DEFAULT", "work"}) {
		t.Errorf("sections %v", doc.Sections())
	}
	if st := f.Status(withProfile(other, "work")); st.State != configurator.StateConfigured {
		t.Errorf("status of profile work: %+v", st)
	}
	f.Remove(target())
	f.Remove(withProfile(other, "work"))
	if _, err := os.Stat(filepath.Join(f.Home, cfgRel)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("remove left the file: %v", err)
	}
}

func TestStatus(t *testing.T) {
	foreign := "[mine]\nhost = " + plugintest.GoldenHost + "/\ntoken = dapi-user-own\n"
	f := newFixture(t, map[string]string{cfgRel: foreign})
	st := f.Status(target())
	if st.State != configurator.StateForeign || !strings.Contains(st.Detail, "[mine]") || strings.Contains(st.Detail, "dapi-user-own") {
		t.Errorf("foreign: %+v", st)
	}
	f.Apply(target())
	if st := f.Status(target()); st.State != configurator.StateConfigured {
		t.Errorf("configured: %+v", st)
	}
	next := target()
	next.Token = nextToken
	if st := f.Status(next); st.State != configurator.StateStale || !strings.Contains(st.Detail, "an older token") || strings.Contains(st.Detail, "dapi") {
		t.Errorf("stale token: %+v", st)
	}
	moved := target()
	moved.Host = "https://elsewhere.cloud.databricks.com"
	if st := f.Status(moved); st.State != configurator.StateStale || !strings.Contains(st.Detail, "host "+plugintest.GoldenHost) {
		t.Errorf("stale host: %+v", st)
	}
}

// TestNeverAbsent: without the CLI the profile still serves the SDKs.
func TestNeverAbsent(t *testing.T) {
	f := newFixture(t, nil)
	st := f.Status(target())
	if st.State != configurator.StateNotConfigured || !strings.Contains(st.Detail, "not on PATH") {
		t.Errorf("without the CLI: %+v", st)
	}
	if d := f.C.Detect(f.Env); d.Installed {
		t.Errorf("Detect: %+v", d)
	}
	f.Install("databricks")
	if d := f.C.Detect(f.Env); !d.Installed || d.Binary != "/usr/bin/databricks" {
		t.Errorf("Detect: %+v", d)
	}
	if st := f.Status(target()); st.State != configurator.StateNotConfigured || strings.Contains(st.Detail, "PATH") {
		t.Errorf("with the CLI: %+v", st)
	}
}

func TestDefaultProfileNote(t *testing.T) {
	f := newFixture(t, map[string]string{cfgRel: userCfg})
	p, err := f.C.Plan(f.Env, target())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "names [work] as the default profile") {
		t.Errorf("notes %q", p.Notes)
	}
}

// TestLegacyRecord: a user who set up with the coda before the shared
// record (its sidecar of version 1) still gets the originals back.
func TestLegacyRecord(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		tgt       configurator.Target
	}{
		{"empty", "", target()},
		{"existing", userCfg, target()},
		{"named-profile", "[DEFAULT]\nhost = https://other.cloud.databricks.com\ntoken = dapi-someone-else\n", withProfile(target(), "coda")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if tc.cfg != "" {
				f.Write(cfgRel, tc.cfg)
			}
			f.Apply(tc.tgt)
			f.WriteLegacyRecord(tc.name)
			if st := f.Status(tc.tgt); st.State != configurator.StateConfigured {
				t.Errorf("status %s: %s", st.State, st.Detail)
			}
			// The same record in the older layout: nothing to write.
			if p := f.Plan(tc.tgt); !p.Empty() {
				t.Errorf("a plan rewrites the legacy record:\n%s", configurator.Diff(p))
			}
			f.Remove(tc.tgt)
			switch {
			case tc.cfg == "" && f.Exists(cfgRel):
				t.Errorf("the file coda created survives remove:\n%s", f.Read(cfgRel))
			case tc.cfg != "" && f.Read(cfgRel) != tc.cfg:
				t.Errorf("after remove:\n%s\nwant\n%s", f.Read(cfgRel), tc.cfg)
			}
			if _, err := os.Stat(filepath.Join(f.State, "plugins", "databricks.json")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the sidecar is still there after remove: %v", err)
			}
		})
	}
	// An adopted section whose host moved and whose token rotated once,
	// and a section coda created next to it (see TestAdoptAndRestore).
	t.Run("adopted", func(t *testing.T) {
		cfg := "[DEFAULT]\nhost = https://Example.cloud.databricks.com/ ; mine\nwarehouse_id = abc\nauth_type = pat\n\n[other]\nhost = https://o\n"
		f := newFixture(t, map[string]string{cfgRel: "[DEFAULT]\nhost = https://elsewhere.cloud.databricks.com ; mine\nwarehouse_id = abc\nauth_type = pat\ntoken = " + nextToken +
			"\n\n[other]\nhost = https://o\n\n[coda]\nhost = https://elsewhere.cloud.databricks.com\ntoken = " + nextToken + "\nauth_type = pat\n"})
		f.WriteLegacyRecord("adopted")
		moved := target()
		moved.Host, moved.Token = "https://elsewhere.cloud.databricks.com", nextToken
		if st := f.Status(moved); st.State != configurator.StateConfigured {
			t.Errorf("status %s: %s", st.State, st.Detail)
		}
		// The token before the rotation is still known as coda's.
		f.Write(cfgRel, strings.Replace(f.Read(cfgRel), nextToken, plugintest.GoldenToken, 1))
		if st := f.Status(moved); st.State != configurator.StateStale {
			t.Errorf("status with coda's previous token %s: %s", st.State, st.Detail)
		}
		f.Write(cfgRel, strings.Replace(f.Read(cfgRel), plugintest.GoldenToken, nextToken, 1))
		f.Remove(moved)
		f.Remove(withProfile(moved, "coda"))
		if got := f.Read(cfgRel); got != cfg {
			t.Errorf("after remove:\n%s\nwant\n%s", got, cfg)
		}
		if _, err := os.Stat(filepath.Join(f.State, "plugins", "databricks.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the sidecar is still there after remove: %v", err)
		}
	})
}

func TestDamagedSidecarRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	side := filepath.Join(f.State, "plugins", "databricks.json")
	if err := os.WriteFile(side, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"Plan":       func() error { _, err := f.C.Plan(f.Env, target()); return err },
		"PlanRemove": func() error { _, err := f.C.PlanRemove(f.Env, target()); return err },
		"Status":     func() error { _, err := f.C.Status(f.Env, target()); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "databricks.json") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSidecarHoldsNoToken: coda remembers its tokens by hash only.
func TestSidecarHoldsNoToken(t *testing.T) {
	f := newFixture(t, nil)
	f.Apply(target())
	data, err := os.ReadFile(filepath.Join(f.State, "plugins", "databricks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(plugintest.GoldenToken)) {
		t.Error("the sidecar holds the token")
	}
	info, _ := os.Stat(filepath.Join(f.State, "plugins", "databricks.json"))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode %o", info.Mode().Perm())
	}
}

func readDoc(t *testing.T, path string) *iniedit.Doc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := iniedit.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
