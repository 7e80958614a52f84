package docs

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// roff writes a man page in the man macros, escaping every text it is
// given: help text goes in verbatim, never interpreted as markup.
type roff struct {
	b strings.Builder
}

// raw writes one line of roff as is.
func (m *roff) raw(line string) { m.b.WriteString(line + "\n") }

func (m *roff) section(name string) { m.raw(".SH " + name) }

func (m *roff) subsection(name string) { m.raw(`.SS "` + escape(name) + `"`) }

// paragraph starts a new paragraph when sep (not right after a heading,
// where groff would add a blank line).
func (m *roff) paragraph(sep bool) {
	if sep {
		m.raw(".PP")
	}
}

// item starts a tagged paragraph; tag is roff already.
func (m *roff) item(tag string) {
	m.raw(".TP")
	m.raw(tag)
}

// text writes filled text: roff joins and wraps the lines itself.
func (m *roff) text(s string) {
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m.raw(protect(escape(line)))
		}
	}
}

// verbatim writes lines as they are, indented, without their common
// leading blanks: examples, and the aligned lists of help texts.
func (m *roff) verbatim(lines []string) {
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " \t")); indent < 0 || n < indent {
			indent = n
		}
	}
	m.raw(".RS 4")
	m.raw(".nf")
	for _, l := range lines {
		if len(l) >= indent && indent > 0 {
			l = l[indent:]
		}
		m.raw(protect(escape(strings.TrimRight(l, " \t"))))
	}
	m.raw(".fi")
	m.raw(".RE")
}

// help renders a command's help text: paragraphs split by blank lines;
// within one, indented lines (aligned lists, commands) stay as written
// and the others are filled.
func (m *roff) help(text string) {
	first := true
	for _, block := range strings.Split(text, "\n\n") {
		if strings.TrimSpace(block) == "" {
			continue
		}
		m.paragraph(!first)
		first = false
		lines := strings.Split(strings.Trim(block, "\n"), "\n")
		for len(lines) > 0 {
			indented := isIndented(lines[0])
			n := 1
			for n < len(lines) && isIndented(lines[n]) == indented {
				n++
			}
			if indented {
				m.verbatim(lines[:n])
			} else {
				m.text(strings.Join(lines[:n], "\n"))
			}
			lines = lines[n:]
		}
	}
}

func isIndented(line string) bool {
	return strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
}

// synopsis writes a usage line: the command in bold, the rest roman.
func (m *roff) synopsis(command, rest string) {
	m.raw(`\fB` + escape(command) + `\fR` + escape(rest))
}

// flag writes one option as a tagged paragraph, its usage and default.
func (m *roff) flag(fl *pflag.Flag) {
	varname, usage := pflag.UnquoteUsage(fl)
	tag := ""
	if fl.Shorthand != "" {
		tag = `\fB\-` + escape(fl.Shorthand) + `\fR, `
	}
	tag += `\fB\-\-` + escape(fl.Name) + `\fR`
	switch {
	case varname == "":
	case fl.NoOptDefVal != "":
		tag += `[=\fI` + escape(varname) + `\fR]`
	default:
		tag += ` \fI` + escape(varname) + `\fR`
	}
	m.item(tag)
	if def := defaultOf(fl); def != "" {
		usage += " (default " + def + ")"
	}
	m.text(usage)
}

// defaultOf is a flag's default as --help shows it, "" when it is the
// type's zero value.
func defaultOf(fl *pflag.Flag) string {
	switch fl.DefValue {
	case "", "false", "0", "0s", "[]":
		return ""
	}
	if fl.Value.Type() == "string" {
		return fmt.Sprintf("%q", fl.DefValue)
	}
	return fl.DefValue
}

// escape makes s literal text for roff: a backslash, a minus sign that
// must stay an ASCII hyphen-minus (flags are copied from man pages),
// quotes that groff would curl, and non-ASCII runes as named glyphs so
// the page does not depend on the input encoding groff assumes.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\(rs`)
		case r == '-':
			b.WriteString(`\-`)
		case r == '\'':
			b.WriteString(`\(aq`)
		case r == '`':
			b.WriteString(`\(ga`)
		case r == '"':
			b.WriteString(`\(dq`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// protect keeps a text line that starts with a dot (.bak) from being read
// as a request.
func protect(line string) string {
	if strings.HasPrefix(line, ".") {
		return `\&` + line
	}
	return line
}
