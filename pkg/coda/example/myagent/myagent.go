// Package myagent is an example of a third-party configurator plugin: it
// points "myagent", an imagined OpenAI-compatible coding agent, at the
// workspace. It uses only coda's public packages (pkg/configurator), the way
// a plugin outside this repository would, and passes the configurator
// contract (see myagent_test.go). pkg/coda/example/codaplus builds a coda
// that includes it.
//
// myagent reads ~/.myagent/env, lines of KEY=VALUE (# starts a comment).
// coda owns OPENAI_BASE_URL, OPENAI_API_KEY and MYAGENT_MODEL there and
// keeps every other line. The token is delivered literally: the plugin
// declares OPENAI_API_KEY as its sink, which coda rewrites at every
// rotation. The values coda replaced are kept in coda's state dir, so
// --remove puts them back.
package myagent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coda-cli/coda/pkg/configurator"
)

const (
	name         = "myagent"
	keyBaseURL   = "OPENAI_BASE_URL"
	keyAPIKey    = "OPENAI_API_KEY"
	keyModel     = "MYAGENT_MODEL"
	defaultModel = "databricks-gpt-5-3-codex"
)

var ownedKeys = []string{keyBaseURL, keyAPIKey, keyModel}

// Plugin configures myagent.
type Plugin struct{}

// Info describes the plugin to coda.
func (Plugin) Info() configurator.Info {
	return configurator.Info{
		Name:        name,
		Description: "myagent (example plugin): ~/.myagent/env with the serving endpoint, model and token",
		Delivery:    configurator.DeliveryLiteral,
		InAll:       false,
		Binaries:    []string{"myagent"},
	}
}

func envPath(env configurator.Env) string { return filepath.Join(env.Home, ".myagent", "env") }

func recordPath(env configurator.Env) string {
	return filepath.Join(env.StateDir, "plugins", name+".json")
}

// Detect looks for the binary.
func (pl Plugin) Detect(env configurator.Env) configurator.Detection {
	d := configurator.Detection{Files: []string{envPath(env)}}
	if env.LookPath != nil {
		if bin, err := env.LookPath("myagent"); err == nil {
			d.Installed, d.Binary = true, bin
		}
	}
	return d
}

// Sinks: the one key that holds the token.
func (Plugin) Sinks(env configurator.Env, t configurator.Target) ([]configurator.Sink, error) {
	return []configurator.Sink{{Plugin: name, Path: envPath(env), Format: configurator.SinkDotenv, Key: keyAPIKey}}, nil
}

// record is what the user's file held before coda: the values of the keys
// coda owns (absent keys are missing) and whether coda created the file.
type record struct {
	Created  bool              `json:"created"`
	Original map[string]string `json:"original"`
}

type lines struct {
	raw  []byte // nil: no file
	list []string
}

func read(path string) (lines, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return lines{}, nil
	}
	if err != nil {
		return lines{}, err
	}
	l := lines{raw: data}
	text := strings.TrimSuffix(string(data), "\n")
	if text != "" {
		l.list = strings.Split(text, "\n")
	}
	for i, line := range l.list {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if k, _, ok := strings.Cut(t, "="); !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t") {
			return lines{}, fmt.Errorf("%s is malformed at line %d (want KEY=VALUE): fix it, then run coda setup again", path, i+1)
		}
	}
	return l, nil
}

func (l lines) get(key string) (string, bool) {
	for _, line := range l.list {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k == key {
			return strings.Trim(v, `"'`), true
		}
	}
	return "", false
}

// set replaces key's line, or appends one; an empty value with del
// removes the line.
func (l *lines) set(key, value string, del bool) {
	for i, line := range l.list {
		if k, _, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k == key {
			if del {
				l.list = append(l.list[:i], l.list[i+1:]...)
			} else {
				l.list[i] = key + "=" + value
			}
			return
		}
	}
	if !del {
		l.list = append(l.list, key+"="+value)
	}
}

