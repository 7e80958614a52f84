// Package dotenv edits a .env file (Gemini CLI's ~/.gemini/.env) line by
// line, changing only the keys it is asked to and keeping every other byte.
//
// It reads a file the way the npm dotenv package that Gemini CLI uses does,
// but strictly: a line is blank, a comment (# ...), or
//
//	[export ]KEY=VALUE [# comment]
//
// with KEY made of letters, digits, _, . and -. An unquoted VALUE ends at
// the first # and is trimmed. A VALUE quoted with ', " or ` is taken
// verbatim (\' \" \` do not end it) and may span lines; in a "-quoted value
// the two-character sequences \n and \r become a newline and a carriage
// return. A key set twice keeps its last value.
//
// What npm dotenv would silently skip is refused with an error naming the
// line (never its content): any other line, an unterminated quote, text
// after a closing quote, a carriage return that does not end a line, and a
// quote after unusual whitespace (such as a no-break space) following =.
//
// Set refuses values with line breaks and writes a value unquoted only when
// it is plain (letters, digits and _-./:@%+,=~), otherwise in single
// quotes, falling back to double quotes or backquotes when the value has a
// single quote (never with $ or \ in double quotes, which other loaders
// expand).
package dotenv

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

type kind int

const (
	kBlank kind = iota
	kComment
	kEntry
)

type item struct {
	kind kind
	text string // raw text including the line terminator(s)
	line int    // 1-based line where the item starts
	// For entries: the key, the decoded value, and the raw value span.
	key, value       string
	valStart, valEnd int
}

// Doc is a parsed .env file.
type Doc struct {
	items []*item
	nl    string
}

// Parse reads a .env file.
func Parse(data []byte) (*Doc, error) {
	s := string(data)
	d := &Doc{nl: "\n"}
	if i := strings.IndexByte(s, '\n'); i > 0 && s[i-1] == '\r' {
		d.nl = "\r\n"
	}
	line := 1
	for pos := 0; pos < len(s); {
		it, end, err := parseItem(s, pos)
		if err != nil {
			errLine := line + strings.Count(s[pos:min(err.off, len(s))], "\n")
			return nil, fmt.Errorf("dotenv: line %d: %s", errLine, err.msg)
		}
		it.text, it.line = s[pos:end], line
		line += strings.Count(it.text, "\n")
		d.items = append(d.items, it)
		pos = end
	}
	return d, nil
}

type parseError struct {
	off int
	msg string
}

func isKeyChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// jsSpace is what JavaScript's String.prototype.trim removes.
func jsSpace(r rune) bool {
	return r == '\uFEFF' || r != '\u0085' && unicode.IsSpace(r)
}

// endOfLine consumes an optional comment and the line terminator at i.
func endOfLine(s string, i int, what string) (int, *parseError) {
	i = skipBlanks(s, i)
	if i < len(s) && s[i] == '#' {
		for i < len(s) && s[i] != '\n' {
			if s[i] == '\r' && (i+1 >= len(s) || s[i+1] != '\n') {
				return 0, &parseError{i, "carriage return inside a line"}
			}
			i++
		}
	}
	switch {
	case i >= len(s):
		return i, nil
	case s[i] == '\n':
		return i + 1, nil
	case s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n':
		return i + 2, nil
	case s[i] == '\r':
		return 0, &parseError{i, "carriage return inside a line"}
	}
	return 0, &parseError{i, "unexpected text after " + what}
}

// parseItem reads the item starting at s[pos] and returns where it ends.
func parseItem(s string, pos int) (*item, int, *parseError) {
	it := &item{}
	i := skipBlanks(s, pos)
	if i >= len(s) || s[i] == '\n' || s[i] == '\r' {
		end, err := endOfLine(s, i, "")
		return it, end, err
	}
	if s[i] == '#' {
		it.kind = kComment
		end, err := endOfLine(s, i, "")
		return it, end, err
	}
	it.kind = kEntry
	if strings.HasPrefix(s[i:], "export") && i+6 < len(s) && (s[i+6] == ' ' || s[i+6] == '\t') {
		if j := skipBlanks(s, i+6); j < len(s) && isKeyChar(s[j]) {
			i = j
		}
	}
	k := i
	for i < len(s) && isKeyChar(s[i]) {
		i++
	}
	if i == k {
		return nil, 0, &parseError{i, "expected a comment or KEY=VALUE"}
	}
	it.key = s[k:i]
	i = skipBlanks(s, i)
	if i >= len(s) || s[i] != '=' {
		return nil, 0, &parseError{i, "expected = after a key"}
	}
	i = skipBlanks(s, i+1)
	vs := i
	if i < len(s) && (s[i] == '\'' || s[i] == '"' || s[i] == '`') {
		q := s[i]
		j := i + 1
		for ; ; j++ {
			if j >= len(s) {
				return nil, 0, &parseError{vs, "unterminated quoted value"}
			}
			if s[j] == '\\' && j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			if s[j] == q {
				break
			}
		}
		it.valStart, it.valEnd = vs-pos, j+1-pos
		it.value = unquote(s[vs+1:j], q)
		end, err := endOfLine(s, j+1, "a quoted value")
		return it, end, err
	}
	j := i
	for j < len(s) && s[j] != '\n' && s[j] != '\r' && s[j] != '#' {
		j++
	}
	raw := s[vs:j]
	trimmed := strings.TrimRightFunc(raw, jsSpace)
	left := len(trimmed) - len(strings.TrimLeftFunc(trimmed, jsSpace))
	// The span starts before any unusual leading whitespace, so that
	// replacing the value drops it.
	it.valStart, it.valEnd = vs-pos, vs+len(trimmed)-pos
	v := trimmed[left:]
	if v != "" && strings.IndexByte("'\"`", v[0]) >= 0 {
		// Only unusual whitespace (no-break space...) can come between =
		// and a quote here; npm dotenv would read a quoted value.
		return nil, 0, &parseError{vs, "unusual whitespace before a quoted value"}
	}
	it.value = v
	end, err := endOfLine(s, j, "a value")
	return it, end, err
}

