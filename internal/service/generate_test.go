package service

import (
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// compareGolden compares got with testdata/NAME.golden; with -update it
// first rewrites the file.
func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update): %v", err)
	}
	if got != string(want) {
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(string(want)),
			B: difflib.SplitLines(got), FromFile: path, ToFile: "generated", Context: 2})
		t.Errorf("%s differs (run go test -update if intended):\n%s", path, diff)
	}
}

var goldenSpecs = []struct {
	name string
	spec Spec
}{
	{"profile", Spec{Target: Target{Profile: "staging"}, Exe: "/opt/My Tools/coda",
		Env: []EnvVar{{"CODA_CONFIG_DIR", "/home/alice/.config/coda"}}}},
	{"all-profiles", Spec{Target: Target{AllProfiles: true}, Exe: "/usr/local/bin/coda"}},
	// A path with spaces and the characters the two formats treat
	// specially (systemd never runs a path with a quote or backslash:
	// TestSystemdRefusesUnsafeExecutable), a profile name with a dot, and
	// both variables, whose values may hold anything printable.
	{"quoting", Spec{Target: Target{Profile: "team.prod_2"}, Exe: `/opt/My Tools & <More>/50% $HOME;coda`,
		Env: []EnvVar{{"CODA_CONFIG_DIR", `/home/alice/coda state/100% $HOME`}, {"XDG_CONFIG_HOME", `/home/alice/it's "my" \config`}}}},
}

// launchd runs any path: quotes and backslashes too.
var plistOnlySpecs = []struct {
	name string
	spec Spec
}{
	{"quotes", Spec{Target: Target{Profile: "staging"}, Exe: `/Users/alice/it's "odd" \dir/coda`}},
}

func TestSystemdUnitGolden(t *testing.T) {
	sys := System{GOOS: Linux, UID: 1000, User: "alice", Home: "/home/alice"}
	for _, tt := range goldenSpecs {
		t.Run(tt.name, func(t *testing.T) {
			u, content, err := sys.Generate(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, "systemd-"+tt.name, string(content))
			// What systemd reads back is exactly the argv and environment.
			exec, env := parseUnit(t, string(content))
			if want := append([]string{tt.spec.Exe}, tt.spec.Args()...); !slices.Equal(exec, want) {
				t.Errorf("ExecStart reads back as %q, want %q", exec, want)
			}
			var wantEnv []string
			for _, e := range tt.spec.Env {
				wantEnv = append(wantEnv, e.Name+"="+e.Value)
			}
			if !slices.Equal(env, wantEnv) {
				t.Errorf("Environment reads back as %q, want %q", env, wantEnv)
			}
			wantPath := "/home/alice/.config/systemd/user/coda-watch-" + tt.spec.Profile + ".service"
			if tt.spec.AllProfiles {
				wantPath = "/home/alice/.config/systemd/user/coda-watch.service"
			}
			if u.Path != wantPath || u.LogCommand != "journalctl --user -u "+filepath.Base(wantPath) {
				t.Errorf("unit = %+v, want path %s", u, wantPath)
			}
		})
	}
}

