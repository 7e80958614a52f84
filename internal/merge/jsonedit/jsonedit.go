// Package jsonedit merges the few keys coda owns into a user's JSON config
// file (Claude Code's settings.json and ~/.claude.json, Gemini CLI's
// settings.json and trustedFolders.json, OpenCode's opencode.json) and
// leaves the rest of the file as it was, byte for byte: comments, key
// order, indentation, number spellings and string escapes.
//
// The syntax tree is github.com/tailscale/hujson's: it reads JWCC (JSON
// with comments and trailing commas) and packs an untouched tree back to
// the exact input. Edits are RFC 6902 patches applied by hujson, which
// moves the comments that belong to a member along with it. This package
// adds what a merge needs on top:
//
//   - a Dialect per tool, so that a file is refused only when the tool
//     itself would refuse it (Claude Code reads strict JSON, Gemini CLI
//     strips comments, OpenCode also takes trailing commas);
//   - a view of the document as objects whose values are nil, bool,
//     json.Number (numbers keep their text), string, []any and *Object,
//     with duplicate keys read the way JSON.parse reads them (the last
//     value wins, at the position of the first);
//   - the layout of new content: new members go at the end of their object,
//     one a line with the indentation of their siblings, nested values are
//     indented with the file's own unit (two spaces in a new file), a file
//     written on one line stays on one line, and a trailing comma or a
//     comment at the end of a member's line stays where it was;
//   - errors that never quote the file (it may hold secrets), only what is
//     wrong and where.
package jsonedit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/tailscale/hujson"
)

// Dialect is the JSON a tool reads.
type Dialect int

const (
	// Strict is RFC 8259 JSON, as JSON.parse reads it: Claude Code's
	// files and coda's own.
	Strict Dialect = iota
	// Comments is JSON with // and /* */ comments but no trailing commas:
	// strip-json-comments, then JSON.parse (Gemini CLI).
	Comments
	// JWCC is JSON with comments and trailing commas: jsonc-parser with
	// allowTrailingComma (OpenCode).
	JWCC
)

// ErrComments and ErrTrailingComma are wrapped by the error Parse returns
// for a comment or a trailing comma that the dialect does not allow.
var (
	ErrComments      = errors.New("a comment, which strict JSON does not allow")
	ErrTrailingComma = errors.New("a trailing comma, which strict JSON does not allow")
)

// MaxDepth is the deepest nesting of objects and arrays Parse accepts (as
// encoding/json does).
const MaxDepth = 10000

// Parse reads a strict JSON document whose top-level value is an object.
func Parse(data []byte) (*Object, error) { return ParseDialect(data, Strict) }

// ParseDialect reads a document in dialect d whose top-level value is an
// object. Empty or whitespace-only input (or, where comments are allowed,
// comments only) is an empty object. The data is copied.
func ParseDialect(data []byte, d Dialect) (*Object, error) {
	if isBlank(data) {
		return New(), nil
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, errors.New("jsonedit: file starts with a UTF-8 byte order mark, which JSON does not allow")
	}
	if tooDeep(data) {
		return nil, fmt.Errorf("jsonedit: invalid JSON: nesting deeper than %d levels", MaxDepth)
	}
	// A line comment may end the file without a newline; hujson wants one.
	src := append(bytes.Clone(data), '\n')
	trim := data[len(data)-1] != '\n'
	if !trim {
		src = src[:len(src)-1]
	}
	root, err := hujson.Parse(src)
	if err != nil {
		if d != Strict && hujson.Extra(src).IsValid() { // comments only
			root = hujson.Value{BeforeExtra: src, Value: &hujson.Object{}, AfterExtra: hujson.Extra("\n")}
			return &Object{d: &doc{root: root, unit: defaultUnit, nl: newline(src), bare: bytes.Clone(data)}}, nil
		}
		if trim {
			_, err = hujson.Parse(data) // the position in the file as it is
		}
		return nil, syntaxError(err)
	}
	obj, ok := root.Value.(*hujson.Object)
	if !ok {
		line, col := position(src, root.StartOffset)
		return nil, fmt.Errorf("jsonedit: top-level value must be an object, found %s at line %d:%d", kindOf(decode(root)), line, col)
	}
	if d == Strict {
		if off, ok := findComment(src, false); ok {
			line, col := position(src, off)
			return nil, fmt.Errorf("jsonedit: invalid JSON at line %d:%d: %w", line, col, ErrComments)
		}
	}
	if d != JWCC {
		if off, ok := trailingComma(&root); ok {
			line, col := position(src, off)
			return nil, fmt.Errorf("jsonedit: invalid JSON at line %d:%d: %w", line, col, ErrTrailingComma)
		}
	}
	return &Object{d: &doc{root: root, unit: unitOf(obj), nl: newline(src), trimNL: trim, inline: !multiline(obj)}}, nil
}

