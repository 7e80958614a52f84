package git

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/coda-cli/coda/internal/merge/iniedit"
	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// gitFile is one global config file, parsed.
type gitFile struct {
	path, shown string
	rank        int    // git reads files in rank order: a higher rank wins
	old         []byte // nil when missing
	doc         *iniedit.Doc
	// createdSection is set when set() added a [user] section.
	createdSection bool
}

// state is both global files and coda's record.
type state struct {
	files  []*gitFile // XDG first, then ~/.gitconfig: git's reading order
	rec    *record
	stored pluginkit.Sidecar // the record's file, as found
}

func load(env configurator.Env) (*state, error) {
	s := &state{}
	for rank, path := range []string{XDGConfig(env), HomeConfig(env)} {
		f := &gitFile{path: path, shown: pluginkit.Display(env, path), rank: rank}
		data, err := pluginkit.ReadOptional(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.shown, errors.Unwrap(err))
		}
		f.old = data
		if f.doc, err = iniedit.Parse(data); err != nil {
			return nil, pluginkit.Malformed(env, path, "is not a git config coda can edit", strings.TrimPrefix(err.Error(), "iniedit: "))
		}
		s.files = append(s.files, f)
	}
	var err error
	if s.rec, s.stored, err = loadRecord(env); err != nil {
		return nil, err
	}
	return s, nil
}

// file returns the loaded file at path, or nil.
func (s *state) file(path string) *gitFile {
	for _, f := range s.files {
		if f.path == path {
			return f
		}
	}
	return nil
}

// value is a key's value in one file (or, from effective, in git's view).
type value struct {
	set   bool
	value string
	// multi: the key appears more than once (git's multi-valued keys, or
	// the same key in two spellings or two [user] blocks).
	multi bool
	// section and key are the spellings in the file, for editing in place.
	section, key string
	file         *gitFile
}

// get finds section.key ("user.name") the way git does: section and key
// names compare case-insensitively. Subsections ([user "x"]) are other
// sections.
func (f *gitFile) get(dotted string) value {
	section, key, _ := strings.Cut(dotted, ".")
	v := value{file: f}
	n := 0
	for _, sec := range f.doc.Sections() {
		if !strings.EqualFold(sec, section) {
			continue
		}
		kvs, _ := f.doc.SectionKeys(sec)
		for _, kv := range kvs {
			if strings.EqualFold(kv.Key, key) {
				n += occurrences(f.doc, sec, kv.Key)
				v.set, v.value, v.section, v.key = true, kv.Value, sec, kv.Key
			}
		}
	}
	v.multi = n > 1
	return v
}

// occurrences counts the lines of key in section: iniedit reads a
// repeated key as one (the last value wins), git as several values.
func occurrences(doc *iniedit.Doc, section, key string) int {
	before := doc.Bytes()
	probe, err := iniedit.Parse(before)
	if err != nil {
		return 1
	}
	probe.Delete(section, key)
	return lineCount(before) - lineCount(probe.Bytes())
}

func lineCount(b []byte) int {
	s := string(b)
	n := strings.Count(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}

// set writes dotted = v: in place where cur found the key, else into the
// first [user] section (any spelling), else into a new [user] section.
func (f *gitFile) set(dotted string, cur value, v string) error {
	section, key, _ := strings.Cut(dotted, ".")
	if cur.set && cur.file == f {
		section, key = cur.section, cur.key
	} else {
		found := false
		for _, sec := range f.doc.Sections() {
			if strings.EqualFold(sec, section) {
				section, found = sec, true
				break
			}
		}
		if !found {
			f.createdSection = true
		}
	}
	if err := f.doc.Set(section, key, v); err != nil {
		return fmt.Errorf("%s: cannot set %s: %w", f.shown, dotted, err)
	}
	return nil
}

// change is the file's Change: a git config holds no secret, keeps its
// mode, and gets a .bak when it existed.
func (f *gitFile) change() configurator.Change {
	c := configurator.Change{Path: f.path, Old: f.old, New: f.doc.Bytes(), Perm: 0o644, Backup: f.old != nil}
	if f.old == nil && len(c.New) == 0 {
		c.New = nil // nothing to write into a file that does not exist
	}
	return c
}

// effective is the value git uses: ~/.gitconfig over the XDG file.
func (s *state) effective(dotted string) value {
	var eff value
	for _, f := range s.files {
		if v := f.get(dotted); v.set {
			eff = v
		}
	}
	return eff
}

// owned reports, per key, whether the value in the record's file is still
// the one coda set (once, not among several).
func (s *state) owned(rec *record) map[string]bool {
	out := map[string]bool{}
	f := s.file(rec.File)
	if f == nil {
		return out
	}
	for key, kr := range rec.Keys {
		if v := f.get(key); v.set && !v.multi && v.value == kr.Value {
			out[key] = true
		}
	}
	return out
}

// recordVersion is the version of the sidecar's JSON layout.
const recordVersion = 1

// record is what coda set, in StateDir/plugins/git.json.
type record struct {
	Version int `json:"version"`
	// File is the config file coda wrote into.
	File string `json:"file"`
	// CreatedFile and CreatedSection: coda made the file or its [user]
	// section, so remove deletes them once nothing else is in them.
	CreatedFile    bool                  `json:"created_file,omitempty"`
	CreatedSection bool                  `json:"created_section,omitempty"`
	Keys           map[string]*keyRecord `json:"keys"`
}

type keyRecord struct {
	// Value is what coda set.
	Value string `json:"value"`
	// Previous is the value --force replaced in File (absent: there was
	// none there).
	Previous *string `json:"previous,omitempty"`
}

// loadRecord reads the sidecar: rec is nil when there is none.
func loadRecord(env configurator.Env) (rec *record, stored pluginkit.Sidecar, err error) {
	if stored, err = pluginkit.LoadSidecar(env, "git"); err != nil || !stored.Exists() {
		return nil, stored, err
	}
	rec = &record{}
	if err := json.Unmarshal(stored.Raw, rec); err != nil || rec.Version != recordVersion || rec.Keys == nil {
		return nil, stored, fmt.Errorf("%s (coda's record of the git settings it made) is damaged: move it aside and check user.name and user.email by hand", stored.Path)
	}
	return rec, stored, nil
}

// sidecarChange writes rec, or deletes the sidecar when rec is nil or
// records nothing. The record holds no token: 0600, but not Secret.
func (s *state) sidecarChange(rec *record) (configurator.Change, error) {
	c := configurator.Change{Path: s.stored.Path, Old: s.stored.Raw, Perm: configurator.SecretPerm}
	if rec == nil || len(rec.Keys) == 0 {
		return c, nil
	}
	data, err := pluginkit.EncodeJSON(rec)
	if err != nil {
		return c, err
	}
	c.New = data
	return c, nil
}
