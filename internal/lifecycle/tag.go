package lifecycle

import (
	"strings"
)

// tagPrefix starts the comment of every token coda mints. The rest names
// the installation and the profile, so coda on another machine, or another
// profile on this one, never touches tokens that are not its own.
const tagPrefix = "coda:"

// Tag identifies the tokens of one installation and profile.
type Tag struct {
	InstallationID string
	Profile        string
}

// Comment is the token comment that carries the tag.
func (t Tag) Comment() string {
	return tagPrefix + " install=" + t.InstallationID + " profile=" + t.Profile
}

// ParseTag reads a token comment; ok is false for tokens coda did not mint.
func ParseTag(comment string) (t Tag, ok bool) {
	rest, found := strings.CutPrefix(comment, tagPrefix)
	if !found {
		return Tag{}, false
	}
	for _, field := range strings.Fields(rest) {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "install":
			t.InstallationID = v
		case "profile":
			t.Profile = v
		}
	}
	return t, t.InstallationID != "" && t.Profile != ""
}

// IsCodaComment reports whether a comment carries any coda tag.
func IsCodaComment(comment string) bool { return strings.HasPrefix(comment, tagPrefix) }
