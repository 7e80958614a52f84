package databricks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/client"
	"github.com/databricks/databricks-sdk-go/config"
	"github.com/databricks/databricks-sdk-go/service/iam"

	"github.com/coda-cli/coda/internal/fakeworkspace"
	"github.com/coda-cli/coda/internal/plugins/databricks"
	"github.com/coda-cli/coda/pkg/configurator"
)

// sdkEnv clears the variables that would steer the SDK away from the
// profile under test, and points HOME at a temporary directory so no real
// ~/.databrickscfg is read or written.
func sdkEnv(t *testing.T) (home string) {
	home = t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE",
		"DATABRICKS_AUTH_TYPE", "DATABRICKS_USERNAME", "DATABRICKS_PASSWORD", "DATABRICKS_ACCOUNT_ID",
		"ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_TENANT_ID", "ARM_USE_MSI", "GOOGLE_CREDENTIALS",
		"DATABRICKS_GOOGLE_SERVICE_ACCOUNT", "DATABRICKS_DEBUG_HEADERS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	// A service principal in the environment: auth_type = pat in the
	// profile must win over it.
	t.Setenv("DATABRICKS_CLIENT_ID", "sp-client-id")
	t.Setenv("DATABRICKS_CLIENT_SECRET", "sp-client-secret")
	return home
}

// TestSDKLoadsTheProfile writes the profile with the plugin and loads it
// with the real SDK and its default loaders (environment, then the file).
func TestSDKLoadsTheProfile(t *testing.T) {
	home := sdkEnv(t)
	fw := fakeworkspace.New(fakeworkspace.Options{OnUnexpected: func(msg string) { t.Errorf("unexpected request: %s", msg) }})
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fw.Close)
	const user = "alice@example.com"
	fw.AddUser(user, "Alice Example")
	pat, patID := fw.IssuePAT(user, "coda test", time.Hour)

	env := configurator.Env{Home: home, Getenv: os.Getenv, StateDir: filepath.Join(t.TempDir(), "coda"),
		LookPath: func(string) (string, error) { return "", os.ErrNotExist }}
	tgt := target()
	tgt.Host, tgt.Token = fw.URL(), pat
	tgt.Options = map[string]string{databricks.OptionProfile: "coda-sdk"}
	c := databricks.New()
	p, err := c.Plan(env, tgt)
	if err != nil {
		t.Fatal(err)
	}
	if err := configurator.Apply(env, c, p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, ".databrickscfg")

	// Default loaders (Loaders nil): the environment, with its service
	// principal, and then the profile.
	cfg := &config.Config{Profile: "coda-sdk", ConfigFile: path, RetryTimeoutSeconds: 10, HTTPTimeoutSeconds: 10}
	w, err := client.New(cfg)
	if err != nil {
		t.Fatalf("the SDK refused the profile: %v", err)
	}
	if cfg.AuthType != "pat" || cfg.Host != fw.URL() || cfg.ClientID != "sp-client-id" {
		t.Errorf("SDK config: auth_type %q, host %q, client id %q", cfg.AuthType, cfg.Host, cfg.ClientID)
	}
	fw.ResetRequests()
	me, err := iam.NewCurrentUser(w).Me(context.Background(), iam.MeRequest{})
	if err != nil {
		t.Fatalf("CurrentUser.Me: %v", err)
	}
	if me.UserName != user {
		t.Errorf("Me = %q", me.UserName)
	}
	var seen bool
	for _, r := range fw.Requests() {
		if r.Path == fakeworkspace.PathMe {
			seen = true
			if r.TokenID != patID || r.Status != 200 {
				t.Errorf("Me request: token id %q (want the PAT's %q), status %d", r.TokenID, patID, r.Status)
			}
		}
	}
	if !seen {
		t.Error("the fake recorded no Me request")
	}

	// Control: the same profile without auth_type = pat is refused with
	// the service principal in the environment (both PAT and OAuth are
	// configured), so the key is what makes the PAT win.
	doc := readDoc(t, path)
	doc.Delete("coda-sdk", "auth_type")
	if err := os.WriteFile(path, doc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = &config.Config{Profile: "coda-sdk", ConfigFile: path, RetryTimeoutSeconds: 2, HTTPTimeoutSeconds: 2}
	_, err = client.New(cfg)
	if err == nil || !strings.Contains(err.Error(), "more than one authorization method") {
		t.Errorf("without auth_type = pat: %v; want the SDK to refuse PAT plus service principal", err)
	}
}
