package git

import (
	"reflect"
	"testing"
)

// TestShellQuoteRoundTrip: what a note says is what Apply runs.
func TestShellQuoteRoundTrip(t *testing.T) {
	args := []string{"plain", "alice@example.com", "Alice O'Neil", `a "b" c`, "#1; rm -rf /", `back\slash`,
		" lead", "trail ", "''", "'", "~/.config/git/config", "$HOME", "`x`", "Ünïcödé", "a  b"}
	var line string
	for _, a := range args {
		line += shellQuote(a) + " "
	}
	got, err := shellWords(line)
	if err != nil || !reflect.DeepEqual(got, args) {
		t.Errorf("shellWords(%q) = %q, %v; want %q", line, got, err, args)
	}
	for _, bad := range []string{"'open", `trailing\`} {
		if _, err := shellWords(bad); err == nil {
			t.Errorf("shellWords(%q) accepted", bad)
		}
	}
}

// TestCommandNotesParse: Apply reads back the commands Plan wrote.
func TestCommandNotesParse(t *testing.T) {
	notes := []string{
		"keeps your user.name \"Bob\" (coda setup git --force replaces it)",
		"runs git config --global user.name 'Alice O'\\''Neil'",
		"runs git config --file '~/my config' --unset user.email",
	}
	got, err := parseCommands(notes)
	want := []plannedCommand{
		{global: true, args: gitCommand{"user.name", "Alice O'Neil"}},
		{global: false, args: gitCommand{"--unset", "user.email"}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseCommands = %+v, %v; want %+v", got, err, want)
	}
}
