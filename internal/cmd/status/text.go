package status

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/lifecycle"
	"github.com/coda-cli/coda/internal/store"
	"github.com/coda-cli/coda/pkg/configurator"
)

// width is the most columns a line of the text output takes: text wraps
// at spaces to fit, and the table shortens the one long cell, the file.
const width = 100

// labelWidth is the column where the values of "Label: value" rows start.
const labelWidth = 15

// textWriter renders status for a person: local times, durations to the
// second, lines that fit width.
type textWriter struct {
	w   io.Writer
	now time.Time // now, in the zone times are shown in
}

// row writes "Label:" and value, wrapped to width under the value column.
func (tw *textWriter) row(label, value string) {
	if label != "" {
		label += ":"
	}
	for i, line := range wrap(value, width-labelWidth) {
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(tw.w, "%-*s%s\n", labelWidth, label, line)
	}
}

// wrap breaks s at spaces into lines of at most n columns; a word longer
// than n (a URL, a path) stands alone on its line.
func wrap(s string, n int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= n:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}

func (tw *textWriter) local(t *cmdutil.Time) string {
	if t == nil {
		return "unknown"
	}
	return cmdutil.LocalTime(t.Time, tw.now)
}

// profiles writes every profile, a blank line between them.
func (tw *textWriter) profiles(profiles []profileJSON, verbose bool) {
	for i, pj := range profiles {
		if i > 0 {
			fmt.Fprintln(tw.w)
		}
		tw.profile(pj, verbose)
	}
}

// pluginsOnly writes, for each profile, its token's state and the
// details of the plugins asked about (status PLUGIN...).
func (tw *textWriter) pluginsOnly(profiles []profileJSON) {
	for i, pj := range profiles {
		if i > 0 {
			fmt.Fprintln(tw.w)
		}
		tw.row("Profile", pj.Name)
		tw.row("Token", tokenState(pj))
		for _, pl := range pj.Plugins {
			fmt.Fprintln(tw.w)
			tw.details(pl)
		}
	}
}

// tokenState is the Token row: the id's last 4 characters and whether it
// is valid.
func tokenState(pj profileJSON) string {
	if !pj.LoggedIn {
		return "none (run coda login)"
	}
	state := "valid"
	switch {
	case pj.ExpiresInSeconds == 0:
		state = "expired (run coda login)"
	case pj.Check != nil && !pj.Check.Valid:
		state = "rejected by the workspace (run coda login)"
	case pj.Check != nil && pj.Check.Error != "":
		state = "not checked: " + pj.Check.Error
	case pj.Check != nil:
		state = "valid (checked online)"
	}
	return pj.TokenID + " " + state
}

