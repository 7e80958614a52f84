package redact

import (
	"strings"
	"testing"
)

func TestSuffix(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "…",
		"dapi123":            "…",
		"dapi0123456789abcd": "…abcd",
	} {
		if got := Suffix(in); got != want {
			t.Errorf("Suffix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecrets(t *testing.T) {
	const pat = "dapi0123456789abcdef0123456789abcdef"
	tests := []struct {
		in    string
		known []string
		want  string
	}{
		{"token " + pat + " leaked", nil, "token …cdef leaked"},
		{`{"token_value":"` + pat + `-2"}`, nil, `{"token_value":"…ef-2"}`},
		{"DAPI is not a token, nor is dapi alone", nil, "DAPI is not a token, nor is dapi alone"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", nil, "Authorization: Bearer ….sig"},
		{"Authorization: bearer " + pat, nil, "Authorization: bearer …cdef"},
		{"a Bearer token is required (Bearer <token>)", nil, "a Bearer token is required (Bearer <token>)"},
		{"the secret s3cr3t-value-xyz is here twice: s3cr3t-value-xyz", []string{"s3cr3t-value-xyz", ""}, "the secret …-xyz is here twice: …-xyz"},
		{"nothing to hide", []string{"absent-secret"}, "nothing to hide"},
	}
	for _, tt := range tests {
		got := Secrets(tt.in, tt.known...)
		if got != tt.want {
			t.Errorf("Secrets(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, pat) {
			t.Errorf("Secrets(%q) kept the token", tt.in)
		}
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"one line", 0, "one line"},
		{"two\nlines\r\n\tand a tab", 0, "two lines and a tab"},
		{"red \x1b[31malert\x1b[0m", 0, "red [31malert [0m"},
		{"abcdefghij", 5, "abcde…"},
		{"ééééé", 5, "éé…"}, // never cuts a rune in half
		{"  padded  ", 0, "padded"},
		{"line\u2028sep", 0, "line sep"},
	}
	for _, tt := range tests {
		if got := Line(tt.in, tt.max); got != tt.want {
			t.Errorf("Line(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
