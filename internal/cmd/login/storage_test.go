package login

import (
	"errors"
	"os"
	"strings"
	"testing"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/coda-cli/coda/internal/cmd/cmdtest"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/store"
)

// The rule, alone: a choice over the profile's pin over the probe; a
// keyring chosen or pinned never falls back.
func TestDecideStorage(t *testing.T) {
	broken := errors.New("no D-Bus")
	for _, tc := range []struct {
		name           string
		choice, pinned string
		probeErr       error
		want           string
		wantProbe      bool
		wantNote       string // "" for none
		wantErr        string // "" for none
	}{
		{name: "nothing chosen, keyring works", want: "keyring", wantProbe: true},
		{name: "nothing chosen, no keyring: the file, said", probeErr: broken, want: "file", wantProbe: true,
			wantNote: "note: no usable system keyring (no D-Bus); keeping the token of profile work in credentials.json (0600). --storage keyring makes that an error instead."},
		{name: "file chosen: no probe", choice: "file", want: "file"},
		{name: "file chosen over a keyring pin", choice: "file", pinned: "keyring", want: "file"},
		{name: "keyring chosen, works", choice: "keyring", want: "keyring", wantProbe: true},
		{name: "keyring chosen over a file pin", choice: "keyring", pinned: "file", want: "keyring", wantProbe: true},
		{name: "keyring chosen, broken: an error, never the file", choice: "keyring", probeErr: broken, wantProbe: true,
			wantErr: "SOURCE asks for the system keyring, which does not work here (no D-Bus): make it work (on Linux, a D-Bus session with a Secret Service such as gnome-keyring) or keep the token in credentials.json with --storage file"},
		{name: "pinned to the file: no probe", pinned: "file", want: "file"},
		{name: "pinned to the keyring, works", pinned: "keyring", want: "keyring", wantProbe: true},
		{name: "pinned to the keyring, broken: an error", pinned: "keyring", probeErr: broken, wantProbe: true,
			wantErr: "profile work keeps its token in the system keyring, which does not work here (no D-Bus): log in where it works, or pass --storage file to keep the token in credentials.json from now on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probed := false
			got, note, err := decideStorage(tc.choice, "SOURCE", "work", tc.pinned, func() error { probed = true; return tc.probeErr })
			if probed != tc.wantProbe {
				t.Errorf("probed = %v", probed)
			}
			if note != tc.wantNote {
				t.Errorf("note = %q\nwant %q", note, tc.wantNote)
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || got != "" {
					t.Fatalf("= %q, %v\nwant error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

// storageEnv logs in through the real command with go-keyring's mock as
// the system keyring, working or not, and no CODA_STORAGE.
func storageEnv(t *testing.T, keyringWorks bool) *testEnv {
	t.Helper()
	gokeyring.MockInit()
	if !keyringWorks {
		gokeyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files"))
	}
	t.Cleanup(func() { gokeyring.MockInitWithError(errors.New("mock keyring used after its test")) })
	t.Cleanup(store.SetKeyringBackend(store.GoKeyring{}, 0))
	e := newTestEnv(t)
	delete(e.Vars, "CODA_STORAGE")
	return e
}

// Where each source sends the token, and what login says about it.
func TestLoginStorageSources(t *testing.T) {
	for _, tc := range []struct {
		name         string
		keyring      bool
		args         []string
		env          string // CODA_STORAGE
		config       string
		want         string // the stored profile's storage; "" when login fails
		wantCode     int
		wantOut      string // in stdout
		wantErrOut   string // in stderr (or the error)
		noErrOutNote bool
	}{
		{name: "default, keyring works", keyring: true, want: "keyring", wantOut: "It is kept in the system keyring (service coda).", noErrOutNote: true},
		{name: "default, no keyring: the file, announced", want: "file", wantErrOut: "note: no usable system keyring (system keyring set: The name org.freedesktop.secrets was not provided by any .service files"},
		{name: "--storage file skips the keyring", keyring: true, args: []string{"--storage", "file"}, want: "file", noErrOutNote: true},
		{name: "--storage keyring", keyring: true, args: []string{"--storage", "keyring"}, want: "keyring"},
		{name: "--storage keyring without a keyring fails", args: []string{"--storage", "keyring"}, wantCode: exit.Error,
			wantErrOut: "--storage keyring asks for the system keyring, which does not work here (system keyring set: The name"},
		{name: "CODA_STORAGE=keyring without a keyring fails", env: "keyring", wantCode: exit.Error, wantErrOut: "CODA_STORAGE=keyring asks for the system keyring"},
		{name: "config.yaml keyring without a keyring fails", config: "storage: keyring\n", wantCode: exit.Error, wantErrOut: "storage: keyring in config.yaml asks for the system keyring"},
		{name: "CODA_STORAGE=file", keyring: true, env: "file", want: "file", noErrOutNote: true},
		{name: "config.yaml file", keyring: true, config: "storage: file\n", want: "file", noErrOutNote: true},
		{name: "--storage over CODA_STORAGE", args: []string{"--storage", "file"}, env: "keyring", want: "file", noErrOutNote: true},
		{name: "CODA_STORAGE over config.yaml", env: "file", config: "storage: keyring\n", want: "file", noErrOutNote: true},
		{name: "--storage unknown", args: []string{"--storage", "vault"}, wantCode: exit.Usage, wantErrOut: `--storage must be keyring or file, got "vault"`},
		{name: "CODA_STORAGE unknown", env: "vault", wantCode: exit.Usage, wantErrOut: `CODA_STORAGE must be keyring or file, got "vault"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := storageEnv(t, tc.keyring)
			if tc.env != "" {
				e.Vars["CODA_STORAGE"] = tc.env
			}
			if tc.config != "" {
				e.WriteConfig(tc.config)
			}
			pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
			e.Stdin = pat
			res := e.Run(append([]string{"--host", e.Srv.URL(), "--token-stdin"}, tc.args...)...)
			if res.Code() != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d\nstderr: %s", res.Code(), res.Err, tc.wantCode, res.ErrOut)
			}
			errText := res.ErrOut
			if res.Err != nil {
				errText += res.Err.Error()
			}
			if !strings.Contains(errText, tc.wantErrOut) || !strings.Contains(res.Out, tc.wantOut) {
				t.Errorf("stdout %q\nstderr %q\nwant %q, %q", res.Out, errText, tc.wantOut, tc.wantErrOut)
			}
			if tc.noErrOutNote && strings.Contains(res.ErrOut, "keyring") {
				t.Errorf("stderr speaks of the keyring: %q", res.ErrOut)
			}
			e.AssertNoSecrets(res.Out, res.ErrOut)
			if tc.want == "" {
				if n := len(e.Srv.LiveTokens(cmdtest.User)); n != 1 {
					t.Errorf("%d live tokens after a refused login, want the PAT only", n)
				}
				if _, err := os.Stat(e.Dir + "/credentials.json"); err == nil && e.State().Profile("default") != nil {
					t.Error("a refused login stored a profile")
				}
				return
			}
			p := e.State().Profile("default")
			raw, err := os.ReadFile(e.Dir + "/credentials.json")
			if err != nil {
				t.Fatal(err)
			}
			inFile := strings.Contains(string(raw), e.Srv.MintedValues()[len(e.Srv.MintedValues())-1])
			if p.Storage != tc.want || inFile != (tc.want == "file") || !p.HasToken() {
				t.Fatalf("storage %q (token in the file: %v), want %q", p.Storage, inFile, tc.want)
			}
			if err := p.Unseal(); err != nil || p.Token == "" {
				t.Fatalf("Unseal: %v", err)
			}
		})
	}
}

// A login again follows the profile's pin: a file fallback stays in the
// file once a keyring appears, and a keyring profile whose keyring is gone
// needs --storage file.
func TestLoginAgainFollowsThePin(t *testing.T) {
	e := storageEnv(t, false)
	pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	login := func(args ...string) cmdtest.Result {
		e.Stdin = pat
		return e.Run(append([]string{"--host", e.Srv.URL(), "--token-stdin", "--force"}, args...)...)
	}
	if res := login(); res.Err != nil || e.State().Profile("default").Storage != "file" {
		t.Fatalf("first login: %v", res.Err)
	}
	gokeyring.MockInit()
	if res := login(); res.Err != nil || e.State().Profile("default").Storage != "file" || strings.Contains(res.ErrOut, "keyring") {
		t.Fatalf("login again with a keyring: %v, %q", res.Err, res.ErrOut)
	}
	if res := login("--storage", "keyring"); res.Err != nil || e.State().Profile("default").Storage != "keyring" {
		t.Fatalf("--storage keyring: %v", res.Err)
	}
	gokeyring.MockInitWithError(errors.New("dbus: connection refused"))
	res := login()
	if res.Code() != exit.Error || !strings.Contains(res.Err.Error(), "profile default keeps its token in the system keyring, which does not work here") {
		t.Fatalf("login again without the keyring: %v", res.Err)
	}
	if res := login("--storage", "file"); res.Err != nil || e.State().Profile("default").Storage != "file" {
		t.Fatalf("--storage file: %v", res.Err)
	}
}

func TestLoginJSONSaysWhereTheTokenIs(t *testing.T) {
	e := storageEnv(t, true)
	pat, _ := e.Srv.IssuePAT(cmdtest.User, "laptop", 0)
	e.Stdin = pat
	res := e.Run("-o", "json", "--host", e.Srv.URL(), "--token-stdin")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if m := cmdtest.DecodeJSON(t, res.Out); m["storage"] != "keyring" {
		t.Fatalf("storage = %v", m["storage"])
	}
}