var crlf = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// unquote decodes the content of a value quoted with q.
func unquote(content string, q byte) string {
	content = crlf.Replace(content)
	if q == '"' {
		content = strings.ReplaceAll(content, `\n`, "\n")
		content = strings.ReplaceAll(content, `\r`, "\r")
	}
	return content
}

// Bytes returns the file.
func (d *Doc) Bytes() []byte {
	var b strings.Builder
	for _, it := range d.items {
		b.WriteString(it.text)
	}
	return []byte(b.String())
}

// Keys returns the keys in order of first appearance.
func (d *Doc) Keys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, it := range d.items {
		if it.kind == kEntry && !seen[it.key] {
			seen[it.key] = true
			keys = append(keys, it.key)
		}
	}
	return keys
}

// Get returns the value of key (its last occurrence).
func (d *Doc) Get(key string) (string, bool) {
	v, ok := "", false
	for _, it := range d.items {
		if it.kind == kEntry && it.key == key {
			v, ok = it.value, true
		}
	}
	return v, ok
}

var (
	validKey   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	plainValue = regexp.MustCompile(`^[A-Za-z0-9_\-./:@%+,=~]*$`)
)

// encode returns how to write value after KEY=.
func encode(value string) (string, error) {
	if strings.ContainsAny(value, "\r\n") {
		return "", errors.New("dotenv: values with line breaks are not supported")
	}
	var candidates []string
	if plainValue.MatchString(value) {
		candidates = append(candidates, value)
	}
	candidates = append(candidates, "'"+value+"'")
	if !strings.ContainsAny(value, `$\`) {
		candidates = append(candidates, `"`+value+`"`)
	}
	candidates = append(candidates, "`"+value+"`")
	for _, enc := range candidates {
		if it, end, err := parseItem("K="+enc, 0); err == nil && end == len(enc)+2 && it.value == value {
			return enc, nil
		}
	}
	return "", errors.New("dotenv: this value cannot be quoted so that it reads back unchanged")
}

// Set sets key to value: every occurrence is changed in place, keeping
// export, spacing and any comment after the value; a new key is appended
// at the end of the file.
func (d *Doc) Set(key, value string) error {
	if !validKey.MatchString(key) {
		return errors.New("dotenv: invalid key name (letters, digits and _, not starting with a digit)")
	}
	enc, err := encode(value)
	if err != nil {
		return err
	}
	items := make([]*item, len(d.items))
	copy(items, d.items)
	found := false
	for i, it := range items {
		if it.kind != kEntry || it.key != key {
			continue
		}
		n := *it
		n.text = it.text[:it.valStart] + enc + it.text[it.valEnd:]
		if p, end, err := parseItem(n.text, 0); err != nil || end != len(n.text) || p.value != value {
			// Drop what followed the value, keeping the line terminator.
			n.text = it.text[:it.valStart] + enc + it.text[len(strings.TrimRight(it.text, "\r\n")):]
		}
		items[i] = &n
		found = true
	}
	if !found {
		if n := len(items); n > 0 && !strings.HasSuffix(items[n-1].text, "\n") {
			last := *items[n-1]
			last.text += d.nl
			items[n-1] = &last
		}
		items = append(items, &item{text: key + "=" + enc + d.nl})
	}
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it.text)
	}
	nd, err := Parse([]byte(b.String()))
	if err != nil {
		return fmt.Errorf("dotenv: refusing an edit that would not read back (%v)", err)
	}
	if got, ok := nd.Get(key); !ok || got != value {
		return errors.New("dotenv: refusing an edit that would not read back")
	}
	d.items = nd.items
	return nil
}

// Delete removes every occurrence of key and reports whether there was one.
func (d *Doc) Delete(key string) bool {
	var items []*item
	for _, it := range d.items {
		if it.kind == kEntry && it.key == key {
			continue
		}
		items = append(items, it)
	}
	if len(items) == len(d.items) {
		return false
	}
	d.items = items
	return true
}
