// Package redact shows secrets and ids the one way coda ever shows them.
package redact

// Suffix shows at most the last four characters of a secret or an id.
func Suffix(s string) string {
	if len(s) < 8 { // too short to show any of it safely
		return "…"
	}
	return "…" + s[len(s)-4:]
}
