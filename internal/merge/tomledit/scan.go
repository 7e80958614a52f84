package tomledit

import (
	"bytes"
	"fmt"

	"github.com/pelletier/go-toml/v2/unstable"
)

type kind int

const (
	kTrivia     kind = iota // blank line, comment line, or trailing whitespace
	kKeyVal                 // key = value, possibly spanning several lines
	kTable                  // [a.b]
	kArrayTable             // [[a.b]]
)

// item is one or more whole lines of the document: a blank or comment line,
// a table header, or a key/value pair (whose value may span lines).
type item struct {
	kind kind
	text string   // raw text, including the line terminator (absent only at EOF)
	line int      // 1-based line where the item starts
	off  int      // byte offset where the item starts
	path []string // decoded key of a key/value pair, or the header's table path
	// For key/value pairs: the value literal is text[valStart:valEnd].
	valStart, valEnd int
	// Absolute offsets of each simple key's raw text, for cross-checking.
	keyRaw []span
}

type span struct{ start, end int }

func (it *item) literal() string { return it.text[it.valStart:it.valEnd] }

func (it *item) isBlank() bool {
	return it.kind == kTrivia && len(bytes.TrimLeft([]byte(it.text), " \t\r\n")) == 0
}

func (it *item) isComment() bool {
	return it.kind == kTrivia && !it.isBlank()
}

func (it *item) isHeader() bool { return it.kind == kTable || it.kind == kArrayTable }

func (it *item) endsWithNewline() bool {
	return len(it.text) > 0 && it.text[len(it.text)-1] == '\n'
}

type scanner struct {
	b []byte
	i int
}

// scanError is a scanner failure at a byte offset.
type scanError struct {
	off int
	msg string
}

func (e *scanError) Error() string { return e.msg }

func (s *scanner) fail(msg string) error { return &scanError{off: s.i, msg: msg} }

// scan splits a document into items. It assumes nothing about validity but
// only understands TOML's structure; callers validate with go-toml first.
func scan(b []byte) ([]*item, error) {
	s := &scanner{b: b}
	var items []*item
	line := 1
	for s.i < len(b) {
		start := s.i
		it := &item{line: line, off: start}
		s.skipWS()
		switch {
		case s.i >= len(b):
			it.kind = kTrivia
		case b[s.i] == '\n' || b[s.i] == '\r' || b[s.i] == '#':
			it.kind = kTrivia
			if err := s.endLine(); err != nil {
				return nil, err
			}
		case b[s.i] == '[':
			if err := s.header(it); err != nil {
				return nil, err
			}
		default:
			if err := s.keyval(it, start); err != nil {
				return nil, err
			}
		}
		it.text = string(b[start:s.i])
		line += bytes.Count(b[start:s.i], []byte("\n"))
		items = append(items, it)
	}
	return items, nil
}

func (s *scanner) skipWS() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t') {
		s.i++
	}
}

// endLine consumes optional whitespace and comment, then a newline or EOF.
func (s *scanner) endLine() error {
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == '#' {
		for s.i < len(s.b) && s.b[s.i] != '\n' {
			s.i++
		}
	}
	switch {
	case s.i >= len(s.b):
		return nil
	case s.b[s.i] == '\n':
		s.i++
		return nil
	case s.b[s.i] == '\r' && s.i+1 < len(s.b) && s.b[s.i+1] == '\n':
		s.i += 2
		return nil
	}
	return s.fail("unexpected characters at the end of a line")
}

func (s *scanner) header(it *item) error {
	s.i++
	it.kind = kTable
	if s.i < len(s.b) && s.b[s.i] == '[' {
		s.i++
		it.kind = kArrayTable
	}
	keys, err := s.key()
	if err != nil {
		return err
	}
	it.keyRaw = keys
	s.skipWS()
	closing := "]"
	if it.kind == kArrayTable {
		closing = "]]"
	}
	if !bytes.HasPrefix(s.b[s.i:], []byte(closing)) {
		return s.fail("unterminated table header")
	}
	s.i += len(closing)
	return s.endLine()
}

func (s *scanner) keyval(it *item, start int) error {
	it.kind = kKeyVal
	keys, err := s.key()
	if err != nil {
		return err
	}
	it.keyRaw = keys
	s.skipWS()
	if s.i >= len(s.b) || s.b[s.i] != '=' {
		return s.fail("expected = after a key")
	}
	s.i++
	s.skipWS()
	vs := s.i
	ve, err := scanValue(s.b, s.i)
	if err != nil {
		return err
	}
	if ve == vs {
		return s.fail("missing value")
	}
	it.valStart, it.valEnd = vs-start, ve-start
	s.i = ve
	return s.endLine()
}

