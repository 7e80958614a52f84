package databricks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/coda-cli/coda/internal/plugins/pluginkit"
	"github.com/coda-cli/coda/pkg/configurator"
)

// sidecarVersion is the version of the sidecar's JSON layout.
const sidecarVersion = 1

// keepHashes is how many of the tokens coda last wrote a section remembers:
// the newest and the one before, so a rotation whose config write failed
// after the sidecar was written still finds coda's token in the file.
const keepHashes = 2

// sidecar is what coda remembers about the profiles it wrote, in
// StateDir/plugins/databricks.json: which sections are coda's, the host it
// wrote, hashes of the tokens it wrote (never the tokens), and the values
// of keys it overwrote in a section it adopted.
type sidecar struct {
	Version  int      `json:"version"`
	Sections []*entry `json:"sections"`
}

type entry struct {
	// File is the absolute path of the config file.
	File string `json:"file"`
	// Section is the profile name in it.
	Section string `json:"section"`
	// CodaProfile is the coda profile whose token the section holds.
	CodaProfile string `json:"coda_profile"`
	// CreatedFile and CreatedSection say coda made them, so remove may
	// delete them once nothing else is left in them.
	CreatedFile    bool `json:"created_file,omitempty"`
	CreatedSection bool `json:"created_section,omitempty"`
	// Host is the host coda last wrote, normalised.
	Host string `json:"host"`
	// TokenSHA256 are the hex SHA-256 sums of the tokens coda last wrote,
	// newest first.
	TokenSHA256 []string `json:"token_sha256,omitempty"`
	// Originals are the values keys of an adopted section had before coda
	// set them; a key coda added is not listed.
	Originals map[string]string `json:"originals,omitempty"`
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wrote reports whether token is one coda wrote into the section.
// Rotations write the token through coda's sink alone, so the current
// token (the target's) counts as coda's too: callers check both.
func (e *entry) wrote(token string) bool {
	return slices.Contains(e.TokenSHA256, hashToken(token))
}

// remember records token as the newest coda wrote.
func (e *entry) remember(token string) {
	if token == "" {
		return
	}
	h := hashToken(token)
	hashes := []string{h}
	for _, old := range e.TokenSHA256 {
		if old != h && len(hashes) < keepHashes {
			hashes = append(hashes, old)
		}
	}
	e.TokenSHA256 = hashes
}

// loadSidecar reads the sidecar; a missing one is empty. stored is the
// file as found, whose change writes it back.
func loadSidecar(env configurator.Env) (sc *sidecar, stored pluginkit.Sidecar, err error) {
	if stored, err = pluginkit.LoadSidecar(env, "databricks"); err != nil {
		return nil, stored, err
	}
	if !stored.Exists() {
		return &sidecar{Version: sidecarVersion}, stored, nil
	}
	sc = &sidecar{}
	if err := json.Unmarshal(stored.Raw, sc); err != nil || sc.Version != sidecarVersion {
		return nil, stored, fmt.Errorf("%s (coda's record of the profiles it wrote) is damaged: move it aside and check ~/.databrickscfg by hand", stored.Path)
	}
	return sc, stored, nil
}

func (sc *sidecar) find(file, section string) *entry {
	for _, e := range sc.Sections {
		if e.File == file && e.Section == section {
			return e
		}
	}
	return nil
}

// createdFile reports whether coda created file for one of its sections:
// then every section coda adds to it may delete it once it is empty.
func (sc *sidecar) createdFile(file string) bool {
	for _, e := range sc.Sections {
		if e.File == file && e.CreatedFile {
			return true
		}
	}
	return false
}

func (sc *sidecar) put(e *entry) {
	if sc.find(e.File, e.Section) == nil {
		sc.Sections = append(sc.Sections, e)
	}
}

func (sc *sidecar) drop(e *entry) {
	sc.Sections = slices.DeleteFunc(sc.Sections, func(x *entry) bool { return x == e })
}

// change is the Change that writes sc over stored: written 0600 (it lives
// in coda's state dir next to secrets) and deleted when it records
// nothing.
func (sc *sidecar) change(stored pluginkit.Sidecar) (configurator.Change, error) {
	if len(sc.Sections) == 0 {
		return stored.Remove(), nil
	}
	data, err := pluginkit.EncodeJSON(sc)
	if err != nil {
		return configurator.Change{}, err
	}
	return stored.Write(data), nil
}
