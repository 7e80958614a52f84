// Package iniedit edits an INI file (~/.databrickscfg) line by line,
// changing only the keys and sections it is asked to and keeping every
// other byte.
//
// It reads the file the way gopkg.in/ini.v1 does when the Databricks SDK
// loads it (LoadOptions{SpaceBeforeInlineComment: true}):
//
//   - a line is blank, a comment (first non-space character # or ;), a
//     section header [name] (the name is everything up to the last ], not
//     trimmed), or key = value (the first = or : separates them; key and
//     value are trimmed; `key` and "key" quotes are removed);
//   - keys before the first header belong to the DEFAULT section, which a
//     [DEFAULT] header also opens; a section or key that appears twice is
//     merged, the last value winning;
//   - a value loses an inline comment that starts with " #" or " ;", then
//     one pair of surrounding ' or " quotes; a value quoted with ` or """
//     is taken verbatim up to the last matching quote on the line.
//
// What it refuses, with an error naming the line (never its content):
// lines that are none of the above, an unterminated or empty header,
// multi-line values (an unclosed ` or """ quote), line continuations (a
// value ending with \), the "-" auto-increment key, empty keys, keys
// quoted with """, text after a closing quote or header other than a
// comment, and UTF-16 files. Set writes a value bare when ini.v1 reads it
// back unchanged, otherwise quoted with ` (which ini.v1 reads verbatim); it
// refuses values with line breaks, and adding a line after a last line
// without a line break whose meaning one would change (a value of """).
package iniedit

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// DefaultSection is the name of the section holding the keys that come
// before the first header.
const DefaultSection = "DEFAULT"

// KeyValue is one key of a section and its value as ini.v1 reads it.
type KeyValue struct {
	Key, Value string
}

type lineKind int

const (
	lBlank lineKind = iota
	lComment
	lSection
	lKey
)

type line struct {
	kind lineKind
	text string // without the terminator
	term string // "\n", "\r\n" or "" (last line without newline)
	// For sections: the name. For keys: the key and the decoded value.
	name, value string
	// For keys: the key's raw span and the value's raw span in text.
	keyStart, keyEnd, valStart, valEnd int
}

// Doc is a parsed INI file.
type Doc struct {
	bom   string
	lines []*line
	nl    string // terminator for inserted lines
}

const utf8BOM = "\xef\xbb\xbf"

// Parse reads an INI file.
func Parse(data []byte) (*Doc, error) {
	s := string(data)
	d := &Doc{nl: "\n"}
	if strings.HasPrefix(s, utf8BOM) {
		d.bom, s = utf8BOM, s[len(utf8BOM):]
	} else if strings.HasPrefix(s, "\xfe\xff") || strings.HasPrefix(s, "\xff\xfe") {
		return nil, errors.New("iniedit: UTF-16 files are not supported")
	}
	if i := strings.IndexByte(s, '\n'); i > 0 && s[i-1] == '\r' {
		d.nl = "\r\n"
	}
	for n := 1; s != ""; n++ {
		text, term := s, ""
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			text, term = s[:i], "\n"
			if strings.HasSuffix(text, "\r") {
				text, term = text[:len(text)-1], "\r\n"
			}
		}
		s = s[len(text)+len(term):]
		l, err := parseLine(text, term)
		if err != nil {
			return nil, fmt.Errorf("iniedit: line %d: %v", n, err)
		}
		d.lines = append(d.lines, l)
	}
	return d, nil
}

