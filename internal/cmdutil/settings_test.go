package cmdutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coda-cli/coda/internal/exit"
)

// settingsFactory is a Factory over a config dir holding config.yaml
// (none when yaml is "") and the environment env.
func settingsFactory(t *testing.T, yaml string, env map[string]string) (*Factory, string) {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"CODA_CONFIG_DIR": dir}
	for k, v := range env {
		vars[k] = v
	}
	if yaml != "" {
		if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &Factory{Getenv: func(k string) string { return vars[k] }, Output: "text"}, filepath.Join(dir, SettingsFile)
}

// config.yaml's errors name the file, the line and the key, and suggest
// the key meant; they never need viper, which loses line numbers.
func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       string // after "PATH:"; "" for no error
	}{
		{"valid", "profile: work\noutput: json\nstorage: keyring\ngrace: 2m\nmodels:\n  claude.haiku: m1\n  codex: m2\n", ""},
		{"empty", "\n", ""},
		{"comments only", "# nothing yet\n", ""},
		{"unknown key", "profile: work\ngrase: 2m\n", `2: unknown setting "grase" (did you mean grace?) (known: profile, output, storage, models, lifetime, interval, grace, min-ttl)`},
		{"keys are case-sensitive", "Profile: work\n", `1: unknown setting "Profile" (did you mean profile?)`},
		{"duration not a string", "\n\nmin-ttl: 5\n", `3: min-ttl must be a duration such as 15m, got "5"`},
		{"duration a list", "lifetime: [1m]\n", `1: lifetime must be a duration such as 15m`},
		{"duration junk", "interval: soon\n", `1: interval must be a duration such as 15m, got "soon"`},
		{"profile a number", "profile: 7\n", `1: profile must be a name, got "7"`},
		{"output unknown", "output: yaml\n", `1: output must be text or json, got "yaml"`},
		{"storage unknown", "storage: vault\n", `1: storage must be keyring or file, got "vault"`},
		{"storage not a string", "storage: [file]\n", `1: storage must be keyring or file`},
		{"models not a map", "models: claude\n", `1: models must map PLUGIN or PLUGIN.ROLE to a model name`},
		{"model not a name", "models:\n  claude: m\n  codex: [a, b]\n", `3: models.codex must be a model name`},
		{"not a mapping", "- grace\n", `1: settings are ` + "`key: value`" + ` lines`},
		{"not YAML", "profile: work\ngrace: [\n", `2: not valid YAML: fix or remove the settings file`},
		{"duplicate key", "grace: 1m\nprofile: a\ngrace: 2m\n", `3: grace is set twice (first on line 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, path := settingsFactory(t, tc.yaml, nil)
			_, err := f.Settings()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || exit.CodeOf(err) != exit.Usage || !strings.HasPrefix(err.Error(), path+":"+tc.want) {
				t.Fatalf("err = %v, want %s:%s", err, path, tc.want)
			}
		})
	}
}

// -o on the command line wins over CODA_OUTPUT, which wins over output in
// config.yaml; text when none is set. A bad value names where it came from.
func TestResolveOutput(t *testing.T) {
	for _, tc := range []struct {
		name     string
		flag     string // "" when -o is not given
		env      string
		yaml     string
		want     string
		wantErr  string
		explicit bool
	}{
		{name: "nothing set", want: "text"},
		{name: "config", yaml: "output: json\n", want: "json"},
		{name: "env over config", env: "text", yaml: "output: json\n", want: "text"},
		{name: "env", env: "json", want: "json"},
		{name: "flag over env", flag: "text", env: "json", want: "text"},
		{name: "flag over config", flag: "json", yaml: "output: text\n", want: "json", explicit: true},
		{name: "bad flag", flag: "yaml", wantErr: `--output must be text or json, got "yaml"`},
		{name: "bad env", env: "yaml", wantErr: `CODA_OUTPUT must be text or json, got "yaml"`},
		{name: "bad config", yaml: "output: yaml\n", wantErr: `output must be text or json, got "yaml"`},
		{name: "broken config, flag given", flag: "json", yaml: "output: [\n", want: "json", explicit: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := settingsFactory(t, tc.yaml, map[string]string{"CODA_OUTPUT": tc.env})
			if tc.flag != "" {
				f.Output = tc.flag
			}
			err := f.ResolveOutput(tc.flag != "")
			if tc.wantErr != "" {
				if err == nil || exit.CodeOf(err) != exit.Usage || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Output != tc.want || f.JSON() != (tc.want == "json") || f.ExplicitJSON() != tc.explicit {
				t.Errorf("Output %q, JSON %v, ExplicitJSON %v; want %q, explicit %v", f.Output, f.JSON(), f.ExplicitJSON(), tc.want, tc.explicit)
			}
		})
	}
}
