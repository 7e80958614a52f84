// Package jsonedit is an order-preserving JSON document model for merging
// the few keys coda owns into a user's JSON config file (Claude Code
// settings.json, Gemini settings.json, opencode.json) without disturbing the
// rest of it.
//
// Parse keeps the order of object keys and the exact text of every number
// (values are nil, bool, json.Number, string, []any and *Object), and Marshal
// writes the document back with a two-space indent and a trailing newline, so
// a file that was already pretty-printed that way round-trips byte for byte.
//
// What it cannot preserve: comments (a file with comments is refused with
// ErrComments rather than silently stripped), the original whitespace of a
// file that was not formatted with a two-space indent (it is reformatted),
// and escape choices inside strings (strings are re-encoded the way
// JSON.stringify encodes them: only ", \ and control characters are escaped).
//
// Errors never contain any of the file's content (it may hold secrets), only
// what is wrong and where.
package jsonedit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// ErrComments is wrapped by the error Parse returns when the file contains
// // or /* */ comments (JSONC), which coda will not strip.
var ErrComments = errors.New("file has comments (JSONC)")

// MaxDepth is the deepest nesting of objects and arrays Parse accepts.
const MaxDepth = 10000

// Parse reads a JSON document whose top-level value is an object. Empty or
// whitespace-only input yields an empty object. Duplicate keys keep the last
// value at the position of the first. Trailing data after the object is an
// error.
func Parse(data []byte) (*Object, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return New(), nil
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, errors.New("jsonedit: file starts with a UTF-8 byte order mark, which JSON does not allow")
	}
	if off, ok := findComment(data); ok {
		line, col := position(data, off)
		return nil, fmt.Errorf("jsonedit: %w at line %d:%d; coda will not strip comments, remove them or edit the file by hand", ErrComments, line, col)
	}
	// A first pass with the standard scanner gives exact error offsets
	// (the token stream below reports offsets relative to the current value).
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, syntaxError(data, err)
	}
	if off := firstNonSpace(data); data[off] != '{' {
		line, col := position(data, off)
		return nil, fmt.Errorf("jsonedit: top-level value must be an object, found %s at line %d:%d", kindOfByte(data[off]), line, col)
	}
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	if _, err := p.dec.Token(); err != nil { // the opening {
		return nil, p.wrap(err)
	}
	obj, err := p.object(1)
	if err != nil {
		return nil, err
	}
	end := p.dec.InputOffset()
	if _, err := p.dec.Token(); err != io.EOF {
		off := skipSpace(data, int(end))
		line, col := position(data, off)
		return nil, fmt.Errorf("jsonedit: unexpected data after the top-level object at line %d:%d", line, col)
	}
	return obj, nil
}

type parser struct {
	data []byte
	dec  *json.Decoder
}

func (p *parser) object(depth int) (*Object, error) {
	if depth > MaxDepth {
		return nil, p.errAt("nesting deeper than %d levels", MaxDepth)
	}
	o := New()
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.wrap(err)
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '}' {
				return o, nil
			}
			return nil, p.errAt("expected an object key")
		case string:
			v, err := p.value(depth)
			if err != nil {
				return nil, err
			}
			o.set(t, v)
		default:
			return nil, p.errAt("expected an object key")
		}
	}
}

func (p *parser) array(depth int) ([]any, error) {
	if depth > MaxDepth {
		return nil, p.errAt("nesting deeper than %d levels", MaxDepth)
	}
	a := []any{}
	for {
		if !p.dec.More() {
			tok, err := p.dec.Token()
			if err != nil {
				return nil, p.wrap(err)
			}
			if d, ok := tok.(json.Delim); ok && d == ']' {
				return a, nil
			}
			return nil, p.errAt("expected ] to close an array")
		}
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
}

// value reads one value; depth is the depth of its container.
func (p *parser) value(depth int) (any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.wrap(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return p.object(depth + 1)
		case '[':
			return p.array(depth + 1)
		}
		return nil, p.errAt("unexpected %q", string(t))
	case nil, bool, json.Number, string:
		return t, nil
	}
	return nil, p.errAt("unexpected token")
}

func (p *parser) errAt(format string, args ...any) error {
	line, col := position(p.data, int(p.dec.InputOffset()))
	return fmt.Errorf("jsonedit: invalid JSON at line %d:%d: %s", line, col, fmt.Sprintf(format, args...))
}

// invalidChar matches the quoted character encoding/json puts in its syntax
// errors; it is file content, so it is dropped.
var invalidChar = regexp.MustCompile(`invalid character '(?:\\.|[^'\\])*'`)

func (p *parser) wrap(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return syntaxError(p.data, io.ErrUnexpectedEOF)
	}
	line, col := position(p.data, int(p.dec.InputOffset()))
	return fmt.Errorf("jsonedit: invalid JSON at line %d:%d", line, col)
}

// syntaxError describes err from encoding/json without echoing content.
func syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if strings.Contains(se.Error(), "unexpected end of JSON input") {
			return syntaxError(data, io.ErrUnexpectedEOF)
		}
		// Offset counts the offending byte.
		line, col := position(data, int(se.Offset)-1)
		if strings.Contains(se.Error(), "after top-level value") {
			return fmt.Errorf("jsonedit: unexpected data after the top-level object at line %d:%d", line, col)
		}
		msg := invalidChar.ReplaceAllString(se.Error(), "invalid character")
		msg = strings.ReplaceAll(msg, "\n", " ")
		return fmt.Errorf("jsonedit: invalid JSON at line %d:%d: %s", line, col, msg)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		line, col := position(data, len(data))
		return fmt.Errorf("jsonedit: invalid JSON at line %d:%d: unexpected end of input (unclosed object, array or string)", line, col)
	}
	return fmt.Errorf("jsonedit: invalid JSON: %T", err)
}

func kindOfByte(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// findComment reports the offset of the first // or /* outside a string.
func findComment(data []byte) (int, bool) {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '/':
			if i+1 < len(data) && (data[i+1] == '/' || data[i+1] == '*') {
				return i, true
			}
		}
	}
	return 0, false
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

func skipSpace(data []byte, off int) int {
	for off < len(data) && isSpace(data[off]) {
		off++
	}
	return off
}

func firstNonSpace(data []byte) int { return skipSpace(data, 0) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