// parseLine reads one line as ini.v1 would.
func parseLine(text, term string) (*line, error) {
	l := &line{text: text, term: term}
	lead := len(text) - len(strings.TrimLeftFunc(text, unicode.IsSpace))
	t := text[lead:]
	switch {
	case t == "":
		l.kind = lBlank
		return l, nil
	case t[0] == '#' || t[0] == ';':
		l.kind = lComment
		return l, nil
	case t[0] == '[':
		end := strings.LastIndexByte(t, ']')
		if end < 0 {
			return nil, errors.New("unterminated section header")
		}
		if end == 1 {
			return nil, errors.New("empty section name")
		}
		if !isCommentOrEmpty(t[end+1:]) {
			return nil, errors.New("unexpected text after a section header")
		}
		l.kind, l.name = lSection, t[1:end]
		return l, nil
	}
	l.kind = lKey
	// The key.
	var delim int // offset of the = or : in text
	switch q := t[0]; {
	case strings.HasPrefix(t, `"""`):
		return nil, errors.New(`keys quoted with """ are not supported`)
	case q == '"' || q == '`':
		closing := strings.IndexByte(t[1:], q)
		if closing < 0 {
			return nil, errors.New("missing closing quote of a key")
		}
		closing++
		rest := t[closing+1:]
		i := strings.IndexAny(rest, "=:")
		if i < 0 {
			return nil, errors.New("expected key = value")
		}
		if strings.TrimSpace(rest[:i]) != "" {
			return nil, errors.New("unexpected text after a quoted key")
		}
		l.name = strings.TrimSpace(t[1:closing])
		l.keyStart, l.keyEnd = lead, lead+closing+1
		delim = lead + closing + 1 + i
	default:
		i := strings.IndexAny(t, "=:")
		if i < 0 {
			return nil, errors.New("expected a comment, a [section] header or key = value")
		}
		if i == 0 {
			return nil, errors.New("empty key name")
		}
		l.name = strings.TrimSpace(t[:i])
		l.keyStart, l.keyEnd = lead, lead+len(strings.TrimRightFunc(t[:i], unicode.IsSpace))
		delim = lead + i
	}
	switch l.name {
	case "":
		return nil, errors.New("empty key name")
	case "-":
		return nil, errors.New(`the auto-increment key "-" is not supported`)
	}
	// The value, as ini.v1's readValue sees it (with the line terminator).
	after := text[delim+1:]
	vs := delim + 1 + len(after) - len(strings.TrimLeftFunc(after, unicode.IsSpace))
	v := text[vs:] + term
	l.valStart, l.valEnd = vs, vs
	if strings.TrimLeftFunc(v, unicode.IsSpace) == "" {
		return l, nil
	}
	quote := ""
	switch {
	case len(v) > 3 && strings.HasPrefix(v, `"""`):
		quote = `"""`
	case v[0] == '`':
		quote = "`"
	}
	if quote != "" {
		end := strings.LastIndex(v[len(quote):], quote)
		if end < 0 {
			return nil, errors.New("multi-line values are not supported")
		}
		l.value = v[len(quote) : len(quote)+end]
		l.valEnd = vs + len(quote) + end + len(quote)
		if !isCommentOrEmpty(text[l.valEnd:]) {
			return nil, errors.New("unexpected text after a quoted value")
		}
		return l, nil
	}
	raw := strings.TrimRightFunc(text[vs:], unicode.IsSpace)
	if strings.HasSuffix(raw, `\`) {
		return nil, errors.New(`a value ends with \ (a line continuation), which is not supported`)
	}
	i := strings.Index(raw, " #")
	if i < 0 {
		i = strings.Index(raw, " ;")
	}
	if i >= 0 {
		raw = strings.TrimRightFunc(raw[:i], unicode.IsSpace)
	}
	l.valEnd = vs + len(raw)
	if hasSurroundedQuote(raw, '\'') || hasSurroundedQuote(raw, '"') {
		raw = raw[1 : len(raw)-1]
	}
	l.value = raw
	return l, nil
}

// hasSurroundedQuote is ini.v1's: s is quoted with q and has no other q.
func hasSurroundedQuote(s string, q byte) bool {
	return len(s) >= 2 && s[0] == q && s[len(s)-1] == q && strings.IndexByte(s[1:], q) == len(s)-2
}

func isCommentOrEmpty(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || s[0] == '#' || s[0] == ';'
}

// Bytes returns the file.
func (d *Doc) Bytes() []byte {
	var b strings.Builder
	b.WriteString(d.bom)
	for _, l := range d.lines {
		b.WriteString(l.text)
		b.WriteString(l.term)
	}
	return []byte(b.String())
}

// sectionOf returns the section each line belongs to (headers belong to
// the section they open).
func (d *Doc) sectionOf() []string {
	out := make([]string, len(d.lines))
	cur := DefaultSection
	for i, l := range d.lines {
		if l.kind == lSection {
			cur = l.name
		}
		out[i] = cur
	}
	return out
}

// Sections returns the names of the sections in order of first appearance.
// DEFAULT is included when it has keys before the first header or an
// explicit [DEFAULT] header.
func (d *Doc) Sections() []string {
	var names []string
	seen := map[string]bool{}
	for i, sec := range d.sectionOf() {
		l := d.lines[i]
		if (l.kind == lSection || l.kind == lKey) && !seen[sec] {
			seen[sec] = true
			names = append(names, sec)
		}
	}
	return names
}

// SectionKeys returns the keys of a section in order of first appearance,
// each with its last value, and whether the section exists.
func (d *Doc) SectionKeys(name string) ([]KeyValue, bool) {
	var kvs []KeyValue
	index := map[string]int{}
	found := false
	for i, sec := range d.sectionOf() {
		l := d.lines[i]
		if sec != name || l.kind != lKey && l.kind != lSection {
			continue
		}
		found = true
		if l.kind != lKey {
			continue
		}
		if j, ok := index[l.name]; ok {
			kvs[j].Value = l.value
			continue
		}
		index[l.name] = len(kvs)
		kvs = append(kvs, KeyValue{l.name, l.value})
	}
	return kvs, found
}

// Section returns the keys and values of a section and whether it exists.
func (d *Doc) Section(name string) (map[string]string, bool) {
	kvs, ok := d.SectionKeys(name)
	if !ok {
		return nil, false
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m, true
}

// Get returns the value of key in section.
func (d *Doc) Get(section, key string) (string, bool) {
	m, _ := d.Section(section)
	v, ok := m[key]
	return v, ok
}

func validKey(key string) error {
	switch {
	case key == "" || key == "-":
		return errors.New("iniedit: invalid key name")
	case strings.TrimSpace(key) != key || strings.ContainsAny(key, "=:\r\n"):
		return errors.New("iniedit: a key name cannot have surrounding spaces, =, : or line breaks")
	case strings.ContainsRune("#;[\"`", rune(key[0])):
		return errors.New("iniedit: a key name cannot start with #, ;, [, \" or `")
	}
	return nil
}

