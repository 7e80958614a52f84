//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coda-cli/coda/internal/fakeworkspace"
)

// row is one line of the results table.
type row struct {
	agent, start, between, mid, timings string
}

// resultsTable collects the suite's results for the log and the report.
type resultsTable struct {
	mu       sync.Mutex
	rows     []row
	timings  []string
	versions []string
	skipped  string
}

var results resultsTable

// record adds a row, replacing an earlier one for the same agent (-count).
func (r *resultsTable) record(x row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.rows {
		if r.rows[i].agent == x.agent {
			r.rows[i] = x
			return
		}
	}
	r.rows = append(r.rows, x)
}

func (r *resultsTable) timing(what string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timings = append(r.timings, fmt.Sprintf("%s: %s", what, d.Round(10*time.Millisecond)))
}

func cell(s string) string {
	if s == "" {
		return "not run"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// markdown renders the table.
func (r *resultsTable) markdown(total time.Duration) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	b.WriteString("# coda end-to-end results\n\n")
	if r.skipped != "" {
		fmt.Fprintf(&b, "**SKIPPED: %s.** No agent CLI was tested.\n\n", r.skipped)
	}
	if len(r.versions) > 0 {
		fmt.Fprintf(&b, "CLIs: %s. Setup: `coda setup --all --endpoint serving --grace %s` (helpers refresh every %s).\n\n",
			strings.Join(r.versions, ", "), grace, grace/2)
	}
	b.WriteString("| agent | start of session works | survives rotation between sessions | survives rotation mid-session | run times |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.agent, cell(x.start), cell(x.between), cell(x.mid), cell(x.timings))
	}
	b.WriteString("\nBetween sessions: `coda rotate`, the old token deleted (as the end of the grace would), then a new session. ")
	b.WriteString("Mid-session: the agent's first model request offering tools is held; `coda rotate --grace 20s`; ")
	b.WriteString(fmt.Sprintf("after %s the old token is deleted (as the end of the grace would); the held answer, a tool call, is released; ", helperRefresh))
	b.WriteString("the requests carrying the tool's result show which token the session used.\n\n")
	if len(r.timings) > 0 {
		b.WriteString("Timings: " + strings.Join(r.timings, "; ") + fmt.Sprintf("; agent suite total: %s.\n", total.Round(100*time.Millisecond)))
	}
	return b.String()
}

// report logs the table and writes it to $CODA_E2E_REPORT when set.
func (r *resultsTable) report(t *testing.T, total time.Duration) {
	md := r.markdown(total)
	t.Log("results:\n" + md)
	if path := os.Getenv("CODA_E2E_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Errorf("write the report: %v", err)
		} else {
			t.Logf("report written to %s", path)
		}
	}
}

func TestFollowUpSequence(t *testing.T) {
	req := func(id string, status int) fakeworkspace.Request {
		return fakeworkspace.Request{TokenID: id, Status: status}
	}
	for _, tc := range []struct {
		ups  []fakeworkspace.Request
		want string
	}{
		{nil, "none"},
		{[]fakeworkspace.Request{req("old", 403), req("new", 200)}, "403 old token → 200 new token"},
		{[]fakeworkspace.Request{req("old", 403), req("old", 403), req("old", 403)}, "3× 403 old token"},
		{[]fakeworkspace.Request{req("old", 403), req("old", 403), req("new", 200), req("abcdef", 200)},
			"2× 403 old token → 200 new token → 200 token …cdef"},
	} {
		if got := followUpSequence(tc.ups, "old", "new"); got != tc.want {
			t.Errorf("followUpSequence(%v) = %q, want %q", tc.ups, got, tc.want)
		}
	}
}
