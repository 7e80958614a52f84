package shellquote

import (
	"os/exec"
	"testing"
)

func TestQuote(t *testing.T) {
	cases := map[string]string{
		"/usr/local/bin/coda": "/usr/local/bin/coda",
		"a=b,c:d@e%f+g":       "a=b,c:d@e%f+g",
		"":                    "''",
		"my profile":          "'my profile'",
		"it's":                `'it'\''s'`,
		"$HOME":               "'$HOME'",
		"~/x":                 "'~/x'",
	}
	for in, want := range cases {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestJoinThroughSh runs a joined command line through sh and reads the
// words back unchanged.
func TestJoinThroughSh(t *testing.T) {
	argv := []string{"printf", `%s|`, "/Users/Jo Smith/it's/coda", "$HOME", "`x`", "", "a;b"}
	out, err := exec.Command("sh", "-c", Join(argv)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/Users/Jo Smith/it's/coda|$HOME|`x`||a;b|"; string(out) != want {
		t.Errorf("sh read %q, want %q", out, want)
	}
}
