package jsonedit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tailscale/hujson"
)

// doc is one document: hujson's syntax tree and how to lay out new content.
type doc struct {
	root   hujson.Value
	unit   string // one level of indentation
	nl     string // line break
	trimNL bool   // Parse added the final newline, Marshal takes it off
	bare   []byte // the file, when it held comments only
	inline bool   // the file is all on one line: so is what coda adds
}

// Object is a JSON object in a document: its root, or an object nested
// under it, found by its keys each time it is used. Changes go to the
// document; an Object taken from a value that is later replaced or
// deleted no longer finds anything.
type Object struct {
	d    *doc
	path []string
}

// New returns an empty document.
func New() *Object {
	return &Object{d: &doc{root: hujson.Value{Value: &hujson.Object{}, AfterExtra: hujson.Extra("\n")}, unit: defaultUnit, nl: "\n"}}
}

// Clone returns a copy of o's whole document, at o's place in it.
func (o *Object) Clone() *Object {
	d := *o.d
	// Not hujson's Clone, which loses trailing commas: the tree parsed
	// again from its own bytes.
	root, err := hujson.Parse(o.d.root.Pack())
	if err != nil {
		panic("jsonedit: cannot parse a packed tree: " + err.Error())
	}
	d.root = root
	return &Object{d: &d, path: slices.Clone(o.path)}
}

// node finds o's object in the syntax tree and the indentation of the line
// it starts on. The pointer is good until the next change.
func (o *Object) node() (*hujson.Object, string, bool) {
	v := &o.d.root
	indent := lineIndent(v.BeforeExtra, "")
	for _, k := range o.path {
		obj, ok := v.Value.(*hujson.Object)
		if !ok {
			return nil, "", false
		}
		i := lookup(obj, k)
		if i < 0 {
			return nil, "", false
		}
		indent = lineIndent(obj.Members[i].Name.BeforeExtra, indent)
		v = &obj.Members[i].Value
	}
	obj, ok := v.Value.(*hujson.Object)
	return obj, indent, ok
}

func name(m *hujson.ObjectMember) string {
	lit := m.Name.Value.(hujson.Literal)
	if raw := lit[1 : len(lit)-1]; bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw)
	}
	return lit.String()
}

// lookup is the index of the member named key that JSON.parse keeps (the
// last), or -1.
func lookup(obj *hujson.Object, key string) int {
	for i := len(obj.Members) - 1; i >= 0; i-- {
		if name(&obj.Members[i]) == key {
			return i
		}
	}
	return -1
}

// Len reports the number of keys.
func (o *Object) Len() int { return len(o.Keys()) }

// Keys returns the keys in document order (a duplicate where it first
// appears).
func (o *Object) Keys() []string {
	obj, _, ok := o.node()
	if !ok {
		return nil
	}
	keys, _ := members(obj)
	return keys
}

// Get returns the value stored under key.
func (o *Object) Get(key string) (any, bool) {
	obj, _, ok := o.node()
	if !ok {
		return nil, false
	}
	i := lookup(obj, key)
	if i < 0 {
		return nil, false
	}
	v := obj.Members[i].Value
	if _, isObj := v.Value.(*hujson.Object); isObj {
		return &Object{d: o.d, path: append(slices.Clone(o.path), key)}, true
	}
	return decode(v), true
}

// decode turns a value other than an object in the tree into the model's
// types; an object inside an array becomes a document of its own.
func decode(v hujson.Value) any {
	switch t := v.Value.(type) {
	case hujson.Literal:
		switch t.Kind() {
		case 'n':
			return nil
		case 't', 'f':
			return t.Bool()
		case '"':
			return t.String()
		}
		return json.Number(t)
	case *hujson.Array:
		out := make([]any, len(t.Elements))
		for i, e := range t.Elements {
			out[i] = decode(e)
		}
		return out
	}
	return &Object{d: &doc{root: hujson.Value{Value: v.Clone().Value}, unit: defaultUnit, nl: "\n"}}
}

// patch applies one RFC 6902 operation at path; value is JSON text.
func (d *doc) patch(op string, path []string, value []byte) {
	var ptr strings.Builder
	for _, k := range path {
		ptr.WriteString(quoteKey(k))
	}
	b := append([]byte(`[{"op":`), hujson.String(op)...)
	b = append(b, `,"path":`...)
	b = append(b, hujson.String(ptr.String())...)
	if value != nil {
		b = append(b, `,"value":`...)
		b = append(b, value...)
	}
	b = append(b, "}]"...)
	if err := d.root.Patch(b); err != nil {
		panic("jsonedit: " + err.Error()) // the path was checked: a bug
	}
}

