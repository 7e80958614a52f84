package configurator

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/coda-cli/coda/internal/atomicfile"
)

// createdDirsFile, in Env.StateDir, lists the directories coda created to
// write a tool's file (~/.pi/agent, ~/.config/opencode/plugin, coda's own
// env/). When a remove deletes the last file in one, the directory goes
// too, and so on up while the parent is one coda created: a setup followed
// by a remove leaves the home directory as it was. A directory that was
// there before coda wrote into it is never on the list, so never removed.
// Plugins need do nothing: WriteChanges keeps the list.
const createdDirsFile = "created-dirs.json"

// createdDirs is createdDirsFile's content. It names directories only,
// never a file's content; best effort: a list that cannot be read or
// written costs an empty directory left behind, never a write.
type createdDirs struct {
	Version int      `json:"version"`
	Dirs    []string `json:"dirs"`

	path    string
	changed bool
}

func loadCreatedDirs(env Env) *createdDirs {
	if env.StateDir == "" {
		return &createdDirs{}
	}
	d := &createdDirs{path: filepath.Join(env.StateDir, createdDirsFile)}
	data, err := os.ReadFile(d.path)
	if err != nil {
		return d
	}
	var read createdDirs
	if json.Unmarshal(data, &read) == nil && read.Version == 1 {
		d.Dirs = read.Dirs
	}
	return d
}

// save writes the list back when it changed; an empty list removes the
// file, so a full remove leaves nothing of it.
func (d *createdDirs) save() {
	if d.path == "" || !d.changed {
		return
	}
	if len(d.Dirs) == 0 {
		_ = os.Remove(d.path)
		return
	}
	d.Version = 1
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return
	}
	_ = atomicfile.Write(d.path, append(data, '\n'), 0o600, nil)
}

// missing lists dir and those of its parents that do not exist, within
// env.Home or env.StateDir (never either of those), outermost first:
// the directories writing a file into dir creates.
func missing(env Env, dir string) []string {
	var out []string
	for dir = filepath.Clean(dir); removable(env, dir); dir = filepath.Dir(dir) {
		if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		out = append([]string{dir}, out...)
	}
	return out
}

// removable reports whether dir lies strictly inside env.Home or
// env.StateDir: the only directories coda records and removes.
func removable(env Env, dir string) bool {
	for _, root := range []string{env.Home, env.StateDir} {
		if root != "" && filepath.Clean(root) != dir && within(root, dir) {
			return true
		}
	}
	return false
}

// add records dirs as created by coda.
func (d *createdDirs) add(dirs []string) {
	for _, dir := range dirs {
		if !slices.Contains(d.Dirs, dir) {
			d.Dirs = append(d.Dirs, dir)
			d.changed = true
		}
	}
}

// prune removes dir, then its parents, while each is one coda created and
// is empty.
func (d *createdDirs) prune(env Env, dir string) {
	for dir = filepath.Clean(dir); removable(env, dir) && slices.Contains(d.Dirs, dir); dir = filepath.Dir(dir) {
		// os.Remove removes only an empty directory.
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
		d.Dirs = slices.DeleteFunc(d.Dirs, func(x string) bool { return x == dir })
		d.changed = true
	}
}
