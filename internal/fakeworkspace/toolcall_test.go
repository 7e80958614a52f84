package fakeworkspace

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A request body for each protocol that offers the tools named.
func toolsBody(protocol string, stream bool, names ...string) string {
	var tools []obj
	for _, n := range names {
		switch protocol {
		case ProtocolAnthropic:
			tools = append(tools, obj{"name": n, "input_schema": obj{"type": "object"}})
		case ProtocolResponses:
			tools = append(tools, obj{"type": "function", "name": n, "parameters": obj{"type": "object"}})
		case ProtocolChat:
			tools = append(tools, obj{"type": "function", "function": obj{"name": n, "parameters": obj{"type": "object"}}})
		case ProtocolGemini:
			tools = append(tools, obj{"functionDeclarations": []obj{{"name": n}}})
		}
	}
	body := obj{"model": "m", "stream": stream}
	if protocol == ProtocolGemini {
		body = obj{"contents": []obj{{"role": "user", "parts": []obj{{"text": "hi"}}}}}
	}
	if tools != nil {
		body["tools"] = tools
	}
	if protocol == ProtocolChat && stream {
		body["stream_options"] = obj{"include_usage": true}
	}
	b, _ := json.Marshal(body)
	return string(b)
}

func toolPath(protocol string, stream bool) string {
	switch protocol {
	case ProtocolAnthropic:
		return PathAnthropicMessages + "?beta=true"
	case ProtocolResponses:
		return PathResponses
	case ProtocolChat:
		return PathChatCompletions
	}
	if stream {
		return PathGoogleModelsPrefix + "m:streamGenerateContent?alt=sse"
	}
	return PathGoogleModelsPrefix + "m:generateContent"
}

// toolCallOf extracts (id, name, arguments) of the tool call in an answer.
func toolCallOf(t *testing.T, protocol string, r response, stream bool) (id, name string, args map[string]any) {
	t.Helper()
	decode := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("arguments %q: %v", s, err)
		}
		return m
	}
	if !stream {
		m := r.json(t)
		switch protocol {
		case ProtocolAnthropic:
			if m["stop_reason"] != "tool_use" {
				t.Errorf("stop_reason %v", m["stop_reason"])
			}
			c := jsonAt(t, m, "content", 0).(map[string]any)
			return c["id"].(string), c["name"].(string), c["input"].(map[string]any)
		case ProtocolResponses:
			c := jsonAt(t, m, "output", 0).(map[string]any)
			if c["type"] != "function_call" {
				t.Errorf("output %v", c)
			}
			return c["call_id"].(string), c["name"].(string), decode(c["arguments"].(string))
		case ProtocolChat:
			if jsonAt(t, m, "choices", 0, "finish_reason") != "tool_calls" {
				t.Errorf("choices %v", m["choices"])
			}
			c := jsonAt(t, m, "choices", 0, "message", "tool_calls", 0).(map[string]any)
			return c["id"].(string), jsonAt(t, c, "function", "name").(string), decode(jsonAt(t, c, "function", "arguments").(string))
		case ProtocolGemini:
			checkGeminiFinal(t, m)
			c := jsonAt(t, m, "candidates", 0, "content", "parts", 0, "functionCall").(map[string]any)
			return c["id"].(string), c["name"].(string), c["args"].(map[string]any)
		}
	}
	events := parseSSE(t, r)
	switch protocol {
	case ProtocolAnthropic:
		var partial strings.Builder
		var names []string
		for _, e := range events {
			m := e.json(t)
			names = append(names, e.name)
			switch e.name {
			case "content_block_start":
				id, name = jsonAt(t, m, "content_block", "id").(string), jsonAt(t, m, "content_block", "name").(string)
				if jsonAt(t, m, "content_block", "type") != "tool_use" {
					t.Errorf("block %s", e.data)
				}
			case "content_block_delta":
				partial.WriteString(jsonAt(t, m, "delta", "partial_json").(string))
			case "message_delta":
				if jsonAt(t, m, "delta", "stop_reason") != "tool_use" {
					t.Errorf("message_delta %s", e.data)
				}
			}
		}
		if names[0] != "message_start" || names[len(names)-1] != "message_stop" {
			t.Errorf("events %v", names)
		}
		return id, name, decode(partial.String())
	case ProtocolResponses:
		var argsDelta strings.Builder
		for i, e := range events {
			m := e.json(t)
			if m["type"] != e.name || m["sequence_number"] != float64(i) {
				t.Errorf("event %d %s", i, e.data)
			}
			switch e.name {
			case "response.function_call_arguments.delta":
				argsDelta.WriteString(m["delta"].(string))
			case "response.completed":
				c := jsonAt(t, m, "response", "output", 0).(map[string]any)
				id, name = c["call_id"].(string), c["name"].(string)
				if c["arguments"] != argsDelta.String() || c["type"] != "function_call" {
					t.Errorf("completed item %v, deltas %q", c, argsDelta.String())
				}
			}
		}
		if events[len(events)-1].name != "response.completed" {
			t.Errorf("last event %s", events[len(events)-1].name)
		}
		return id, name, decode(argsDelta.String())
	case ProtocolChat:
		var a strings.Builder
		var finish any
		usage := false
		for _, e := range events[:len(events)-1] {
			m := e.json(t)
			if m["usage"] != nil {
				usage = true
			}
			choices := m["choices"].([]any)
			if len(choices) == 0 {
				continue
			}
			if f := jsonAt(t, choices, 0, "finish_reason"); f != nil {
				finish = f
			}
			calls, _ := jsonAt(t, choices, 0, "delta", "tool_calls").([]any)
			for _, c := range calls {
				cm := c.(map[string]any)
				if v, ok := cm["id"].(string); ok {
					id = v
				}
				if v, ok := jsonAt(t, cm, "function", "name").(string); ok && v != "" {
					name = v
				}
				a.WriteString(jsonAt(t, cm, "function", "arguments").(string))
			}
		}
		if finish != "tool_calls" || !usage || events[len(events)-1].data != "[DONE]" {
			t.Errorf("finish %v usage %v last %q", finish, usage, events[len(events)-1].data)
		}
		return id, name, decode(a.String())
	}
	if len(events) != 1 {
		t.Fatalf("gemini events %v", events)
	}
	m := events[0].json(t)
	checkGeminiFinal(t, m)
	c := jsonAt(t, m, "candidates", 0, "content", "parts", 0, "functionCall").(map[string]any)
	return c["id"].(string), c["name"].(string), c["args"].(map[string]any)
}

