// Package tomledit edits a TOML document (Codex's config.toml) line by line,
// changing only the root keys and tables coda owns and keeping every other
// byte: comments, blank lines, the order and spelling of keys and values.
//
// The document is modelled as a sequence of whole-line items grouped into the
// root section (everything before the first table header) and one section per
// [table] or [[array-of-tables]] header. A key/value item may span several
// lines (multi-line strings, arrays).
//
// Every document is validated with go-toml/v2 on Parse, and every edit is
// re-parsed and re-validated before it is applied, so the result always
// decodes with go-toml/v2; an edit that would not is refused with an error
// and leaves the document unchanged.
//
// What it cannot preserve, or refuses to do:
//
//   - SetTable replaces the body of the table it owns (from its header up to
//     the table's last key/value line): comments between those keys are
//     dropped. Comments after the last key stay, as they usually introduce
//     the next table. The header line itself, with any comment on it, is kept.
//   - A table coda sets must be defined only by its [header]. If the same
//     table, an ancestor or a descendant is also defined by dotted keys
//     (model_providers.x.y = 1), an inline table (model_providers = { ... })
//     or an array of tables ([[model_providers]]), SetTable refuses with
//     ErrConflict rather than rewrite the user's layout.
//   - Likewise SetRootKey refuses with ErrConflict when the key is also used
//     as a table (a [key] header or dotted keys key.x = ...).
//   - DeleteTable removes headers and their key/value lines, not dotted keys
//     or inline tables that define the same table elsewhere.
//
// Errors never contain the document's content (it may contain secrets), only
// what is wrong and where.
package tomledit

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// ErrConflict is wrapped by the errors of edits that would collide with a
// definition coda does not own.
var ErrConflict = errors.New("conflicting definition")

// KV is one key/value line of a table. Key is in TOML key syntax: a bare key
// (name), a quoted key ("my key", see QuoteKey) or a dotted key (a.b).
// Literal is the value as TOML source text, e.g. `"text"` (see Quote),
// `42`, `["a", "b"]` (see QuoteArray) or `{ x = 1 }`.
type KV struct {
	Key     string
	Literal string
}

// Doc is a parsed TOML document.
type Doc struct {
	items []*item
	nl    string // line terminator used for inserted lines
}

// Parse validates data with go-toml/v2 and splits it into items. As a
// safeguard it also checks its own reading of the document's structure
// against go-toml's parser and refuses the document if they differ (fuzzing
// has found no valid TOML for which they do).
func Parse(data []byte) (*Doc, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, describeTOMLError(data, err)
	}
	items, err := scan(data)
	if err == nil {
		err = crossCheck(data, items)
	}
	if err != nil {
		line := 0
		var se *scanError
		if errors.As(err, &se) {
			line = 1 + strings.Count(string(data[:min(se.off, len(data))]), "\n")
			err = fmt.Errorf("%s at line %d", se.msg, line)
		}
		return nil, fmt.Errorf("tomledit: cannot edit this document safely: %v", err)
	}
	nl := "\n"
	if i := strings.IndexByte(string(data), '\n'); i > 0 && data[i-1] == '\r' {
		nl = "\r\n"
	}
	return &Doc{items: items, nl: nl}, nil
}

// Bytes returns the document.
func (d *Doc) Bytes() []byte {
	var n int
	for _, it := range d.items {
		n += len(it.text)
	}
	b := make([]byte, 0, n)
	for _, it := range d.items {
		b = append(b, it.text...)
	}
	return b
}

var (
	unicodePoint = regexp.MustCompile(`\s*U\+[0-9A-Fa-f]+( '(?:\\.|[^'\\])*')?`)
	quoted       = regexp.MustCompile(`"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'`)
)

