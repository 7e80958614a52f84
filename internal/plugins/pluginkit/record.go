package pluginkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// RecordVersion is the layout of Record. Version 1 was each plugin's own
// layout, which LoadRecord still reads through RecordFormat.Legacy.
const RecordVersion = 2

// Record is what every plugin keeps in its sidecar: for each user file it
// changed, whether coda created the file, the objects or sections coda
// created in it, and the original values of the keys coda owns there, so
// that remove restores them exactly.
//
//	{
//	  "version": 2,
//	  "files": [
//	    {
//	      "path": "/home/u/.codex/config.toml",
//	      "created": false,
//	      "keys": [
//	        {"key": ["model"], "original": "\"o3\""},
//	        {"key": ["model_provider"]}
//	      ]
//	    }
//	  ]
//	}
//
// It may hold a user's own token: it is written 0600 and never shown.
type Record struct {
	Version int `json:"version"`
	// Facts are the few facts a plugin keeps beside the files (OpenCode:
	// the profile and token file it was set up for).
	Facts map[string]string `json:"facts,omitempty"`
	Files []*FileRecord     `json:"files"`
}

// Key is the path of a key in a file: ["env", "ANTHROPIC_MODEL"] in a
// JSON file, [section, key] in an INI file, [key] at a TOML root.
type Key []string

// FileRecord is what coda knows of one user file.
type FileRecord struct {
	// Path is the file's absolute path.
	Path string `json:"path"`
	// Created: coda created the file, so remove deletes it once nothing
	// else is left in it.
	Created bool            `json:"created"`
	Parents []*ParentRecord `json:"parents,omitempty"`
	Keys    []*KeyRecord    `json:"keys,omitempty"`
}

// ParentRecord is an object (JSON) or a section (INI) holding keys coda
// owns.
type ParentRecord struct {
	Key Key `json:"key"`
	// Created: coda created it, so remove deletes it once it is empty.
	Created bool `json:"created"`
	// Facts are a plugin's facts about it (databricks: the coda profile
	// whose token the section holds, hashes of the tokens coda wrote).
	Facts map[string]string `json:"facts,omitempty"`
}

// KeyRecord is a key coda owns.
type KeyRecord struct {
	Key Key `json:"key"`
	// Original is the value before coda set the key, as the plugin spells
	// it (JSON text, a TOML literal, an INI or .env value); nil: the key
	// was absent.
	Original *string `json:"original,omitempty"`
	// Wrote is the value coda wrote, for a plugin that tells its own value
	// from a user's later edit by it ("": not kept).
	Wrote string `json:"wrote,omitempty"`
}

// NewRecord returns an empty record.
func NewRecord() *Record { return &Record{Version: RecordVersion} }

// Empty reports whether r records nothing (nil records nothing).
func (r *Record) Empty() bool { return r == nil || len(r.Files) == 0 && len(r.Facts) == 0 }

// Fact returns a plugin fact, "" when r has none.
func (r *Record) Fact(name string) string {
	if r == nil {
		return ""
	}
	return r.Facts[name]
}

// SetFact keeps a plugin fact.
func (r *Record) SetFact(name, value string) {
	if r.Facts == nil {
		r.Facts = map[string]string{}
	}
	r.Facts[name] = value
}

// File returns the record of the file at path, or nil (also when r is nil).
func (r *Record) File(path string) *FileRecord {
	if r == nil {
		return nil
	}
	for _, f := range r.Files {
		if f.Path == path {
			return f
		}
	}
	return nil
}

// AddFile starts the record of the file at path, replacing any.
func (r *Record) AddFile(path string, created bool) *FileRecord {
	f := &FileRecord{Path: path, Created: created}
	if i := slices.IndexFunc(r.Files, func(x *FileRecord) bool { return x.Path == path }); i >= 0 {
		r.Files[i] = f
	} else {
		r.Files = append(r.Files, f)
	}
	return f
}

// DropFile forgets the file at path.
func (r *Record) DropFile(path string) {
	r.Files = slices.DeleteFunc(r.Files, func(f *FileRecord) bool { return f.Path == path })
}

// Key returns the record of a key, or nil (also when f is nil).
func (f *FileRecord) Key(key ...string) *KeyRecord {
	if f == nil {
		return nil
	}
	for _, k := range f.Keys {
		if slices.Equal(k.Key, key) {
			return k
		}
	}
	return nil
}

