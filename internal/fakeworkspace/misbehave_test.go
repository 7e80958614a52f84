package fakeworkspace

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// noRedirects is a client that shows a redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestFaultRawAnswer(t *testing.T) {
	f := newFixture(t, Options{})

	f.fw.AddFault("GET", PathMe, Fault{Times: 1, Status: 302, Body: []byte{},
		Header: http.Header{"Location": {"http://elsewhere.example:8080/steal"}}})
	r, err := doErr(t.Context(), noRedirects, f.url, "GET", PathMe, f.pat, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 302 || r.header.Get("Location") != "http://elsewhere.example:8080/steal" || len(r.body) != 0 {
		t.Errorf("redirect fault: %d %v %q", r.status, r.header, r.body)
	}

	f.fw.AddFault("GET", PathTokenList, Fault{Times: 1, Body: []byte(`{"token_infos": [`)})
	r = do(t, f.url, "GET", PathTokenList, f.pat, "")
	if r.status != 200 || string(r.body) != `{"token_infos": [` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("raw body fault: %d %q %v", r.status, r.body, r.header)
	}

	// A header on a fault without an answer of its own rides on the real one.
	f.fw.AddFault("GET", PathMe, Fault{Times: 1, Header: http.Header{"X-Extra": {"1"}}})
	r = do(t, f.url, "GET", PathMe, f.pat, "")
	if r.status != 200 || r.header.Get("X-Extra") != "1" || r.json(t)["userName"] != alice {
		t.Errorf("header-only fault: %d %v %s", r.status, r.header, r.body)
	}

	reqs := f.fw.Requests()
	if len(reqs) != 3 || reqs[0].Status != 302 || reqs[1].Status != 200 {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestFaultRewrite(t *testing.T) {
	create := `{"lifetime_seconds":900,"comment":"coda: x"}`
	tests := []struct {
		name  string
		check func(t *testing.T, real created, r response)
	}{
		{"trailing-garbage", func(t *testing.T, real created, r response) {
			var c created
			if err := json.NewDecoder(bytes.NewReader(r.body)).Decode(&c); err != nil || c.TokenValue != real.TokenValue {
				t.Errorf("the answer does not start with the real one: %v", err)
			}
			if json.Valid(r.body) {
				t.Error("the answer is valid JSON")
			}
		}},
		{"truncated", func(t *testing.T, real created, r response) {
			if json.Valid(r.body) || !bytes.HasPrefix(r.body, []byte(`{"token_value":"dapi`)) {
				t.Errorf("the answer is not the real one cut short: %d bytes", len(r.body))
			}
		}},
		{"not-json", func(t *testing.T, real created, r response) {
			if json.Valid(r.body) {
				t.Error("the answer is valid JSON")
			}
		}},
		{"html", func(t *testing.T, real created, r response) {
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !bytes.HasPrefix(r.body, []byte("<html>")) {
				t.Errorf("not HTML: %v", r.header)
			}
		}},
		{"empty-token-value", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); c.TokenValue != "" || c.TokenInfo.TokenID != real.TokenInfo.TokenID {
				t.Errorf("token_value not emptied, or id changed")
			}
		}},
		{"control-token-value", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); !strings.Contains(c.TokenValue, real.TokenValue) || !strings.ContainsAny(c.TokenValue, "\x1b\r\n") {
				t.Errorf("token_value holds no control character around the real value")
			}
		}},
		{"spaced-token-value", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); !strings.Contains(c.TokenValue, " ") {
				t.Errorf("token_value holds no space")
			}
		}},
		{"huge-token-value", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); len(c.TokenValue) < 1<<20 || !strings.HasPrefix(c.TokenValue, real.TokenValue) {
				t.Errorf("token_value is %d bytes", len(c.TokenValue))
			}
		}},
		{"no-token-id", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); c.TokenInfo.TokenID != "" {
				t.Errorf("token_id kept")
			}
		}},
		{"no-expiry", func(t *testing.T, real created, r response) {
			if strings.Contains(string(r.body), "expiry_time") {
				t.Errorf("expiry_time kept")
			}
		}},
		{"zero-expiry", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); c.TokenInfo.ExpiryTime != 0 || !strings.Contains(string(r.body), `"expiry_time":0`) {
				t.Errorf("expiry_time %d", c.TokenInfo.ExpiryTime)
			}
		}},
		{"never-expires", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); c.TokenInfo.ExpiryTime != -1 {
				t.Errorf("expiry_time %d", c.TokenInfo.ExpiryTime)
			}
		}},
		{"past-expiry", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); c.TokenInfo.ExpiryTime != c.TokenInfo.CreationTime-1000 || c.TokenInfo.CreationTime != real.TokenInfo.CreationTime {
				t.Errorf("expiry_time %d creation_time %d", c.TokenInfo.ExpiryTime, c.TokenInfo.CreationTime)
			}
		}},
		{"no-creation-time", func(t *testing.T, real created, r response) {
			if strings.Contains(string(r.body), "creation_time") {
				t.Errorf("creation_time kept")
			}
		}},
		{"two-year-expiry", func(t *testing.T, real created, r response) {
			if c := decodeCreated(t, r); c.TokenInfo.ExpiryTime-c.TokenInfo.CreationTime != 2*365*24*3600*1000 {
				t.Errorf("lives %dms", c.TokenInfo.ExpiryTime-c.TokenInfo.CreationTime)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			rw, ok := Misbehaviours[tt.name]
			if !ok {
				t.Fatalf("no misbehaviour %q", tt.name)
			}
			f.fw.AddFault("POST", PathTokenCreate, Fault{Times: 1, Rewrite: rw})
			r := do(t, f.url, "POST", PathTokenCreate, f.pat, create)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			// The handler ran: the token exists, and it is the last minted.
			live := f.fw.LiveTokens(alice)
			minted := f.fw.MintedValues()
			if len(live) != 2 || live[1].Comment != "coda: x" || len(minted) != 2 {
				t.Fatalf("the rewritten create minted no token: %+v", live)
			}
			real := created{TokenValue: minted[1]}
			real.TokenInfo.TokenID = live[1].ID
			real.TokenInfo.CreationTime = live[1].Created.UnixMilli()
			tt.check(t, real, r)
			if reqs := f.fw.Requests(); reqs[len(reqs)-1].Status != 200 {
				t.Errorf("recorded %+v", reqs[len(reqs)-1])
			}
		})
	}
	tested := map[string]bool{"empty-username": true, "control-username": true} // TestFaultRewriteMe
	for _, tt := range tests {
		tested[tt.name] = true
	}
	for name := range Misbehaviours {
		if !tested[name] {
			t.Errorf("misbehaviour %q is not tested", name)
		}
	}
}

