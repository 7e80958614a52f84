package fakeworkspace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// doHeaders sends a request with exactly the given extra headers.
func doHeaders(t *testing.T, url, method, path string, headers map[string]string, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

type sseEvent struct {
	name string
	data string
}

// parseSSE splits an event stream into events; it fails the test on lines
// that are neither event, data nor blank.
func parseSSE(t *testing.T, r response) []sseEvent {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q, want text/event-stream (body %s)", ct, r.body)
	}
	var (
		out []sseEvent
		cur sseEvent
	)
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected event-stream line %q", line)
		}
	}
	if cur.data != "" {
		t.Fatalf("stream does not end with a blank line: %q", r.body)
	}
	return out
}

func (e sseEvent) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.data), &m); err != nil {
		t.Fatalf("event %s data %q is not a JSON object: %v", e.name, e.data, err)
	}
	return m
}

func bearerHeader(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
}

// jsonAt walks a decoded JSON value: strings index objects, ints arrays.
func jsonAt(t *testing.T, v any, keys ...any) any {
	t.Helper()
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("want an object for key %q, got %#v", k, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("want an array with index %d, got %#v", k, v)
			}
			v = a[k]
		}
	}
	return v
}

func lastRequest(t *testing.T, fw *Server) Request {
	t.Helper()
	reqs := fw.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request recorded")
	}
	return reqs[len(reqs)-1]
}

const (
	claudeModelName = "databricks-claude-sonnet-4-6"
	codexModelName  = "databricks-gpt-5-3-codex"
	geminiModelName = "databricks-gemini-2-5-pro"
)

