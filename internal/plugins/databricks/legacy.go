package databricks

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/coda-cli/coda/internal/plugins/pluginkit"
)

// legacyRecord reads the sidecar of coda before pluginkit.Record, version 1:
//
//	{"version": 1, "sections": [{"file": "/home/u/.databrickscfg", "section": "DEFAULT",
//	  "coda_profile": "default", "created_file": true, "created_section": true,
//	  "host": "https://x.cloud.databricks.com", "token_sha256": ["..."],
//	  "originals": {"host": "..."}}]}
//
// A key missing from "originals" was absent.
func legacyRecord(raw []byte) (*pluginkit.Record, error) {
	var v1 struct {
		Sections []struct {
			File           string            `json:"file"`
			Section        string            `json:"section"`
			CodaProfile    string            `json:"coda_profile"`
			CreatedFile    bool              `json:"created_file"`
			CreatedSection bool              `json:"created_section"`
			Host           string            `json:"host"`
			TokenSHA256    []string          `json:"token_sha256"`
			Originals      map[string]string `json:"originals"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(raw, &v1); err != nil {
		return nil, errors.New("not a record")
	}
	rec := pluginkit.NewRecord()
	for _, s := range v1.Sections {
		if s.File == "" || s.Section == "" {
			return nil, errors.New("a section without a file or a name")
		}
		e := addEntry(rec, s.File, s.Section, s.CreatedFile, s.CreatedSection)
		for _, k := range OwnedKeys {
			v, ok := s.Originals[k]
			e.file.Keep(pluginkit.Key{s.Section, k}, v, ok)
		}
		e.sec.SetFact(factProfile, s.CodaProfile)
		e.setHost(s.Host)
		if len(s.TokenSHA256) > 0 {
			e.sec.SetFact(factTokens, strings.Join(s.TokenSHA256, " "))
		}
	}
	return rec, nil
}