func waitHeld(t *testing.T, h *HeldCall) Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestHoldToolCall(t *testing.T) {
	for _, protocol := range []string{ProtocolAnthropic, ProtocolResponses, ProtocolChat, ProtocolGemini} {
		for _, stream := range []bool{false, true} {
			name := protocol + map[bool]string{false: " non-stream", true: " stream"}[stream]
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, Options{})
				h, err := f.fw.HoldToolCall(protocol,
					ToolCall{Name: "absent", Arguments: `{}`},
					ToolCall{Name: "Bash", Arguments: `{"command":"echo hi"}`})
				if err != nil {
					t.Fatal(err)
				}
				// Requests that offer no tool, or none of the armed ones,
				// are served as usual and leave the call armed.
				for _, body := range []string{toolsBody(protocol, false), toolsBody(protocol, false, "Other")} {
					r := do(t, f.url, "POST", toolPath(protocol, false), f.pat, body)
					if r.status != 200 || !strings.Contains(string(r.body), "coda-fake-") {
						t.Fatalf("ordinary request: %d %s", r.status, r.body)
					}
				}
				// A request with a dead token is refused, not held.
				dead, deadID := f.fw.IssuePAT(alice, "dead", 0)
				f.fw.RevokeToken(deadID)
				if r := do(t, f.url, "POST", toolPath(protocol, stream), dead, toolsBody(protocol, stream, "Bash")); r.status != 403 {
					t.Fatalf("dead token: %d %s", r.status, r.body)
				}
				if _, ok := h.Request(); ok || h.Tool() != "" {
					t.Fatal("held before a matching request")
				}

				done := make(chan response, 1)
				go func() {
					r, err := doErr(context.Background(), http.DefaultClient, f.url, "POST",
						toolPath(protocol, stream), f.pat, toolsBody(protocol, stream, "Read", "Bash"))
					if err != nil {
						t.Error(err)
					}
					done <- r
				}()
				held := waitHeld(t, h)
				if held.Status != 0 || held.TokenID != f.patID || held.Protocol != protocol {
					t.Errorf("held request %+v", held)
				}
				if h.Tool() != "Bash" {
					t.Errorf("tool %q", h.Tool())
				}
				// The token dies while the answer is held: the answer is
				// still the tool call.
				f.fw.RevokeToken(f.patID)
				select {
				case r := <-done:
					t.Fatalf("answered before Release: %d %s", r.status, r.body)
				case <-time.After(50 * time.Millisecond):
				}
				h.Release()
				h.Release() // idempotent
				r := <-done
				if r.status != 200 {
					t.Fatalf("held answer: %d %s", r.status, r.body)
				}
				id, name, args := toolCallOf(t, protocol, r, stream)
				if id != h.CallID() || name != "Bash" || args["command"] != "echo hi" {
					t.Errorf("tool call id %q name %q args %v (call id %q)", id, name, args, h.CallID())
				}
				if got, _ := h.Request(); got.Status != 200 {
					t.Errorf("held request recorded %+v", got)
				}

				// One-shot: the next matching request is answered normally.
				live, liveID := f.fw.IssuePAT(alice, "next", 0)
				r = do(t, f.url, "POST", toolPath(protocol, false), live, toolsBody(protocol, false, "Bash"))
				if r.status != 200 || strings.Contains(string(r.body), h.CallID()) {
					t.Errorf("second request: %d %s", r.status, r.body)
				}
				// Follow-ups are the requests that carry the call's id.
				result := `{"model":"m","tools":[{"name":"Bash"}],"result":"` + h.CallID() + `"}`
				if protocol == ProtocolGemini {
					result = `{"contents":[{"role":"user","parts":[{"functionResponse":{"id":"` + h.CallID() + `","name":"Bash","response":{}}}]}]}`
				}
				do(t, f.url, "POST", toolPath(protocol, false), f.pat, result) // the dead token: 403
				do(t, f.url, "POST", toolPath(protocol, false), live, result)
				ups := h.FollowUps()
				if len(ups) != 2 || ups[0].TokenID != f.patID || ups[0].Status != 403 ||
					ups[1].TokenID != liveID || ups[1].Status != 200 || ups[1].Protocol != protocol {
					t.Errorf("follow-ups %+v", ups)
				}
			})
		}
	}
}