func TestPlistGolden(t *testing.T) {
	sys := System{GOOS: MacOS, UID: 501, User: "alice", Home: "/Users/alice"}
	for _, tt := range append(goldenSpecs, plistOnlySpecs...) {
		t.Run(tt.name, func(t *testing.T) {
			u, content, err := sys.Generate(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, "launchd-"+tt.name, string(content))
			strs := plistStrings(t, string(content))
			if want := append([]string{tt.spec.Exe}, tt.spec.Args()...); !slices.Equal(strs["ProgramArguments"], want) {
				t.Errorf("ProgramArguments read back as %q, want %q", strs["ProgramArguments"], want)
			}
			label, log := "dev.coda.watch."+tt.spec.Profile, "/Users/alice/Library/Logs/coda/watch-"+tt.spec.Profile+".log"
			if tt.spec.AllProfiles {
				label, log = "dev.coda.watch", "/Users/alice/Library/Logs/coda/watch.log"
			}
			if u.Name != label || u.Path != "/Users/alice/Library/LaunchAgents/"+label+".plist" || u.LogFile != log {
				t.Errorf("unit = %+v, want label %s, log %s", u, label, log)
			}
			for _, k := range []string{"Label", "StandardOutPath", "StandardErrorPath"} {
				want := log
				if k == "Label" {
					want = label
				}
				if got := strs[k]; len(got) != 1 || got[0] != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for _, e := range tt.spec.Env {
				if got := strs[e.Name]; len(got) != 1 || got[0] != e.Value {
					t.Errorf("EnvironmentVariables %s = %q, want %q", e.Name, got, e.Value)
				}
			}
		})
	}
}

// parseUnit reads ExecStart and Environment the way systemd does
// (systemd.syntax(7) quoting, specifiers, $ in ExecStart), for the
// subset SystemdUnit writes.
func parseUnit(t *testing.T, unit string) (exec, env []string) {
	t.Helper()
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			exec = unquoteWords(t, v, true)
		} else if v, ok := strings.CutPrefix(line, "Environment="); ok {
			env = append(env, unquoteWords(t, v, false)...)
		}
	}
	// string_is_safe: the executable may hold no quote or backslash.
	if len(exec) > 0 && strings.ContainsAny(exec[0], "\"'\\") {
		t.Errorf("systemd refuses the executable %q", exec[0])
	}
	return exec, env
}

// unquoteWords splits a line into words; in ExecStart (execLine) $$ is
// undone in the arguments but not in the executable, as systemd does.
func unquoteWords(t *testing.T, s string, execLine bool) []string {
	t.Helper()
	words := splitWords(t, s)
	for i, w := range words {
		words[i] = unspecify(t, w, execLine && i > 0)
	}
	return words
}

func splitWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		var w strings.Builder
		if s[i] == '"' {
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
					if i == len(s) || (s[i] != '\\' && s[i] != '"') {
						t.Fatalf("unexpected escape in %q", s)
					}
				}
				w.WriteByte(s[i])
			}
			if i == len(s) {
				t.Fatalf("unterminated quote in %q", s)
			}
			i++
		} else {
			for ; i < len(s) && s[i] != ' '; i++ {
				if strings.IndexByte("\"'\\", s[i]) >= 0 {
					t.Fatalf("unquoted %q in %q", s[i], s)
				}
				w.WriteByte(s[i])
			}
		}
		words = append(words, w.String())
	}
	return words
}

// unspecify undoes %% and (dollar) $$; a lone % or $ would be expanded by
// systemd.
func unspecify(t *testing.T, s string, dollar bool) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || (dollar && c == '$') {
			if i+1 == len(s) || s[i+1] != c {
				t.Fatalf("unescaped %c in %q: systemd would expand it", c, s)
			}
			i++
		}
		b.WriteByte(c)
	}
	return b.String()
}

func TestSystemdRefusesUnsafeExecutable(t *testing.T) {
	sys := System{GOOS: Linux, UID: 1000, User: "alice", Home: "/home/alice"}
	for _, exe := range []string{`/opt/it's/coda`, `/opt/"q"/coda`, `/opt/back\slash/coda`} {
		_, _, err := sys.Generate(Spec{Target: Target{Profile: "p"}, Exe: exe})
		if err == nil || !strings.Contains(err.Error(), "systemd does not run a program whose path holds a quote or a backslash") {
			t.Errorf("%s: err = %v", exe, err)
		}
		// The same path is fine for launchd.
		if _, _, err := (System{GOOS: MacOS, UID: 501, Home: "/Users/alice"}).Generate(Spec{Target: Target{Profile: "p"}, Exe: exe}); err != nil {
			t.Errorf("launchd %s: %v", exe, err)
		}
	}
}

// plistStrings parses the plist as XML and returns, for each key, the
// strings that follow it (an array's items for ProgramArguments).
func plistStrings(t *testing.T, plist string) map[string][]string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(plist))
	d.Strict = true
	out := map[string][]string{}
	var key, elem string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the plist is not well-formed XML: %v\n%s", err, plist)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			elem = tok.Name.Local
		case xml.EndElement:
			elem = ""
		case xml.CharData:
			switch elem {
			case "key":
				if string(tok) != "SuccessfulExit" && (key != "ProgramArguments" || string(tok) != "") {
					key = string(tok)
				}
			case "string":
				out[key] = append(out[key], string(tok))
			}
		}
	}
	return out
}