func isBare(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// key scans a simple or dotted key and returns the raw span of each part.
func (s *scanner) key() ([]span, error) {
	var parts []span
	for {
		s.skipWS()
		if s.i >= len(s.b) {
			return nil, s.fail("expected a key")
		}
		start := s.i
		switch c := s.b[s.i]; {
		case c == '"' || c == '\'':
			end, err := scanSingleLineString(s.b, s.i)
			if err != nil {
				return nil, err
			}
			s.i = end
		case isBare(c):
			for s.i < len(s.b) && isBare(s.b[s.i]) {
				s.i++
			}
		default:
			return nil, s.fail("invalid key")
		}
		parts = append(parts, span{start, s.i})
		s.skipWS()
		if s.i < len(s.b) && s.b[s.i] == '.' {
			s.i++
			continue
		}
		return parts, nil
	}
}

// scanSingleLineString returns the offset just past the basic or literal
// string starting at b[i].
func scanSingleLineString(b []byte, i int) (int, error) {
	q := b[i]
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\' && q == '"':
			j++
		case c == q:
			return j + 1, nil
		case c == '\n':
			return 0, &scanError{off: j, msg: "unterminated string"}
		}
	}
	return 0, &scanError{off: len(b), msg: "unterminated string"}
}

// scanString returns the offset just past the string starting at b[i],
// which may be a multi-line string.
func scanString(b []byte, i int) (int, error) {
	q := b[i]
	delim := []byte{q, q, q}
	if !bytes.HasPrefix(b[i:], delim) {
		return scanSingleLineString(b, i)
	}
	for j := i + 3; j < len(b); j++ {
		if b[j] == '\\' && q == '"' {
			j++
			continue
		}
		if bytes.HasPrefix(b[j:], delim) {
			end := j + 3
			// Up to two more quotes belong to the content.
			for extra := 0; extra < 2 && end < len(b) && b[end] == q; extra++ {
				end++
			}
			return end, nil
		}
	}
	return 0, &scanError{off: len(b), msg: "unterminated multi-line string"}
}

// scanValue returns the offset just past the value starting at b[i]:
// its last character, before any trailing whitespace or comment.
func scanValue(b []byte, i int) (int, error) {
	depth := 0
	end := i
	for i < len(b) {
		c := b[i]
		switch c {
		case '"', '\'':
			j, err := scanString(b, i)
			if err != nil {
				return 0, err
			}
			i, end = j, j
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth < 0 {
				return 0, &scanError{off: i, msg: "unbalanced brackets"}
			}
		case '#':
			if depth == 0 {
				return end, nil
			}
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		case '\n':
			if depth == 0 {
				return end, nil
			}
		case '\r':
			if depth == 0 && i+1 < len(b) && b[i+1] == '\n' {
				return end, nil
			}
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			end = i + 1
		}
		i++
	}
	if depth != 0 {
		return 0, &scanError{off: len(b), msg: "unterminated array or inline table"}
	}
	return end, nil
}

// crossCheck walks the document with go-toml's own parser and checks that
// the scanner found the same expressions with the same keys at the same
// offsets. It fills in the decoded key paths.
func crossCheck(data []byte, items []*item) error {
	var p unstable.Parser
	p.Reset(data)
	next := 0
	for p.NextExpression() {
		e := p.Expression()
		var want kind
		switch e.Kind {
		case unstable.KeyValue:
			want = kKeyVal
		case unstable.Table:
			want = kTable
		case unstable.ArrayTable:
			want = kArrayTable
		default:
			continue
		}
		for next < len(items) && items[next].kind == kTrivia {
			next++
		}
		if next >= len(items) {
			return fmt.Errorf("the document has more expressions than lines coda understands")
		}
		it := items[next]
		next++
		if it.kind != want {
			return fmt.Errorf("unexpected expression at line %d", it.line)
		}
		var path []string
		k := e.Key()
		for n := 0; k.Next(); n++ {
			node := k.Node()
			if n >= len(it.keyRaw) || it.keyRaw[n].start != int(node.Raw.Offset) ||
				it.keyRaw[n].end != int(node.Raw.Offset+node.Raw.Length) {
				return fmt.Errorf("unexpected key at line %d", it.line)
			}
			path = append(path, string(node.Data))
		}
		if len(path) != len(it.keyRaw) {
			return fmt.Errorf("unexpected key at line %d", it.line)
		}
		it.path = path
		if want == kKeyVal {
			v := e.Value()
			vs, ve := it.off+it.valStart, it.off+it.valEnd
			if v.Raw.Length > 0 && (vs != int(v.Raw.Offset) ||
				v.Kind == unstable.String && ve != int(v.Raw.Offset+v.Raw.Length)) {
				return fmt.Errorf("unexpected value at line %d", it.line)
			}
		}
	}
	if err := p.Error(); err != nil {
		return fmt.Errorf("go-toml's parser failed where its decoder did not")
	}
	for ; next < len(items); next++ {
		if items[next].kind != kTrivia {
			return fmt.Errorf("unexpected expression at line %d", items[next].line)
		}
	}
	return nil
}