// describeTOMLError turns a go-toml error about data into one line without
// content.
func describeTOMLError(data []byte, err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if i := strings.Index(msg, ":"); i >= 0 {
			msg = msg[:i] // what follows a colon quotes the input
		}
		msg = unicodePoint.ReplaceAllString(msg, "")
		msg = quoted.ReplaceAllString(msg, "")
		msg = strings.Join(strings.Fields(msg), " ")
		if strings.HasSuffix(msg, " got") {
			msg += " something else"
		}
		if msg == "" {
			msg = "syntax error"
		}
		return fmt.Errorf("tomledit: invalid TOML at line %d:%d: %s", row, col, msg)
	}
	// Errors about duplicate or conflicting definitions carry no position
	// and name keys; say which kind it is and find the line.
	msg := "invalid TOML"
	switch s := err.Error(); {
	case strings.Contains(s, "already defined") || strings.Contains(s, "already exists") || strings.Contains(s, "redefine"):
		msg = "a key or table is defined more than once"
	case strings.Contains(s, "table"):
		msg = "a key is defined both as a value and as a table"
	}
	if line := firstInvalidLine(data); line > 0 {
		return fmt.Errorf("tomledit: invalid TOML at line %d: %s", line, msg)
	}
	return fmt.Errorf("tomledit: %s", msg)
}

// firstInvalidLine finds the line of the first item whose addition makes
// the document invalid, or returns 0.
func firstInvalidLine(data []byte) int {
	items, err := scan(data)
	if err != nil {
		return 0
	}
	valid := func(k int) bool {
		var b strings.Builder
		for _, it := range items[:k] {
			b.WriteString(it.text)
		}
		var m map[string]any
		return toml.Unmarshal([]byte(b.String()), &m) == nil
	}
	// Smallest k with items[:k] invalid; validity only ever goes away.
	lo, hi := 0, len(items)
	if valid(hi) {
		return 0
	}
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if valid(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return items[hi-1].line
}

// reparse replaces the document with the rendering of items, provided it
// is valid; otherwise the document is left unchanged.
func (d *Doc) reparse(items []*item) error {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it.text)
	}
	nd, err := Parse([]byte(b.String()))
	if err != nil {
		return fmt.Errorf("tomledit: refusing an edit that would not be valid TOML (%v)", err)
	}
	d.items = nd.items
	return nil
}

// validateLiteral checks that lit is exactly one TOML value.
func validateLiteral(lit string) error {
	if strings.TrimSpace(lit) != lit || lit == "" {
		return fmt.Errorf("tomledit: a value literal must be non-empty without surrounding whitespace")
	}
	end, err := scanValue([]byte(lit), 0)
	if err != nil || end != len(lit) {
		return fmt.Errorf("tomledit: invalid value literal (it must be a single TOML value)")
	}
	var m map[string]any
	if err := toml.Unmarshal([]byte("x = "+lit+"\n"), &m); err != nil || len(m) != 1 {
		return fmt.Errorf("tomledit: invalid value literal (it must be a single TOML value)")
	}
	return nil
}

// parseKeyExpr parses a TOML key (simple or dotted) into its parts.
func parseKeyExpr(key string) ([]string, error) {
	invalid := fmt.Errorf("tomledit: invalid TOML key")
	s := &scanner{b: []byte(key)}
	spans, err := s.key()
	if err != nil || s.i != len(key) {
		return nil, invalid
	}
	var p unstable.Parser
	p.Reset([]byte("[" + key + "]"))
	var parts []string
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.Table || parts != nil {
			return nil, invalid
		}
		for it := e.Key(); it.Next(); {
			parts = append(parts, string(it.Node().Data))
		}
	}
	if p.Error() != nil || len(parts) != len(spans) {
		return nil, invalid
	}
	return parts, nil
}