// Keep records a key's original: value when present, else that it was
// absent. It replaces an earlier record of the key, in its place.
func (f *FileRecord) Keep(key Key, value string, present bool) *KeyRecord {
	k := &KeyRecord{Key: slices.Clone(key)}
	if present {
		k.Original = &value
	}
	if i := slices.IndexFunc(f.Keys, func(x *KeyRecord) bool { return slices.Equal(x.Key, key) }); i >= 0 {
		f.Keys[i] = k
	} else {
		f.Keys = append(f.Keys, k)
	}
	return k
}

// Original returns a key's original value; false when it was absent or
// is not recorded.
func (f *FileRecord) Original(key ...string) (string, bool) {
	if k := f.Key(key...); k != nil && k.Original != nil {
		return *k.Original, true
	}
	return "", false
}

// Parent returns the record of an object or section, or nil (also when f
// is nil).
func (f *FileRecord) Parent(key ...string) *ParentRecord {
	if f == nil {
		return nil
	}
	for _, p := range f.Parents {
		if slices.Equal(p.Key, key) {
			return p
		}
	}
	return nil
}

// AddParent records an object or section, replacing an earlier record of
// it.
func (f *FileRecord) AddParent(key Key, created bool) *ParentRecord {
	f.Drop(key)
	p := &ParentRecord{Key: slices.Clone(key), Created: created}
	f.Parents = append(f.Parents, p)
	return p
}

// Drop forgets an object or section and every key below it.
func (f *FileRecord) Drop(key Key) {
	f.Parents = slices.DeleteFunc(f.Parents, func(p *ParentRecord) bool { return slices.Equal(p.Key, key) })
	f.Keys = slices.DeleteFunc(f.Keys, func(k *KeyRecord) bool {
		return len(k.Key) > len(key) && slices.Equal(k.Key[:len(key)], key)
	})
}

// SetFact keeps a plugin's fact about the object or section.
func (p *ParentRecord) SetFact(name, value string) {
	if p.Facts == nil {
		p.Facts = map[string]string{}
	}
	p.Facts[name] = value
}

// check refuses a record that no plugin could use: another version, a
// file without a path, an empty key.
func (r *Record) check() error {
	if r.Version != RecordVersion {
		return fmt.Errorf("unknown version %d", r.Version)
	}
	for _, f := range r.Files {
		if f == nil || f.Path == "" {
			return errors.New("a file without a path")
		}
		for _, p := range f.Parents {
			if p == nil || len(p.Key) == 0 {
				return fmt.Errorf("an empty key in the record of %s", f.Path)
			}
		}
		for _, k := range f.Keys {
			if k == nil || len(k.Key) == 0 {
				return fmt.Errorf("an empty key in the record of %s", f.Path)
			}
		}
	}
	return nil
}

// encode is the record as coda writes it: two-space indented down to each
// parent and key record, which takes one line.
func (r *Record) encode() []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(r); err != nil {
		panic("pluginkit: a record does not encode: " + err.Error()) // strings and bools always do
	}
	return layout(bytes.TrimSpace(b.Bytes()), 4)
}

// layout indents compact JSON by two spaces for the first levels of
// nesting and writes deeper values on one line, spaced.
func layout(compact []byte, levels int) []byte {
	var b bytes.Buffer
	depth, inString, escaped := 0, false, false
	newline := func(d int) { b.WriteString("\n" + strings.Repeat("  ", d)) }
	for i, c := range compact {
		if inString {
			b.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			b.WriteByte(c)
		case '{', '[':
			depth++
			b.WriteByte(c)
			if depth <= levels && i+1 < len(compact) && compact[i+1] != '}' && compact[i+1] != ']' {
				newline(depth)
			}
		case '}', ']':
			if depth <= levels && compact[i-1] != '{' && compact[i-1] != '[' {
				newline(depth - 1)
			}
			depth--
			b.WriteByte(c)
		case ',':
			b.WriteByte(c)
			if depth <= levels {
				newline(depth)
			} else {
				b.WriteByte(' ')
			}
		case ':':
			b.WriteString(": ")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\n')
	return b.Bytes()
}