// dedupe drops the members that JSON.parse ignores (all but the last of
// duplicate names, with their comments) along o's path and under key, so
// that a JSON Pointer, which takes the first, finds the member that counts.
func (o *Object) dedupe(key string) {
	keys := append(slices.Clone(o.path), key)
	for i := range keys {
		obj, _, ok := (&Object{d: o.d, path: keys[:i]}).node()
		if !ok {
			return
		}
		last := lookup(obj, keys[i])
		kept := make([]hujson.ObjectMember, 0, len(obj.Members))
		for j := range obj.Members {
			if j >= last || name(&obj.Members[j]) != keys[i] {
				kept = append(kept, obj.Members[j])
			}
		}
		if len(kept) < len(obj.Members) {
			if first := obj.Members[0].Name.BeforeExtra; isBlank(first) && isBlank(kept[0].Name.BeforeExtra) {
				kept[0].Name.BeforeExtra = first
			}
			obj.Members = kept
		}
	}
}

// Set stores value under key: in place when key is present (a value equal
// to the one there changes nothing), else as a new last member. value is
// nil, a bool, a json.Number, a string, an *Object (copied), a []any of
// these, or an int.
func (o *Object) Set(key string, value any) {
	v := normalize(value)
	if cur, ok := o.Get(key); ok && Equal(cur, v) {
		return
	}
	o.dedupe(key)
	obj, indent, ok := o.node()
	if !ok {
		panic("jsonedit: Set on an object that is no longer in its document")
	}
	path := append(slices.Clone(o.path), key)
	multi := multiline(obj) && (len(obj.Members) > 0 || !o.d.inline)
	if i := lookup(obj, key); i >= 0 {
		at := lineIndent(obj.Members[i].Name.BeforeExtra, indent)
		o.d.patch("replace", path, o.d.encode(nil, v, at, !multi))
		return
	}

	n := len(obj.Members)
	at, before, sep := indent+o.d.unit, " ", " "
	if n > 0 {
		last := &obj.Members[n-1]
		at = lineIndent(last.Name.BeforeExtra, at)
		if isBlank(last.Value.BeforeExtra) && !strings.Contains(string(last.Value.BeforeExtra), "\n") {
			sep = string(last.Value.BeforeExtra)
		}
		// On one line: spaced after the comma as the last member is, or
		// as after the colon.
		before = sep
		if n > 1 && isBlank(last.Name.BeforeExtra) {
			before = string(last.Name.BeforeExtra)
		}
	} else if !multi {
		before = ""
	}
	// A comment on the last member's line stays on it.
	comma := trailing(obj)
	head, closing := sameLine(obj.AfterExtra)
	obj.AfterExtra = closing
	o.d.patch("add", path, o.d.encode(nil, v, at, !multi))

	obj, _, _ = o.node()
	m := &obj.Members[n]
	if len(m.Name.BeforeExtra) == 0 { // else hujson moved a comment here
		obj.AfterExtra = closing
	}
	moved := string(head) + string(m.Name.BeforeExtra)
	switch {
	case moved == "":
		if multi {
			before = o.d.nl + at
		}
	case multi && strings.HasSuffix(moved, "\n"):
		before = moved + at
	case multi:
		before = moved + o.d.nl + at
	default:
		before = moved + " "
	}
	m.Name.BeforeExtra = o.d.lines(before)
	m.Value.BeforeExtra = hujson.Extra(sep)
	obj.AfterExtra = o.d.lines(string(obj.AfterExtra))
	if n == 0 && multi && isBlank(obj.AfterExtra) {
		obj.AfterExtra = hujson.Extra(o.d.nl + indent)
	}
	if comma {
		setTrailing(obj)
	}
}

// sameLine splits off the comments at the start of an extra that end the
// line of what precedes it (a value, or the opening brace), with their line
// break; rest keeps the line break too.
func sameLine(e hujson.Extra) (head, rest hujson.Extra) {
	i := bytes.IndexByte(e, '\n')
	if i < 0 || isBlank(e[:i]) || !e[:i+1].IsValid() {
		return nil, slices.Clone(e)
	}
	return slices.Clone(e[:i+1]), slices.Clone(e[i:])
}

// lines gives the line breaks of an extra hujson rearranged the file's
// own: hujson splits comments from what follows at "\n".
func (d *doc) lines(e string) hujson.Extra {
	if d.nl == "\r\n" {
		e = strings.ReplaceAll(strings.ReplaceAll(e, "\r\n", "\n"), "\n", "\r\n")
	}
	return hujson.Extra(e)
}

// multiline reports whether obj has its members on lines of their own (an
// empty object is opened up).
func multiline(obj *hujson.Object) bool {
	if len(obj.Members) == 0 {
		return true
	}
	for i := range obj.Members {
		if strings.Contains(string(obj.Members[i].Name.BeforeExtra), "\n") {
			return true
		}
	}
	return strings.Contains(string(obj.AfterExtra), "\n")
}

// trailing reports whether obj ends with a trailing comma (JWCC).
func trailing(obj *hujson.Object) bool {
	n := len(obj.Members)
	return n > 0 && obj.Members[n-1].Value.AfterExtra != nil
}

func setTrailing(obj *hujson.Object) {
	if n := len(obj.Members); n > 0 && obj.Members[n-1].Value.AfterExtra == nil {
		obj.Members[n-1].Value.AfterExtra = hujson.Extra{}
	}
}