func TestAnthropicMessages(t *testing.T) {
	for _, p := range []string{PathAnthropicMessages, PathGatewayAnthropicMessages} {
		t.Run(p+" non-stream", func(t *testing.T) {
			f := newFixture(t, Options{})
			r := do(t, f.url, "POST", p+"?beta=true", f.pat,
				`{"model":"`+claudeModelName+`","max_tokens":64,"messages":[{"role":"user","content":"say hi"}]}`)
			if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d type %q body %s", r.status, r.header.Get("Content-Type"), r.body)
			}
			m := r.json(t)
			if m["type"] != "message" || m["role"] != "assistant" || m["model"] != claudeModelName ||
				m["stop_reason"] != "end_turn" || !strings.HasPrefix(m["id"].(string), "msg_") {
				t.Errorf("message = %s", r.body)
			}
			if jsonAt(t, m, "content", 0, "type") != "text" || jsonAt(t, m, "content", 0, "text") != ReplyText {
				t.Errorf("content = %v", m["content"])
			}
			if jsonAt(t, m, "usage", "output_tokens") == nil || jsonAt(t, m, "usage", "input_tokens") == nil {
				t.Errorf("usage = %v", m["usage"])
			}
			want := Request{Method: "POST", Path: p, Status: 200, TokenID: f.patID,
				Protocol: ProtocolAnthropic, Model: claudeModelName}
			if got := lastRequest(t, f.fw); got != want {
				t.Errorf("recorded %+v, want %+v", got, want)
			}
		})
		t.Run(p+" stream", func(t *testing.T) {
			f := newFixture(t, Options{})
			r := do(t, f.url, "POST", p+"?beta=true", f.pat,
				`{"model":"`+claudeModelName+`","stream":true,"messages":[{"role":"user","content":"say hi"}]}`)
			if r.status != 200 {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			events := parseSSE(t, r)
			var names []string
			var text strings.Builder
			for _, e := range events {
				m := e.json(t)
				if m["type"] != e.name {
					t.Errorf("event %q carries type %v", e.name, m["type"])
				}
				names = append(names, e.name)
				switch e.name {
				case "message_start":
					if jsonAt(t, m, "message", "model") != claudeModelName || jsonAt(t, m, "message", "role") != "assistant" {
						t.Errorf("message_start = %s", e.data)
					}
				case "content_block_start":
					if jsonAt(t, m, "content_block", "type") != "text" {
						t.Errorf("content_block_start = %s", e.data)
					}
				case "content_block_delta":
					if jsonAt(t, m, "delta", "type") != "text_delta" {
						t.Errorf("delta = %s", e.data)
					}
					text.WriteString(jsonAt(t, m, "delta", "text").(string))
				case "message_delta":
					if jsonAt(t, m, "delta", "stop_reason") != "end_turn" || jsonAt(t, m, "usage", "output_tokens") == nil {
						t.Errorf("message_delta = %s", e.data)
					}
				}
			}
			wantNames := []string{"message_start", "content_block_start", "content_block_delta",
				"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
			if !reflect.DeepEqual(names, wantNames) {
				t.Errorf("events = %v, want %v", names, wantNames)
			}
			if text.String() != ReplyText {
				t.Errorf("streamed text = %q, want %q", text.String(), ReplyText)
			}
			if got := lastRequest(t, f.fw); got.Protocol != ProtocolAnthropic || got.Model != claudeModelName || got.Status != 200 {
				t.Errorf("recorded %+v", got)
			}
		})
	}
}

func TestResponses(t *testing.T) {
	for _, p := range []string{PathResponses, PathGatewayResponses} {
		t.Run(p+" non-stream", func(t *testing.T) {
			f := newFixture(t, Options{})
			r := do(t, f.url, "POST", p, f.pat, `{"model":"`+codexModelName+`","input":"say hi"}`)
			if r.status != 200 {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			m := r.json(t)
			if m["object"] != "response" || m["status"] != "completed" || m["model"] != codexModelName {
				t.Errorf("response = %s", r.body)
			}
			if jsonAt(t, m, "output", 0, "type") != "message" || jsonAt(t, m, "output", 0, "content", 0, "text") != ReplyText {
				t.Errorf("output = %v", m["output"])
			}
			if jsonAt(t, m, "usage", "total_tokens") == nil {
				t.Errorf("usage = %v", m["usage"])
			}
			want := Request{Method: "POST", Path: p, Status: 200, TokenID: f.patID,
				Protocol: ProtocolResponses, Model: codexModelName}
			if got := lastRequest(t, f.fw); got != want {
				t.Errorf("recorded %+v, want %+v", got, want)
			}
		})
		t.Run(p+" stream", func(t *testing.T) {
			f := newFixture(t, Options{})
			r := do(t, f.url, "POST", p, f.pat, `{"model":"`+codexModelName+`","stream":true,"input":"say hi"}`)
			if r.status != 200 {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			var names []string
			var text strings.Builder
			var completed map[string]any
			for i, e := range parseSSE(t, r) {
				m := e.json(t)
				if m["type"] != e.name || m["sequence_number"] != float64(i) {
					t.Errorf("event %d %q: type %v sequence_number %v", i, e.name, m["type"], m["sequence_number"])
				}
				names = append(names, e.name)
				switch e.name {
				case "response.output_text.delta":
					text.WriteString(m["delta"].(string))
				case "response.output_item.done":
					if jsonAt(t, m, "item", "content", 0, "text") != ReplyText || jsonAt(t, m, "item", "role") != "assistant" {
						t.Errorf("output_item.done = %s", e.data)
					}
				case "response.completed":
					completed = m
				}
			}
			wantNames := []string{"response.created", "response.in_progress", "response.output_item.added",
				"response.content_part.added", "response.output_text.delta", "response.output_text.delta",
				"response.output_text.done", "response.content_part.done", "response.output_item.done",
				"response.completed"}
			if !reflect.DeepEqual(names, wantNames) {
				t.Errorf("events = %v, want %v", names, wantNames)
			}
			if text.String() != ReplyText {
				t.Errorf("streamed text = %q", text.String())
			}
			if completed == nil || jsonAt(t, completed, "response", "status") != "completed" ||
				jsonAt(t, completed, "response", "usage", "output_tokens") == nil ||
				jsonAt(t, completed, "response", "output", 0, "content", 0, "text") != ReplyText {
				t.Errorf("response.completed = %v", completed)
			}
		})
	}
}

func TestResponsesModelsListIsAKnown404(t *testing.T) {
	// Codex lists models at its base URL and ignores the 404; the fake
	// answers the same without calling OnUnexpected (the fixture would fail).
	f := newFixture(t, Options{})
	for _, p := range []string{PathResponsesModels, PathGatewayResponsesModels} {
		for _, token := range []string{f.pat, ""} {
			r := do(t, f.url, "GET", p+"?client_version=0.169.0", token, "")
			if r.status != 404 || r.errorCode(t) != "ENDPOINT_NOT_FOUND" {
				t.Errorf("GET %s: %d %s", p, r.status, r.body)
			}
		}
		want := Request{Method: "GET", Path: p, Status: 404, Protocol: ProtocolResponses}
		if got := lastRequest(t, f.fw); got != want {
			t.Errorf("recorded %+v, want %+v", got, want)
		}
	}
}

func geminiPaths(model, op string) []string {
	return []string{
		PathGoogleModelsPrefix + model + ":" + op,
		PathGeminiModelsPrefix + model + ":" + op,
		PathGatewayGeminiModelsPrefix + model + ":" + op,
	}
}

const geminiBody = `{"contents":[{"role":"user","parts":[{"text":"say hi"}]}]}`

// checkGeminiFinal checks a response that ends the answer.
func checkGeminiFinal(t *testing.T, m map[string]any) {
	t.Helper()
	if jsonAt(t, m, "candidates", 0, "finishReason") != "STOP" || jsonAt(t, m, "candidates", 0, "content", "role") != "model" {
		t.Errorf("final candidate = %v", m["candidates"])
	}
	if jsonAt(t, m, "usageMetadata", "totalTokenCount") == nil {
		t.Errorf("usageMetadata = %v", m["usageMetadata"])
	}
}

func TestGemini(t *testing.T) {
	for _, p := range geminiPaths(geminiModelName, "streamGenerateContent") {
		t.Run(p+" sse", func(t *testing.T) {
			f := newFixture(t, Options{})
			// The Gemini CLI sends the token both ways.
			h := bearerHeader(f.pat)
			h["x-goog-api-key"] = f.pat
			r := doHeaders(t, f.url, "POST", p+"?alt=sse", h, geminiBody)
			if r.status != 200 {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			events := parseSSE(t, r)
			var text strings.Builder
			for i, e := range events {
				if e.name != "" {
					t.Errorf("event name %q, want none", e.name)
				}
				m := e.json(t)
				text.WriteString(jsonAt(t, m, "candidates", 0, "content", "parts", 0, "text").(string))
				if i == len(events)-1 {
					checkGeminiFinal(t, m)
				} else if jsonAt(t, m, "candidates", 0, "finishReason") != nil {
					t.Errorf("finishReason before the last chunk: %s", e.data)
				}
			}
			if text.String() != ReplyText {
				t.Errorf("streamed text = %q", text.String())
			}
			want := Request{Method: "POST", Path: p, Status: 200, TokenID: f.patID,
				Protocol: ProtocolGemini, Model: geminiModelName}
			if got := lastRequest(t, f.fw); got != want {
				t.Errorf("recorded %+v, want %+v", got, want)
			}
		})
	}
	t.Run("stream without alt=sse is a JSON array", func(t *testing.T) {
		f := newFixture(t, Options{})
		r := do(t, f.url, "POST", geminiPaths(geminiModelName, "streamGenerateContent")[0], f.pat, geminiBody)
		var chunks []map[string]any
		if r.status != 200 || json.Unmarshal(r.body, &chunks) != nil || len(chunks) == 0 {
			t.Fatalf("status %d body %s", r.status, r.body)
		}
		var text strings.Builder
		for _, c := range chunks {
			text.WriteString(jsonAt(t, c, "candidates", 0, "content", "parts", 0, "text").(string))
		}
		if text.String() != ReplyText {
			t.Errorf("text = %q", text.String())
		}
		checkGeminiFinal(t, chunks[len(chunks)-1])
	})
	for _, p := range geminiPaths(geminiModelName, "generateContent") {
		t.Run(p, func(t *testing.T) {
			f := newFixture(t, Options{})
			r := do(t, f.url, "POST", p, f.pat, geminiBody)
			if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			m := r.json(t)
			if jsonAt(t, m, "candidates", 0, "content", "parts", 0, "text") != ReplyText {
				t.Errorf("body %s", r.body)
			}
			checkGeminiFinal(t, m)
			if got := lastRequest(t, f.fw); got.Protocol != ProtocolGemini || got.Model != geminiModelName || got.TokenID != f.patID {
				t.Errorf("recorded %+v", got)
			}
		})
	}
	t.Run("countTokens", func(t *testing.T) {
		f := newFixture(t, Options{})
		r := do(t, f.url, "POST", geminiPaths("gemini-x", "countTokens")[2], f.pat, geminiBody)
		if r.status != 200 || r.json(t)["totalTokens"] == nil {
			t.Fatalf("status %d body %s", r.status, r.body)
		}
		if got := lastRequest(t, f.fw); got.Model != "gemini-x" || got.Protocol != ProtocolGemini {
			t.Errorf("recorded %+v", got)
		}
	})
}

func TestChatCompletions(t *testing.T) {
	for _, p := range []string{PathChatCompletions, PathGatewayChatCompletions} {
		t.Run(p+" non-stream", func(t *testing.T) {
			f := newFixture(t, Options{})
			r := do(t, f.url, "POST", p, f.pat, `{"model":"`+claudeModelName+`","messages":[{"role":"user","content":"say hi"}]}`)
			if r.status != 200 {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			m := r.json(t)
			if m["object"] != "chat.completion" || m["model"] != claudeModelName ||
				jsonAt(t, m, "choices", 0, "message", "content") != ReplyText ||
				jsonAt(t, m, "choices", 0, "message", "role") != "assistant" ||
				jsonAt(t, m, "choices", 0, "finish_reason") != "stop" || jsonAt(t, m, "usage", "total_tokens") == nil {
				t.Errorf("body %s", r.body)
			}
			want := Request{Method: "POST", Path: p, Status: 200, TokenID: f.patID,
				Protocol: ProtocolChat, Model: claudeModelName}
			if got := lastRequest(t, f.fw); got != want {
				t.Errorf("recorded %+v, want %+v", got, want)
			}
		})
		for _, includeUsage := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s stream include_usage=%v", p, includeUsage), func(t *testing.T) {
				f := newFixture(t, Options{})
				r := do(t, f.url, "POST", p, f.pat, fmt.Sprintf(
					`{"model":%q,"stream":true,"stream_options":{"include_usage":%v},"messages":[]}`, claudeModelName, includeUsage))
				if r.status != 200 {
					t.Fatalf("status %d body %s", r.status, r.body)
				}
				events := parseSSE(t, r)
				if n := len(events); n == 0 || events[n-1].data != "[DONE]" {
					t.Fatalf("stream does not end with [DONE]: %s", r.body)
				}
				var (
					text    strings.Builder
					finish  []any
					usage   int
					roleSet bool
				)
				for _, e := range events[:len(events)-1] {
					m := e.json(t)
					if m["object"] != "chat.completion.chunk" || m["model"] != claudeModelName {
						t.Errorf("chunk %s", e.data)
					}
					if m["usage"] != nil {
						usage++
						if choices := m["choices"].([]any); len(choices) != 0 {
							t.Errorf("usage chunk has choices: %s", e.data)
						}
						continue
					}
					if s, ok := jsonAt(t, m, "choices", 0, "delta", "content").(string); ok {
						text.WriteString(s)
					}
					if jsonAt(t, m, "choices", 0, "delta", "role") == "assistant" {
						roleSet = true
					}
					if fr := jsonAt(t, m, "choices", 0, "finish_reason"); fr != nil {
						finish = append(finish, fr)
					}
				}
				if text.String() != ReplyText || !roleSet {
					t.Errorf("text %q, role set %v", text.String(), roleSet)
				}
				if !reflect.DeepEqual(finish, []any{"stop"}) {
					t.Errorf("finish reasons = %v", finish)
				}
				if want := map[bool]int{false: 0, true: 1}[includeUsage]; usage != want {
					t.Errorf("%d usage chunks, want %d", usage, want)
				}
			})
		}
	}
}

// modelCalls is one request per model protocol, for the auth tests.
var modelCalls = []struct{ name, path, body string }{
	{"anthropic", PathAnthropicMessages + "?beta=true", `{"model":"m","stream":true}`},
	{"anthropic gateway", PathGatewayAnthropicMessages, `{"model":"m"}`},
	{"responses", PathResponses, `{"model":"m","stream":true}`},
	{"responses gateway", PathGatewayResponses, `{"model":"m"}`},
	{"gemini", PathGoogleModelsPrefix + "m:streamGenerateContent?alt=sse", geminiBody},
	{"gemini gateway", PathGatewayGeminiModelsPrefix + "m:generateContent", geminiBody},
	{"chat", PathChatCompletions, `{"model":"m","stream":true}`},
	{"chat gateway", PathGatewayChatCompletions, `{"model":"m"}`},
}

func TestModelAuthentication(t *testing.T) {
	f := newFixture(t, Options{})
	deleted, deletedID := f.fw.IssuePAT(alice, "deleted", 0)
	f.fw.RevokeToken(deletedID)
	expiring, expiringID := f.fw.IssuePAT(alice, "expiring", time.Minute)
	f.clk.Advance(time.Hour)

	tests := []struct {
		name    string
		headers map[string]string
		status  int
		tokenID string
	}{
		{"live bearer", map[string]string{"Authorization": "Bearer " + f.pat}, 200, f.patID},
		{"x-api-key only", map[string]string{"x-api-key": f.pat}, 200, f.patID},
		{"x-goog-api-key only", map[string]string{"x-goog-api-key": f.pat}, 200, f.patID},
		{"dead bearer, live x-api-key", map[string]string{"Authorization": "Bearer " + deleted, "x-api-key": f.pat}, 200, f.patID},
		{"live bearer, unknown x-goog-api-key", map[string]string{"Authorization": "Bearer " + f.pat, "x-goog-api-key": "dapinope"}, 200, f.patID},
		{"deleted bearer", map[string]string{"Authorization": "Bearer " + deleted}, 403, deletedID},
		{"deleted in both headers", map[string]string{"Authorization": "Bearer " + deleted, "x-goog-api-key": deleted}, 403, deletedID},
		{"expired x-api-key", map[string]string{"x-api-key": expiring}, 403, expiringID},
		{"unknown bearer", map[string]string{"Authorization": "Bearer dapinope"}, 403, ""},
		{"unknown bearer, expired x-api-key", map[string]string{"Authorization": "Bearer dapinope", "x-api-key": expiring}, 403, expiringID},
		{"no credentials", map[string]string{}, 401, ""},
		{"basic scheme", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, ""},
	}
	for _, call := range modelCalls {
		for _, tc := range tests {
			t.Run(call.name+"/"+tc.name, func(t *testing.T) {
				r := doHeaders(t, f.url, "POST", call.path, tc.headers, call.body)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d (body %s)", r.status, tc.status, r.body)
				}
				switch tc.status {
				case 403:
					if string(r.body) != invalidTokenBody || r.header.Get("Content-Type") != "application/json" {
						t.Errorf("body %s, want exactly %s", r.body, invalidTokenBody)
					}
				case 401:
					if r.errorCode(t) != "UNAUTHENTICATED" {
						t.Errorf("body %s", r.body)
					}
				}
				got := lastRequest(t, f.fw)
				if got.TokenID != tc.tokenID || got.Status != tc.status || got.Model != "m" || got.Protocol == "" {
					t.Errorf("recorded %+v, want token %q status %d model m", got, tc.tokenID, tc.status)
				}
			})
		}
	}
	dump := fmt.Sprintf("%+v", f.fw.Requests())
	for _, v := range f.fw.MintedValues() {
		if strings.Contains(dump, v) {
			t.Error("a token value was recorded")
		}
	}
}

func TestModelRouteRejectsBadBody(t *testing.T) {
	f := newFixture(t, Options{})
	for _, call := range modelCalls {
		r := do(t, f.url, "POST", call.path, f.pat, `{"model":`)
		if r.status != 400 || r.errorCode(t) != "MALFORMED_REQUEST" {
			t.Errorf("%s: %d %s", call.name, r.status, r.body)
		}
		if got := lastRequest(t, f.fw); got.Protocol == "" || got.Status != 400 || got.TokenID != f.patID {
			t.Errorf("%s: recorded %+v", call.name, got)
		}
	}
	// Authentication comes first, as on the API routes.
	if r := do(t, f.url, "POST", PathResponses, "dapinope", `{`); r.status != 403 {
		t.Errorf("bad body with a bad token: %d", r.status)
	}
}

func TestModelRoutesUnexpected(t *testing.T) {
	for _, tc := range []struct{ method, path string }{
		{"GET", PathAnthropicMessages},
		{"POST", "/serving-endpoints/anthropic/v1/messages/count_tokens"},
		{"PUT", PathResponses},
		{"POST", PathResponsesModels},
		{"GET", PathChatCompletions},
		{"POST", PathGoogleModelsPrefix + "m:embedContent"},
		{"POST", PathGoogleModelsPrefix + ":generateContent"},
		{"POST", PathGoogleModelsPrefix + "m"},
		{"POST", PathGatewayGeminiModelsPrefix + "a/b:generateContent"},
		{"GET", PathGeminiModelsPrefix + "m:generateContent"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var (
				mu   sync.Mutex
				msgs []string
			)
			f := newFixture(t, Options{OnUnexpected: func(msg string) {
				mu.Lock()
				defer mu.Unlock()
				msgs = append(msgs, msg)
			}})
			r := do(t, f.url, tc.method, tc.path, f.pat, `{}`)
			if r.status != 404 || r.errorCode(t) != "ENDPOINT_NOT_FOUND" {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(msgs) != 1 || !strings.Contains(msgs[0], "POST "+PathAnthropicMessages) {
				t.Errorf("OnUnexpected messages %q should be one listing the model routes", msgs)
			}
		})
	}
}

func TestModelRouteFaults(t *testing.T) {
	f := newFixture(t, Options{})
	f.fw.AddFault("POST", PathAnthropicMessages, Fault{Times: 1, Status: 529, ErrorCode: "overloaded_error"})
	if r := do(t, f.url, "POST", PathAnthropicMessages, f.pat, `{"model":"m"}`); r.status != 529 {
		t.Fatalf("faulted: %d %s", r.status, r.body)
	}
	if got := lastRequest(t, f.fw); got.Status != 529 || got.Protocol != ProtocolAnthropic || got.Model != "m" {
		t.Errorf("recorded %+v", got)
	}
	// A delayed-after-handler fault replays the whole buffered stream.
	f.fw.AddFault("POST", PathChatCompletions, Fault{Times: 1, AfterHandler: true, Delay: time.Millisecond})
	r := do(t, f.url, "POST", PathChatCompletions, f.pat, `{"model":"m","stream":true}`)
	events := parseSSE(t, r)
	if r.status != 200 || len(events) == 0 || events[len(events)-1].data != "[DONE]" {
		t.Errorf("replayed stream: %d %s", r.status, r.body)
	}
}

func TestServingEndpoints(t *testing.T) {
	type endpoint struct {
		Name  string `json:"name"`
		ID    string `json:"id"`
		State struct {
			Ready string `json:"ready"`
		} `json:"state"`
	}
	list := func(t *testing.T, f *fixture) []endpoint {
		t.Helper()
		r := do(t, f.url, "GET", PathServingEndpoints, f.pat, "")
		if r.status != 200 {
			t.Fatalf("status %d body %s", r.status, r.body)
		}
		var body struct {
			Endpoints []endpoint `json:"endpoints"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || !bytes.Contains(r.body, []byte(`"endpoints":[`)) {
			t.Fatalf("body %s: %v", r.body, err)
		}
		for _, e := range body.Endpoints {
			if e.State.Ready != "READY" || e.ID == "" {
				t.Errorf("endpoint %+v", e)
			}
		}
		return body.Endpoints
	}
	names := func(es []endpoint) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.Name)
		}
		return out
	}
	t.Run("default", func(t *testing.T) {
		f := newFixture(t, Options{})
		got := names(list(t, f))
		if !reflect.DeepEqual(got, DefaultServingEndpoints) {
			t.Errorf("names = %v", got)
		}
		if !slices.Contains(got, "databricks-claude-sonnet-4-6") || !slices.Contains(got, "databricks-gemini-2-5-pro") {
			t.Errorf("defaults lack the documented models: %v", got)
		}
	})
	t.Run("configured", func(t *testing.T) {
		opts := Options{ServingEndpoints: []string{"my-claude", "my-gpt"}}
		f := newFixture(t, opts)
		opts.ServingEndpoints[0] = "changed" // New copied the slice
		if got := names(list(t, f)); !reflect.DeepEqual(got, []string{"my-claude", "my-gpt"}) {
			t.Errorf("names = %v", got)
		}
	})
	t.Run("empty", func(t *testing.T) {
		f := newFixture(t, Options{ServingEndpoints: []string{}})
		if got := list(t, f); len(got) != 0 {
			t.Errorf("endpoints = %v", got)
		}
	})
	t.Run("auth", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.fw.RevokeToken(f.patID)
		r := do(t, f.url, "GET", PathServingEndpoints, f.pat, "")
		if r.status != 403 || string(r.body) != invalidTokenBody {
			t.Errorf("deleted token: %d %s", r.status, r.body)
		}
		// The API routes take only the Authorization header.
		live, _ := f.fw.IssuePAT(alice, "", 0)
		if r := doHeaders(t, f.url, "GET", PathServingEndpoints, map[string]string{"x-api-key": live}, ""); r.status != 401 {
			t.Errorf("x-api-key on an API route: %d", r.status)
		}
		if got := lastRequest(t, f.fw); got.Protocol != "" || got.Model != "" || got.TokenID != "" {
			t.Errorf("recorded %+v", got)
		}
	})
}