func (tw *textWriter) profile(pj profileJSON, verbose bool) {
	tw.row("Profile", pj.Name)
	if !pj.LoggedIn {
		tw.row("Token", tokenState(pj))
		return
	}
	tw.row("Host", pj.Host)
	tw.row("User", pj.User)
	tw.row("Token", tokenState(pj))
	if verbose {
		tw.row("Created", tw.local(pj.CreatedAt))
	}
	if pj.ExpiresInSeconds > 0 {
		tw.row("Expires in", fmt.Sprintf("%s (%s)", cmdutil.Duration(time.Duration(pj.ExpiresInSeconds)*time.Second), tw.local(pj.ExpiresAt)))
	} else {
		tw.row("Expired", tw.local(pj.ExpiresAt))
	}
	if pj.LastRotation != nil {
		tw.row("Last rotation", fmt.Sprintf("%s (%s ago)", tw.local(pj.LastRotation), cmdutil.Duration(tw.now.Sub(pj.LastRotation.Time))))
	} else {
		tw.row("Last rotation", "never")
	}
	if len(pj.Pending) == 0 {
		tw.row("Pending", "none")
	}
	for j, pe := range pj.Pending {
		label := ""
		if j == 0 {
			label = "Pending"
		}
		desc := fmt.Sprintf("%s delete after %s", pe.TokenID, cmdutil.LocalTime(pe.DeleteAfter.Time, tw.now))
		if pe.Host != "" {
			desc = fmt.Sprintf("%s on %s (no longer logged in there), expires %s", pe.TokenID, pe.Host, cmdutil.LocalTime(pe.ExpiresAt.Time, tw.now))
		} else if pe.HeldBy != "" {
			desc = fmt.Sprintf("%s kept while a tool may hold it: %s", pe.TokenID, pe.HeldBy)
		} else if pe.LastError != "" {
			desc = fmt.Sprintf("%s failed %d times: %s", pe.TokenID, pe.Attempts, pe.LastError)
		}
		tw.row(label, desc)
	}
	if skew := time.Duration(pj.ClockSkewSeconds) * time.Second; skew != 0 {
		tw.row("Clock", "the workspace's clock is "+lifecycle.DescribeSkew(skew)+" (token times shown in this machine's clock)")
	}
	if pol := pj.Policy; pol != nil {
		desc := fmt.Sprintf("lifetime %s, interval %s, grace %s, min-ttl %s", pol.Lifetime, pol.Interval, pol.Grace, pol.MinTTL)
		if pol.HelperRefresh != "" {
			desc += ", helpers refresh every " + pol.HelperRefresh
		}
		tw.row("Timing", desc)
	}
	if px := pj.Proxy; px != nil {
		if px.Running {
			tw.row("Proxy", fmt.Sprintf("http://%s up, for %s", px.Address, strings.Join(px.Agents, ", ")))
		} else {
			tw.row("Proxy", fmt.Sprintf("http://%s DOWN: %s cannot reach the workspace; start it with coda rotate --watch, coda proxy, or coda service install", px.Address, strings.Join(px.Agents, ", ")))
		}
		if px.Warning != "" {
			tw.row("", "warning: "+px.Warning)
		}
	}
	if pj.Watcher.Running {
		tw.row("Watcher", fmt.Sprintf("running (PID %d)", pj.Watcher.PID))
	} else {
		tw.row("Watcher", "not running (start one with coda rotate --watch)")
	}
	if len(pj.Plugins) == 0 {
		return
	}
	fmt.Fprintln(tw.w)
	tw.table(pj.Plugins)
	if verbose {
		for _, pl := range pj.Plugins {
			fmt.Fprintln(tw.w)
			tw.details(pl)
		}
		return
	}
	for _, pl := range pj.Plugins {
		if pl.State != string(configurator.StateConfigured) {
			fmt.Fprintf(tw.w, "\nWhy and what to do: coda status %s%s (or -v for every tool).\n", pl.Name, store.ProfileFlag(pj.Name))
			break
		}
	}
}

// table writes one line per plugin: its name, state, delivery and main
// file, aligned; the file is shortened from the left to fit width.
func (tw *textWriter) table(plugins []PluginState) {
	rows := [][]string{{"PLUGIN", "STATE", "DELIVERY", "FILE"}}
	for _, pl := range plugins {
		file := "-"
		if len(pl.shown) > 0 {
			file = pl.shown[0]
		}
		delivery := pl.Delivery
		if delivery == "" {
			delivery = "-"
		}
		rows = append(rows, []string{pl.Name, pl.State, delivery, file})
	}
	cols := make([]int, 3)
	for _, r := range rows {
		for i := range cols {
			cols[i] = max(cols[i], utf8.RuneCountInString(r[i]))
		}
	}
	const gap = 2
	room := width - cols[0] - cols[1] - cols[2] - 3*gap
	for _, r := range rows {
		file := r[3]
		if n := utf8.RuneCountInString(file); n > room {
			rs := []rune(file)
			file = "…" + string(rs[n-room+1:])
		}
		fmt.Fprintf(tw.w, "%-*s%-*s%-*s%s\n", cols[0]+gap, r[0], cols[1]+gap, r[1], cols[2]+gap, r[2], file)
	}
}

// details writes what the table leaves out of a plugin: every file and
// the plugin's explanation of its state.
func (tw *textWriter) details(pl PluginState) {
	head := pl.Name + ": " + pl.State
	if pl.Delivery != "" {
		head += ", " + pl.Delivery
	}
	fmt.Fprintln(tw.w, head)
	const indent = "  "
	sub := func(label, value string) {
		for i, line := range wrap(value, width-len(indent)-10) {
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(tw.w, "%s%-10s%s\n", indent, label, line)
		}
	}
	for i, f := range pl.shown {
		label := ""
		if i == 0 {
			label = "Files:"
		}
		sub(label, f)
	}
	if pl.Detail != "" {
		sub("Details:", pl.Detail)
	}
}