// hujsonError is the position hujson puts first in its errors.
var hujsonError = regexp.MustCompile(`^hujson: line (\d+), column (\d+): `)

// invalidChar is hujson's message for an unexpected character: the
// character (file content, dropped) and where it was.
var invalidChar = regexp.MustCompile(`invalid character '(?:\\.|[^'\\])*' (.*)$`)

// knownWhere are the places hujson names after an invalid character.
var knownWhere = map[string]bool{
	"at start of value":                         true,
	"at start of object name":                   true,
	"after object name":                         true,
	"after object value (expecting ',' or '}')": true,
	"after array value (expecting ',' or ']')":  true,
	"in line comment":                           true,
}

// syntaxError describes a hujson parse error in one line, without any of
// the file's content (hujson quotes the offending character or literal).
func syntaxError(err error) error {
	msg := err.Error()
	at := ""
	if m := hujsonError.FindStringSubmatch(msg); m != nil {
		at = " at line " + m[1] + ":" + m[2]
		msg = msg[len(m[0]):]
	}
	reason := "syntax error"
	switch m := invalidChar.FindStringSubmatch(msg); {
	case errors.Is(err, io.ErrUnexpectedEOF):
		reason = "unexpected end of input (unclosed object, array, string or comment)"
	case m != nil && m[1] == "after top-level value":
		return fmt.Errorf("jsonedit: unexpected data after the top-level object%s", at)
	case m != nil && knownWhere[m[1]]:
		reason = "invalid character " + m[1]
	case m != nil:
		reason = "invalid character"
	case bytes.HasPrefix([]byte(msg), []byte("invalid literal")):
		reason = "invalid string, number or literal"
	case msg == "invalid UTF-8 in comment":
		reason = msg
	}
	return fmt.Errorf("jsonedit: invalid JSON%s: %s", at, reason)
}

// tooDeep reports whether objects and arrays nest deeper than MaxDepth,
// before hujson's recursive parser sees the data. Brackets in strings do
// not count; brackets in comments do (a file with thousands is no config).
func tooDeep(data []byte) bool {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > MaxDepth {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

// findComment reports the offset of the first comment in a document hujson
// parsed: the first / outside a string. With blockOnly it skips // comments
// and reports the first /* instead.
func findComment(data []byte, blockOnly bool) (int, bool) {
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '/':
			if !blockOnly {
				return i, true
			}
			if i+1 < len(data) && data[i+1] == '/' {
				for i < len(data) && data[i] != '\n' {
					i++
				}
			} else if i+1 < len(data) && data[i+1] == '*' {
				return i, true
			}
		}
	}
	return 0, false
}

// BlockComment reports where the first /* */ comment of data is, outside
// strings and // comments: for tools that strip // comments only (Pi).
func BlockComment(data []byte) (line, col int, ok bool) {
	off, ok := findComment(data, true)
	if !ok {
		return 0, 0, false
	}
	line, col = position(data, off)
	return line, col, true
}

// trailingComma reports the offset of the first trailing comma in v.
func trailingComma(v *hujson.Value) (int, bool) {
	first := -1
	for x := range v.All() {
		var last *hujson.Value
		switch c := x.Value.(type) {
		case *hujson.Object:
			if n := len(c.Members); n > 0 {
				last = &c.Members[n-1].Value
			}
		case *hujson.Array:
			if n := len(c.Elements); n > 0 {
				last = &c.Elements[n-1]
			}
		}
		// hujson keeps a trailing comma as a non-nil AfterExtra on the
		// last value: the comma follows it.
		if last != nil && last.AfterExtra != nil {
			if off := last.EndOffset + len(last.AfterExtra); first < 0 || off < first {
				first = off
			}
		}
	}
	return first, first >= 0
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// newline is the file's line break: CRLF when it uses one.
func newline(data []byte) string {
	if bytes.Contains(data, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

const defaultUnit = "  "

// unitOf is the indentation unit of a document: how far its first member
// is indented, two spaces when that cannot be told.
func unitOf(root *hujson.Object) string {
	if len(root.Members) > 0 {
		if u := lineIndent(root.Members[0].Name.BeforeExtra, ""); u != "" {
			return u
		}
	}
	return defaultUnit
}

// lineIndent is the indentation of the line a value starts on, given the
// extra before it: the blanks after its last line break, or outer when it
// starts on the line of its container.
func lineIndent(extra []byte, outer string) string {
	i := bytes.LastIndexByte(extra, '\n')
	if i < 0 {
		return outer
	}
	rest := extra[i+1:]
	n := 0
	for n < len(rest) && (rest[n] == ' ' || rest[n] == '\t') {
		n++
	}
	return string(rest[:n])
}

// quoteKey is a key as a JSON Pointer segment (RFC 6901).
func quoteKey(k string) string { return "/" + pointerEscape.Replace(k) }

var pointerEscape = strings.NewReplacer("~", "~0", "/", "~1")