// Delete removes key (every duplicate of it) and reports whether it was
// present. Comments on the lines just above the member and after it on its
// line go with it, as hujson reads them as the member's.
func (o *Object) Delete(key string) bool {
	if _, ok := o.Get(key); !ok {
		return false
	}
	o.dedupe(key)
	o.removeFirst(key)
	return true
}

// removeFirst removes the first member named key, keeping the layout
// around it.
func (o *Object) removeFirst(key string) {
	obj, _, _ := o.node()
	i, n := slices.IndexFunc(obj.Members, func(m hujson.ObjectMember) bool { return name(&m) == key }), len(obj.Members)
	// The comments ending the line before the member stay; those ending
	// its own line go with it.
	head, rest := sameLine(obj.Members[i].Name.BeforeExtra)
	obj.Members[i].Name.BeforeExtra = rest
	next := &obj.AfterExtra
	if i < n-1 {
		next = &obj.Members[i+1].Name.BeforeExtra
	}
	_, *next = sameLine(*next)
	comma := trailing(obj)
	first := slices.Clone(obj.Members[0].Name.BeforeExtra)
	closing := slices.Clone(obj.AfterExtra)
	o.d.patch("remove", append(slices.Clone(o.path), key), nil)

	obj, _, _ = o.node()
	if i == 0 && n > 1 && isBlank(first) && isBlank(obj.Members[0].Name.BeforeExtra) {
		obj.Members[0].Name.BeforeExtra = first
	}
	if i < n-1 {
		obj.Members[i].Name.BeforeExtra = o.d.lines(string(obj.Members[i].Name.BeforeExtra))
	} else {
		obj.AfterExtra = o.d.lines(string(keepClosingIndent(obj.AfterExtra, closing)))
	}
	if head != nil {
		next = &obj.AfterExtra
		if i < n-1 {
			next = &obj.Members[i].Name.BeforeExtra
		}
		if bytes.HasPrefix(*next, []byte("\n")) || bytes.HasPrefix(*next, []byte("\r\n")) {
			head = bytes.TrimRight(head, "\r\n")
		}
		*next = append(head, *next...)
	}
	if len(obj.Members) == 0 && isBlank(obj.AfterExtra) {
		obj.AfterExtra = nil
	}
	if comma {
		setTrailing(obj)
	}
}

// keepClosingIndent gives the closing brace, when it is on a line of its
// own, the indentation it had before: hujson moves the removed member's
// indentation there when a comment precedes it.
func keepClosingIndent(after, before hujson.Extra) hujson.Extra {
	ia, ib := strings.LastIndex(string(after), "\n"), strings.LastIndex(string(before), "\n")
	if ia < 0 || ib < 0 || !isBlank(after[ia:]) || !isBlank(before[ib:]) {
		return after
	}
	return append(append(hujson.Extra{}, after[:ia]...), before[ib:]...)
}

// GetPath follows path through nested objects and returns the value at its
// end. An empty path returns o itself.
func (o *Object) GetPath(path ...string) (any, bool) {
	var cur any = o
	for _, k := range path {
		obj, ok := cur.(*Object)
		if !ok {
			return nil, false
		}
		if cur, ok = obj.Get(k); !ok {
			return nil, false
		}
	}
	return cur, true
}

// SetPath stores value at path, creating missing objects on the way. It
// fails, changing nothing, if a value on the way is not an object.
func (o *Object) SetPath(value any, path ...string) error {
	if len(path) == 0 {
		return fmt.Errorf("jsonedit: SetPath needs a non-empty path")
	}
	cur := o
	for i, k := range path[:len(path)-1] {
		v, ok := cur.Get(k)
		if !ok {
			// The rest of the path is new: one nested value.
			for j := len(path) - 1; j > i; j-- {
				inner := New()
				inner.Set(path[j], value)
				value = inner
			}
			cur.Set(k, value)
			return nil
		}
		next, ok := v.(*Object)
		if !ok {
			return fmt.Errorf("jsonedit: cannot set %s: %s is %s, not an object",
				strings.Join(path, "."), strings.Join(path[:i+1], "."), kindOf(v))
		}
		cur = next
	}
	cur.Set(path[len(path)-1], value)
	return nil
}

// DeletePath removes the value at path and reports whether it was present.
// Objects on the way are kept even when they become empty.
func (o *Object) DeletePath(path ...string) bool {
	if len(path) == 0 {
		return false
	}
	parent, _ := o.GetPath(path[:len(path)-1]...)
	obj, ok := parent.(*Object)
	return ok && obj.Delete(path[len(path)-1])
}

// DeletePathPrune is DeletePath that also removes the objects on the way
// that the deletion left empty, innermost first.
func (o *Object) DeletePathPrune(path ...string) bool {
	if !o.DeletePath(path...) {
		return false
	}
	for i := len(path) - 1; i > 0; i-- {
		v, _ := o.GetPath(path[:i]...)
		if obj, ok := v.(*Object); !ok || obj.Len() != 0 {
			break
		}
		parent, _ := o.GetPath(path[:i-1]...)
		parent.(*Object).Delete(path[i-1])
	}
	return true
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case *Object:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