func decodeCreated(t *testing.T, r response) created {
	t.Helper()
	var c created
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatalf("the answer is not JSON: %v", err)
	}
	return c
}

func TestFaultRewriteMe(t *testing.T) {
	f := newFixture(t, Options{})
	f.fw.AddFault("GET", PathMe, Fault{Times: 1, Rewrite: Misbehaviours["empty-username"]})
	f.fw.AddFault("GET", PathMe, Fault{Times: 1, Rewrite: Misbehaviours["control-username"]})
	if m := do(t, f.url, "GET", PathMe, f.pat, "").json(t); m["userName"] != "" || m["displayName"] != "Alice Example" {
		t.Errorf("empty-username: %v", m)
	}
	if m := do(t, f.url, "GET", PathMe, f.pat, "").json(t); !strings.HasPrefix(m["userName"].(string), "\x1b") {
		t.Errorf("control-username: %v", m)
	}
	if m := do(t, f.url, "GET", PathMe, f.pat, "").json(t); m["userName"] != alice {
		t.Errorf("after the faults: %v", m)
	}
}

func TestFaultRewriteStatusAndErrors(t *testing.T) {
	f := newFixture(t, Options{})
	// Status replaces the rewritten answer's; the handler still ran.
	f.fw.AddFault("POST", PathTokenCreate, Fault{Times: 1, Status: 201, Header: http.Header{"X-Fault": {"yes"}},
		Rewrite: AppendBody(" ")})
	r := do(t, f.url, "POST", PathTokenCreate, f.pat, `{"lifetime_seconds":60}`)
	if r.status != 201 || r.header.Get("X-Fault") != "yes" || r.header.Get("X-Databricks-Org-Id") != DefaultOrgID {
		t.Errorf("status %d header %v", r.status, r.header)
	}
	// A rewrite of an error answer rewrites the error (EditJSON leaves
	// non-objects alone).
	f.fw.AddFault("GET", PathMe, Fault{Times: 1, Rewrite: EditJSON(func(m map[string]any) { m["extra"] = 1 })})
	r = do(t, f.url, "GET", PathMe, "dapi00000000000000000000000000000000", "")
	if r.status != 403 || r.json(t)["message"] != "Invalid access token." || r.json(t)["extra"] == nil {
		t.Errorf("rewritten 403: %d %s", r.status, r.body)
	}
	if got := EditJSON(func(map[string]any) { t.Error("edit called") })(Answer{Body: []byte("[1]")}); string(got.Body) != "[1]" {
		t.Errorf("EditJSON changed a non-object: %s", got.Body)
	}
	if got := CutBody(3)(Answer{Body: []byte("ab")}); string(got.Body) != "ab" {
		t.Errorf("CutBody past the end: %q", got.Body)
	}
}
