package jsonedit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tailscale/hujson"
)

// Marshal returns the document o is the root of: the parsed bytes with
// the changes made since, or for a new document two-space indented JSON
// with a trailing newline. A nested object is encoded on its own that way.
func Marshal(o *Object) []byte {
	if o == nil {
		o = New()
	}
	if len(o.path) > 0 {
		return append(encode(nil, o, "", defaultUnit, "\n", false), '\n')
	}
	if o.d.bare != nil && len(o.d.root.Value.(*hujson.Object).Members) == 0 {
		return bytes.Clone(o.d.bare)
	}
	out := o.d.root.Pack()
	if o.d.trimNL {
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	return out
}

// Equal reports whether two values encode alike: the same keys in the same
// order, numbers with the same text, whatever the layout and comments.
func Equal(a, b any) bool {
	return bytes.Equal(encode(nil, normalize(a), "", defaultUnit, "\n", false), encode(nil, normalize(b), "", defaultUnit, "\n", false))
}

// encode appends v (of the model's types) as JSON text at the indentation
// indent: members and elements one a line, or all on one line when inline.
func (d *doc) encode(b []byte, v any, indent string, inline bool) []byte {
	return encode(b, v, indent, d.unit, d.nl, inline)
}

func encode(b []byte, v any, indent, unit, nl string, inline bool) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return append(b, hujson.Bool(t)...)
	case json.Number:
		if hujson.Literal(t).Kind() != '0' || !hujson.Literal(t).IsValid() {
			panic(fmt.Sprintf("jsonedit: invalid json.Number of length %d", len(t)))
		}
		return append(b, t...)
	case string:
		return append(b, hujson.String(t)...)
	case []any:
		return list(b, '[', ']', len(t), indent, unit, nl, inline, func(b []byte, i int, in string) []byte {
			return encode(b, t[i], in, unit, nl, inline)
		})
	case *Object:
		obj, _, ok := t.node()
		if !ok {
			panic("jsonedit: encoding an object that is no longer in its document")
		}
		return tree(b, hujson.Value{Value: obj}, indent, unit, nl, inline)
	}
	panic(fmt.Sprintf("jsonedit: cannot encode a %T", v))
}

// tree encodes a value of the syntax tree the way encode does: comments
// and layout dropped, strings re-escaped, duplicate keys read as JSON.parse
// reads them.
func tree(b []byte, v hujson.Value, indent, unit, nl string, inline bool) []byte {
	switch t := v.Value.(type) {
	case hujson.Literal:
		if t.Kind() == '"' {
			return append(b, hujson.String(t.String())...)
		}
		return append(b, t...)
	case *hujson.Array:
		return list(b, '[', ']', len(t.Elements), indent, unit, nl, inline, func(b []byte, i int, in string) []byte {
			return tree(b, t.Elements[i], in, unit, nl, inline)
		})
	}
	keys, vals := members(v.Value.(*hujson.Object))
	return list(b, '{', '}', len(keys), indent, unit, nl, inline, func(b []byte, i int, in string) []byte {
		b = append(b, hujson.String(keys[i])...)
		b = append(b, ": "...)
		return tree(b, *vals[keys[i]], in, unit, nl, inline)
	})
}

// list encodes n members or elements between open and close.
func list(b []byte, open, close byte, n int, indent, unit, nl string, inline bool, item func([]byte, int, string) []byte) []byte {
	b = append(b, open)
	for i := range n {
		switch {
		case inline && i > 0:
			b = append(b, ", "...)
		case !inline:
			if i > 0 {
				b = append(b, ',')
			}
			b = append(append(b, nl...), indent+unit...)
		}
		b = item(b, i, indent+unit)
	}
	if n > 0 && !inline {
		b = append(append(b, nl...), indent...)
	}
	return append(b, close)
}

// members lists obj's keys in document order, each with the value
// JSON.parse keeps (the last of duplicates).
func members(obj *hujson.Object) ([]string, map[string]*hujson.Value) {
	keys := make([]string, 0, len(obj.Members))
	vals := make(map[string]*hujson.Value, len(obj.Members))
	for i := range obj.Members {
		k := name(&obj.Members[i])
		if _, dup := vals[k]; !dup {
			keys = append(keys, k)
		}
		vals[k] = &obj.Members[i].Value
	}
	return keys, vals
}

// normalize converts the Go values Set accepts into the model's types.
func normalize(v any) any {
	switch t := v.(type) {
	case nil, bool, json.Number, string, *Object:
		return v
	case int:
		return json.Number(strconv.Itoa(t))
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalize(e)
		}
		return out
	}
	panic(fmt.Sprintf("jsonedit: cannot store a %T", v))
}