func hasPrefix(path, prefix []string) bool {
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

// RootKey returns the value literal of key in the root section, as written
// (a multi-line value includes its line breaks and inner comments). key is a
// plain key name, not TOML key syntax.
func (d *Doc) RootKey(key string) (string, bool) {
	for _, it := range d.items {
		if it.isHeader() {
			break
		}
		if it.kind == kKeyVal && len(it.path) == 1 && it.path[0] == key {
			return it.literal(), true
		}
	}
	return "", false
}

// SetRootKey sets key = literal in the root section. key is a plain key
// name (a new line quotes it with QuoteKey if needed); literal must be one
// TOML value. The existing value (even one spanning several lines) is
// replaced in place, keeping the key's spelling and any comment after the
// value; a new key goes after the last root key, or before the first table
// if there is none. It fails with ErrConflict if key is also a table.
func (d *Doc) SetRootKey(key, literal string) error {
	if err := validateLiteral(literal); err != nil {
		return err
	}
	firstHeader := len(d.items)
	lastKV := -1
	for i, it := range d.items {
		if it.isHeader() {
			if it.path[0] == key {
				return fmt.Errorf("tomledit: cannot set %s: it is a table at line %d: %w", QuoteKey(key), it.line, ErrConflict)
			}
			if firstHeader == len(d.items) {
				firstHeader = i
			}
			continue
		}
		if it.kind != kKeyVal || firstHeader < len(d.items) {
			continue
		}
		lastKV = i
		if it.path[0] == key && len(it.path) > 1 {
			return fmt.Errorf("tomledit: cannot set %s: it is a table defined by dotted keys at line %d: %w", QuoteKey(key), it.line, ErrConflict)
		}
	}
	items := slices.Clone(d.items)
	for i, it := range items[:firstHeader] {
		if it.kind == kKeyVal && len(it.path) == 1 && it.path[0] == key {
			n := *it
			n.text = it.text[:it.valStart] + literal + it.text[it.valEnd:]
			items[i] = &n
			return d.reparse(items)
		}
	}
	line := &item{kind: kTrivia, text: QuoteKey(key) + " = " + literal + d.nl}
	if lastKV >= 0 {
		items = insertItems(items, lastKV+1, d.nl, line)
		return d.reparse(items)
	}
	// No root keys: insert before the first table and the comments
	// directly above it, separated from that table by a blank line (or at
	// the end if there is no table).
	p := firstHeader
	for p < len(items) && p > 0 && items[p-1].isComment() {
		p--
	}
	add := []*item{line}
	if p < len(items) {
		add = append(add, &item{kind: kTrivia, text: d.nl})
	}
	items = insertItems(items, p, d.nl, add...)
	return d.reparse(items)
}

// DeleteRootKey removes key from the root section and reports whether it
// was there.
func (d *Doc) DeleteRootKey(key string) bool {
	for i, it := range d.items {
		if it.isHeader() {
			break
		}
		if it.kind == kKeyVal && len(it.path) == 1 && it.path[0] == key {
			if err := d.reparse(removeItems(d.items, i, i+1)); err != nil {
				panic("tomledit: removing a root key broke the document: " + err.Error())
			}
			return true
		}
	}
	return false
}

// insertItems inserts add at index p, making sure the item before it ends
// with a newline.
func insertItems(items []*item, p int, nl string, add ...*item) []*item {
	if p > 0 && !items[p-1].endsWithNewline() {
		n := *items[p-1]
		n.text += nl
		items[p-1] = &n
	}
	return slices.Insert(items, p, add...)
}

// removeItems removes items[from:to] and then one of two blank lines left
// adjacent (or a blank line left at the start or end of the document).
func removeItems(items []*item, from, to int) []*item {
	out := slices.Concat(items[:from], items[to:])
	switch {
	case from > 0 && out[from-1].isBlank() && (from == len(out) || out[from].isBlank()):
		out = slices.Delete(out, from-1, from)
	case from == 0 && len(out) > 0 && out[0].isBlank():
		out = slices.Delete(out, 0, 1)
	}
	return out
}

// sectionEnd returns the index of the header that ends section h's body: the
// next header after h, or len(items).
func (d *Doc) sectionEnd(h int) int {
	for i := h + 1; i < len(d.items); i++ {
		if d.items[i].isHeader() {
			return i
		}
	}
	return len(d.items)
}

// lastKeyVal returns the index of the last key/value item of the section
// whose header is at h, or h if it has none.
func (d *Doc) lastKeyVal(h int) int {
	last := h
	for i, end := h+1, d.sectionEnd(h); i < end; i++ {
		if d.items[i].kind == kKeyVal {
			last = i
		}
	}
	return last
}

// findTable returns the index of the [name] header, or -1.
func (d *Doc) findTable(path []string) int {
	for i, it := range d.items {
		if it.kind == kTable && slices.Equal(it.path, path) {
			return i
		}
	}
	return -1
}

// Table returns the key/value lines of the [name] table (not of its
// subtables), with keys in canonical key syntax and values as written.
func (d *Doc) Table(name string) ([]KV, bool) {
	path, err := parseKeyExpr(name)
	if err != nil {
		return nil, false
	}
	h := d.findTable(path)
	if h < 0 {
		return nil, false
	}
	kvs := []KV{}
	for _, it := range d.items[h+1 : d.sectionEnd(h)] {
		if it.kind == kKeyVal {
			kvs = append(kvs, KV{Key: TableName(it.path...), Literal: it.literal()})
		}
	}
	return kvs, true
}

// conflicts reports a definition of path, an ancestor or a descendant of it
// that is not made by a [header] of its own: dotted keys, inline tables,
// other values, or arrays of tables.
func (d *Doc) conflicts(path []string) error {
	var section []string
	for _, it := range d.items {
		switch it.kind {
		case kTable, kArrayTable:
			section = it.path
			if it.kind == kArrayTable && hasPrefix(path, it.path) {
				return fmt.Errorf("tomledit: cannot set table %s: an array of tables at line %d defines it: %w", TableName(path...), it.line, ErrConflict)
			}
		case kKeyVal:
			full := slices.Concat(section, it.path)
			// A value at the table or above it, or dotted keys that reach
			// into or below it from outside its own header.
			if hasPrefix(path, full) || hasPrefix(full, path) && len(section) < len(path) {
				return fmt.Errorf("tomledit: cannot set table %s: the key/value at line %d also defines it: %w", TableName(path...), it.line, ErrConflict)
			}
		}
	}
	return nil
}

// SetTable makes [name] contain exactly body. An existing table keeps its
// header line and position, its body (up to its last key/value line) is
// replaced, and its subtables are left alone. A missing table is inserted
// before its first subtable, if any, or appended at the end of the document
// after a blank line. name is a TOML key (see TableName).
func (d *Doc) SetTable(name string, body []KV) error {
	path, err := parseKeyExpr(name)
	if err != nil {
		return err
	}
	if err := d.conflicts(path); err != nil {
		return err
	}
	lines := make([]*item, 0, len(body))
	for _, kv := range body {
		if _, err := parseKeyExpr(kv.Key); err != nil {
			return fmt.Errorf("tomledit: invalid key in table %s", TableName(path...))
		}
		if err := validateLiteral(kv.Literal); err != nil {
			return err
		}
		lines = append(lines, &item{kind: kTrivia, text: kv.Key + " = " + kv.Literal + d.nl})
	}
	items := slices.Clone(d.items)
	if h := d.findTable(path); h >= 0 {
		last := d.lastKeyVal(h)
		items = slices.Delete(items, h+1, last+1)
		return d.reparse(insertItems(items, h+1, d.nl, lines...))
	}
	header := &item{kind: kTrivia, text: "[" + TableName(path...) + "]" + d.nl}
	add := append([]*item{header}, lines...)
	for i, it := range items {
		if it.isHeader() && len(it.path) > len(path) && hasPrefix(it.path, path) {
			p := i
			for p > 0 && items[p-1].isComment() {
				p--
			}
			add = append(add, &item{kind: kTrivia, text: d.nl})
			if p > 0 && !items[p-1].isBlank() {
				add = append([]*item{{kind: kTrivia, text: d.nl}}, add...)
			}
			return d.reparse(insertItems(items, p, d.nl, add...))
		}
	}
	if n := len(items); n > 0 && !items[n-1].isBlank() {
		add = append([]*item{{kind: kTrivia, text: d.nl}}, add...)
	}
	return d.reparse(insertItems(items, len(items), d.nl, add...))
}

// DeleteTable removes the [name] table: its header and its key/value lines
// (comments after its last key stay). With withSubtables it also removes
// every table and array of tables below name, and [[name]] itself. It
// reports whether anything was removed.
func (d *Doc) DeleteTable(name string, withSubtables bool) (bool, error) {
	path, err := parseKeyExpr(name)
	if err != nil {
		return false, err
	}
	items := d.items
	removed := false
	for i := 0; i < len(items); {
		it := items[i]
		match := it.kind == kTable && slices.Equal(it.path, path) ||
			withSubtables && it.isHeader() && hasPrefix(it.path, path)
		if !match {
			i++
			continue
		}
		last := i
		for j := i + 1; j < len(items) && !items[j].isHeader(); j++ {
			if items[j].kind == kKeyVal {
				last = j
			}
		}
		items = removeItems(items, i, last+1)
		removed = true
		i = max(i-1, 0) // removeItems may have dropped a blank line before i
	}
	if !removed {
		return false, nil
	}
	if err := d.reparse(items); err != nil {
		return false, err
	}
	return true, nil
}