// decodesTo reports whether text is a key line whose value reads as value.
func decodesTo(text, value string) bool {
	l, err := parseLine(text, "\n")
	return err == nil && l.kind == lKey && l.value == value
}

// encode returns the way to write value after "key = " that reads back as
// value.
func encode(value string) (string, error) {
	if strings.ContainsAny(value, "\r\n") {
		return "", errors.New("iniedit: values with line breaks are not supported")
	}
	// ini.v1 reads a `-quoted value verbatim up to the last ` on its line,
	// so the second form works for any value without line breaks.
	for _, enc := range []string{value, "`" + value + "`"} {
		if decodesTo("k = "+enc, value) {
			return enc, nil
		}
	}
	return "", errors.New("iniedit: this value cannot be written so that it reads back unchanged")
}

// Set sets key in section to value. Existing occurrences are changed in
// place, keeping the key's spelling, spacing and any inline comment. A new
// key goes after the last key of the section's last block (before
// trailing blank and comment lines), indented and spaced like that key.
// A missing section is appended at the end of the file after a blank line.
func (d *Doc) Set(section, key, value string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if section == "" || strings.ContainsAny(section, "\r\n") {
		return errors.New("iniedit: invalid section name")
	}
	enc, err := encode(value)
	if err != nil {
		return err
	}
	lines := make([]*line, len(d.lines))
	copy(lines, d.lines)
	secs := d.sectionOf()
	replaced := false
	for i, l := range lines {
		if secs[i] != section || l.kind != lKey || l.name != key {
			continue
		}
		text := l.text[:l.valStart] + enc + l.text[l.valEnd:]
		if !decodesTo(text, value) {
			text = l.text[:l.valStart] + enc // drop what followed the value
		}
		n := *l
		n.text = text
		lines[i] = &n
		replaced = true
	}
	if !replaced {
		if !d.lastLineStable() {
			return errLastLine
		}
		lines = d.insertKey(lines, secs, section, key, enc)
	}
	return d.commit(lines, section, key, value)
}

var errLastLine = errors.New(`iniedit: the last line has no line break and would read differently with one (a value of """); add a line break by hand`)

// lastLineStable reports whether giving the last line a terminator keeps
// its meaning. It does not for a value of exactly """, which ini.v1 reads
// as a multi-line value when a line break follows.
func (d *Doc) lastLineStable() bool {
	if len(d.lines) == 0 || d.lines[len(d.lines)-1].term != "" {
		return true
	}
	last := d.lines[len(d.lines)-1]
	l, err := parseLine(last.text, d.nl)
	return err == nil && l.kind == last.kind && l.name == last.name && l.value == last.value
}