func TestHoldToolCallRejects(t *testing.T) {
	f := newFixture(t, Options{})
	for _, tc := range []struct {
		protocol string
		calls    []ToolCall
	}{
		{"smoke-signals", []ToolCall{{Name: "Bash", Arguments: `{}`}}},
		{ProtocolChat, nil},
		{ProtocolChat, []ToolCall{{Name: "", Arguments: `{}`}}},
		{ProtocolChat, []ToolCall{{Name: "bash", Arguments: `[]`}}},
		{ProtocolChat, []ToolCall{{Name: "bash", Arguments: `{`}}},
		{ProtocolChat, []ToolCall{{Name: "bash", Arguments: `null`}}},
	} {
		if _, err := f.fw.HoldToolCall(tc.protocol, tc.calls...); err == nil {
			t.Errorf("HoldToolCall(%q, %v) accepted", tc.protocol, tc.calls)
		}
	}
}

func TestHoldToolCallScope(t *testing.T) {
	f := newFixture(t, Options{})
	h, err := f.fw.HoldToolCall(ProtocolGemini, ToolCall{Name: "list_directory", Arguments: `{"dir_path":"."}`})
	if err != nil {
		t.Fatal(err)
	}
	// Another protocol offering the tool, a Gemini token count, and a
	// request that fails authentication do not take it.
	body := toolsBody(ProtocolChat, false, "list_directory")
	if r := do(t, f.url, "POST", PathChatCompletions, f.pat, body); r.status != 200 {
		t.Fatalf("chat: %d %s", r.status, r.body)
	}
	gbody := toolsBody(ProtocolGemini, false, "list_directory")
	if r := do(t, f.url, "POST", PathGoogleModelsPrefix+"m:countTokens", f.pat, gbody); r.status != 200 || r.json(t)["totalTokens"] == nil {
		t.Fatalf("countTokens: %d %s", r.status, r.body)
	}
	if r := do(t, f.url, "POST", PathGoogleModelsPrefix+"m:generateContent", "dapinope", gbody); r.status != 403 {
		t.Fatalf("bad token: %d %s", r.status, r.body)
	}
	select {
	case <-h.Arrived():
		t.Fatal("held by a request outside its scope")
	default:
	}
	// Release before arrival disarms it.
	h.Release()
	if r := do(t, f.url, "POST", PathGoogleModelsPrefix+"m:generateContent", f.pat, gbody); r.status != 200 ||
		jsonAt(t, r.json(t), "candidates", 0, "content", "parts", 0, "text") != ReplyText {
		t.Fatalf("after disarming: %d %s", r.status, r.body)
	}
	if _, ok := h.Request(); ok {
		t.Error("a released call was held")
	}
}

func TestHoldToolCallClientGone(t *testing.T) {
	f := newFixture(t, Options{})
	h, err := f.fw.HoldToolCall(ProtocolChat, ToolCall{Name: "bash", Arguments: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := doErr(ctx, http.DefaultClient, f.url, "POST", PathChatCompletions, f.pat, toolsBody(ProtocolChat, true, "bash"))
		errc <- err
	}()
	waitHeld(t, h)
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the request finished although its client gave up")
	}
	waitFor(t, func() bool { r, _ := h.Request(); return r.Status == StatusClientClosedRequest })
	h.Release()
}

func TestHoldToolCallClose(t *testing.T) {
	fw := New(Options{})
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	pat, _ := fw.IssuePAT(alice, "", 0)
	h, err := fw.HoldToolCall(ProtocolAnthropic, ToolCall{Name: "Bash", Arguments: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := doErr(context.Background(), http.DefaultClient, fw.URL(), "POST", PathAnthropicMessages, pat,
			toolsBody(ProtocolAnthropic, true, "Bash"))
		errc <- err
	}()
	waitHeld(t, h)
	closed := make(chan struct{})
	go func() { fw.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a held call")
	}
	<-errc
	if r, _ := h.Request(); r.Status != StatusClientClosedRequest {
		t.Errorf("held request at Close recorded %+v", r)
	}
}

func TestHoldToolCallWaitTimeout(t *testing.T) {
	f := newFixture(t, Options{})
	h, err := f.fw.HoldToolCall(ProtocolResponses, ToolCall{Name: "exec_command", Arguments: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := h.Wait(ctx); err == nil || !strings.Contains(err.Error(), "exec_command") {
		t.Errorf("Wait: %v", err)
	}
}