func (l lines) bytes() []byte {
	if len(l.list) == 0 {
		return []byte{}
	}
	return []byte(strings.Join(l.list, "\n") + "\n")
}

func (pl Plugin) load(env configurator.Env) (lines, []byte, *record, error) {
	l, err := read(envPath(env))
	if err != nil {
		return lines{}, nil, nil, err
	}
	raw, err := os.ReadFile(recordPath(env))
	if errors.Is(err, os.ErrNotExist) {
		return l, nil, nil, nil
	}
	if err != nil {
		return lines{}, nil, nil, err
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return lines{}, nil, nil, fmt.Errorf("coda's record %s is damaged: move it aside, then run coda setup again", recordPath(env))
	}
	return l, raw, &rec, nil
}

func wanted(t configurator.Target) map[string]string {
	return map[string]string{keyBaseURL: t.Endpoints.Chat, keyAPIKey: t.Token, keyModel: t.Model("model", defaultModel)}
}

// Plan sets coda's keys, keeping every other line, and records what they
// replaced the first time.
func (pl Plugin) Plan(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	l, oldRec, rec, err := pl.load(env)
	if err != nil {
		return configurator.Plan{}, err
	}
	plan := configurator.Plan{Plugin: name}
	first := rec == nil // the file is still the user's alone: back it up
	if first {
		rec = &record{Created: l.raw == nil, Original: map[string]string{}}
		for _, k := range ownedKeys {
			if v, ok := l.get(k); ok {
				rec.Original[k] = v
			}
		}
		if v, ok := rec.Original[keyAPIKey]; ok {
			plan.Secrets = append(plan.Secrets, v) // the user's own key
		}
	}
	next := lines{list: append([]string(nil), l.list...)}
	for _, k := range ownedKeys {
		v := wanted(t)[k]
		next.set(k, v, v == "")
	}
	recData, _ := json.MarshalIndent(rec, "", "  ")
	plan.Changes = []configurator.Change{
		{Path: recordPath(env), Old: oldRec, New: append(recData, '\n'), Perm: configurator.SecretPerm, Secret: true},
		{Path: envPath(env), Old: l.raw, New: next.bytes(), Perm: configurator.SecretPerm, Secret: true, Backup: first && l.raw != nil},
	}
	return plan, nil
}

// PlanRemove puts back what coda replaced and deletes what it created.
func (pl Plugin) PlanRemove(env configurator.Env, t configurator.Target) (configurator.Plan, error) {
	l, oldRec, rec, err := pl.load(env)
	if err != nil || rec == nil {
		return configurator.Plan{Plugin: name}, err
	}
	next := lines{list: append([]string(nil), l.list...)}
	for _, k := range ownedKeys {
		v, had := rec.Original[k]
		next.set(k, v, !had)
	}
	data := next.bytes()
	if rec.Created && len(next.list) == 0 {
		data = nil
	}
	return configurator.Plan{Plugin: name, Changes: []configurator.Change{
		{Path: envPath(env), Old: l.raw, New: data, Perm: configurator.SecretPerm, Secret: true},
		{Path: recordPath(env), Old: oldRec, New: nil},
	}}, nil
}

// Status compares the file with what t wants.
func (pl Plugin) Status(env configurator.Env, t configurator.Target) (configurator.Status, error) {
	l, _, rec, err := pl.load(env)
	if err != nil {
		return configurator.Status{}, err
	}
	installed := pl.Detect(env).Installed
	if rec == nil {
		if !installed {
			return configurator.Status{State: configurator.StateAbsent, Detail: "myagent is not on PATH"}, nil
		}
		return configurator.Status{State: configurator.StateNotConfigured, Detail: "run coda setup myagent"}, nil
	}
	for k, v := range wanted(t) {
		if got, _ := l.get(k); got != v {
			return configurator.Status{State: configurator.StateStale, Detail: k + " is out of date: run coda setup myagent"}, nil
		}
	}
	return configurator.Status{State: configurator.StateConfigured, Detail: "~/.myagent/env points at " + t.Endpoints.Chat}, nil
}