func TestSystemdQuote(t *testing.T) {
	tests := []struct {
		in        string
		exec, env string
	}{
		{"/usr/bin/coda", "/usr/bin/coda", "/usr/bin/coda"},
		{"/opt/my tools/coda", `"/opt/my tools/coda"`, `"/opt/my tools/coda"`},
		{"", `""`, `""`},
		{"50%", "50%%", "50%%"},
		{"$HOME", "$$HOME", "$HOME"},
		{`a"b`, `"a\"b"`, `"a\"b"`},
		{`a\b`, `"a\\b"`, `"a\\b"`},
		{"it's", `"it's"`, `"it's"`},
		{";", `";"`, `";"`},
		{"tab\there", "\"tab\there\"", "\"tab\there\""},
	}
	for _, tt := range tests {
		if got := systemdQuote(tt.in, true); got != tt.exec {
			t.Errorf("systemdQuote(%q, exec) = %s, want %s", tt.in, got, tt.exec)
		}
		if got := systemdQuote(tt.in, false); got != tt.env {
			t.Errorf("systemdQuote(%q, env) = %s, want %s", tt.in, got, tt.env)
		}
	}
}

func TestGenerateRefuses(t *testing.T) {
	sys := System{GOOS: Linux, UID: 1000, User: "alice", Home: "/home/alice"}
	for name, spec := range map[string]Spec{
		"relative exe":    {Target: Target{Profile: "p"}, Exe: "coda"},
		"newline in exe":  {Target: Target{Profile: "p"}, Exe: "/opt/co\nda"},
		"newline in env":  {Target: Target{Profile: "p"}, Exe: "/bin/coda", Env: []EnvVar{{"CODA_CONFIG_DIR", "/a\nExecStartPre=/bin/evil"}}},
		"traversal":       {Target: Target{Profile: "../../evil"}, Exe: "/bin/coda"},
		"empty profile":   {Target: Target{}, Exe: "/bin/coda"},
		"profile and all": {Target: Target{Profile: "p", AllProfiles: true}, Exe: "/bin/coda"},
	} {
		if _, _, err := sys.Generate(spec); err == nil {
			t.Errorf("%s: Generate succeeded", name)
		}
	}
}

func TestEnvironmentCopiesOnlyTheConfigLocation(t *testing.T) {
	vars := map[string]string{
		"DATABRICKS_TOKEN":         "dapi-secret-0123456789",
		"DATABRICKS_HOST":          "https://example.cloud.databricks.com",
		"DATABRICKS_CLIENT_SECRET": "dose-secret",
		"CODA_TOKEN":               "coda-secret",
		"CODA_PROFILE":             "staging",
		"CODA_LIFETIME":            "20m",
		"CODA_GRACE":               "2m",
		"CODA_SECRET":              "s3cret",
		"AWS_SECRET_ACCESS_KEY":    "aws-secret",
		"HOME":                     "/home/alice",
		"PATH":                     "/usr/bin",
		"CODA_CONFIG_DIR":          "/home/alice/coda",
		"XDG_CONFIG_HOME":          "/home/alice/.xdg",
	}
	got := Environment(func(k string) string { return vars[k] })
	want := []EnvVar{{"CODA_CONFIG_DIR", "/home/alice/coda"}, {"XDG_CONFIG_HOME", "/home/alice/.xdg"}}
	if !slices.Equal(got, want) {
		t.Errorf("Environment = %v, want %v", got, want)
	}

	// A relative CODA_CONFIG_DIR is made absolute (the service starts
	// elsewhere); a relative XDG_CONFIG_HOME, which coda ignores, is
	// left out; nothing set, nothing copied.
	wd, _ := os.Getwd()
	vars = map[string]string{"CODA_CONFIG_DIR": "state", "XDG_CONFIG_HOME": "rel"}
	got = Environment(func(k string) string { return vars[k] })
	if want := []EnvVar{{"CODA_CONFIG_DIR", filepath.Join(wd, "state")}}; !slices.Equal(got, want) {
		t.Errorf("Environment = %v, want %v", got, want)
	}
	if got := Environment(func(string) string { return "" }); len(got) != 0 {
		t.Errorf("Environment of an empty environment = %v", got)
	}
}