// insertKey adds key = enc to section.
func (d *Doc) insertKey(lines []*line, secs []string, section, key, enc string) []*line {
	// The last block of the section: its header (or -1 for the implicit
	// DEFAULT block) and its last key line.
	at, style := -2, (*line)(nil)
	for i, l := range lines {
		if secs[i] != section {
			continue
		}
		switch {
		case l.kind == lSection:
			at = i
		case l.kind == lKey:
			at, style = i, l
		}
	}
	text := key + " = " + enc
	if style != nil {
		sep := style.text[style.keyEnd:style.valStart]
		if strings.ContainsAny(sep, "=:") {
			text = style.text[:style.keyStart] + key + sep + enc
		}
	}
	text = strings.TrimRightFunc(text, unicode.IsSpace)
	if at >= -1 {
		return insertLines(lines, at+1, d.nl, &line{text: text})
	}
	var add []*line
	if n := len(lines); n > 0 && lines[n-1].kind != lBlank {
		add = append(add, &line{})
	}
	add = append(add, &line{text: "[" + section + "]"}, &line{text: text})
	return insertLines(lines, len(lines), d.nl, add...)
}

// insertLines inserts add at p, giving every line but a final one that
// had none a terminator.
func insertLines(lines []*line, p int, nl string, add ...*line) []*line {
	for _, l := range add {
		l.term = nl
	}
	if p > 0 && lines[p-1].term == "" {
		n := *lines[p-1]
		n.term = nl
		lines[p-1] = &n
	}
	out := make([]*line, 0, len(lines)+len(add))
	out = append(out, lines[:p]...)
	out = append(out, add...)
	return append(out, lines[p:]...)
}

// commit re-parses lines and applies them if key reads back as value.
func (d *Doc) commit(lines []*line, section, key, value string) error {
	nd, err := Parse((&Doc{bom: d.bom, lines: lines}).Bytes())
	if err != nil {
		return fmt.Errorf("iniedit: refusing an edit that would not read back (%v)", err)
	}
	if got, ok := nd.Get(section, key); !ok || got != value {
		return errors.New("iniedit: refusing an edit that would not read back")
	}
	d.lines = nd.lines
	return nil
}

// Delete removes every occurrence of key from section and reports whether
// there was one.
func (d *Doc) Delete(section, key string) bool {
	secs := d.sectionOf()
	var lines []*line
	for i, l := range d.lines {
		if secs[i] == section && l.kind == lKey && l.name == key {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) == len(d.lines) {
		return false
	}
	d.lines = lines
	return true
}

// DeleteSection removes every block of a section: its header and lines up
// to its last key (comments after the last key stay, as they usually
// introduce the next section). For DEFAULT, the keys before the first
// header go too. It reports whether anything was removed.
func (d *Doc) DeleteSection(name string) bool {
	secs := d.sectionOf()
	type span struct{ from, to int }
	var spans []span
	for i := 0; i < len(d.lines); i++ {
		l := d.lines[i]
		switch {
		case l.kind == lSection && l.name == name:
			last := i
			for j := i + 1; j < len(d.lines) && d.lines[j].kind != lSection; j++ {
				if d.lines[j].kind == lKey {
					last = j
				}
			}
			spans = append(spans, span{i, last + 1})
			i = last
		case l.kind == lKey && secs[i] == name:
			spans = append(spans, span{i, i + 1}) // implicit DEFAULT keys
		}
	}
	if len(spans) == 0 {
		return false
	}
	lines := d.lines
	for k := len(spans) - 1; k >= 0; k-- {
		lines = removeLines(lines, spans[k].from, spans[k].to)
	}
	d.lines = lines
	return true
}

// removeLines removes lines[from:to] and then one of two blank lines left
// adjacent (or a blank line left at the start or end of the file).
func removeLines(lines []*line, from, to int) []*line {
	out := make([]*line, 0, len(lines)-(to-from))
	out = append(out, lines[:from]...)
	out = append(out, lines[to:]...)
	blank := func(i int) bool { return out[i].kind == lBlank }
	switch {
	case from > 0 && blank(from-1) && (from == len(out) || blank(from)):
		out = append(out[:from-1], out[from:]...)
	case from == 0 && len(out) > 0 && blank(0):
		out = out[1:]
	}
	return out
}
