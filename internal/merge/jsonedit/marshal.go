package jsonedit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Marshal encodes o with a two-space indent and a trailing newline, without
// HTML escaping. The output is deterministic: keys are written in the
// object's order.
//
// Marshal panics only on a programming error: a value of a type that
// encoding/json cannot encode, or a json.Number that is not a valid number.
func Marshal(o *Object) []byte {
	var b bytes.Buffer
	if o == nil {
		o = New()
	}
	writeValue(&b, o, "")
	b.WriteByte('\n')
	return b.Bytes()
}

const indentUnit = "  "

func writeValue(b *bytes.Buffer, v any, indent string) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case json.Number:
		if !validNumber(string(t)) {
			panic(fmt.Sprintf("jsonedit: invalid json.Number of length %d", len(t)))
		}
		b.WriteString(string(t))
	case string:
		writeString(b, t)
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		inner := indent + indentUnit
		b.WriteString("[\n")
		for i, e := range t {
			b.WriteString(inner)
			writeValue(b, e, inner)
			if i < len(t)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent)
		b.WriteByte(']')
	case *Object:
		if t == nil {
			b.WriteString("null")
			return
		}
		if t.Len() == 0 {
			b.WriteString("{}")
			return
		}
		inner := indent + indentUnit
		b.WriteString("{\n")
		for i, k := range t.keys {
			b.WriteString(inner)
			writeString(b, k)
			b.WriteString(": ")
			writeValue(b, t.vals[k], inner)
			if i < len(t.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent)
		b.WriteByte('}')
	default:
		writeForeign(b, v, indent)
	}
}

// writeForeign encodes a value outside the model with encoding/json.
func writeForeign(b *bytes.Buffer, v any, indent string) {
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("jsonedit: cannot encode a %T: %v", v, err))
	}
	if err := json.Indent(b, bytes.TrimRight(raw.Bytes(), "\n"), indent, indentUnit); err != nil {
		panic(fmt.Sprintf("jsonedit: cannot indent a %T: %v", v, err))
	}
}

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string the way JSON.stringify does: only
// the quote, the backslash and control characters are escaped. Invalid
// UTF-8 bytes become U+FFFD.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if c < 0x20 {
					b.WriteString(`\u00`)
					b.WriteByte(hexDigits[c>>4])
					b.WriteByte(hexDigits[c&0xf])
				} else {
					b.WriteByte(c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\ufffd`)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// validNumber reports whether s is a JSON number.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}
