package fakeworkspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/coda-cli/coda/internal/fakeworkspace/tokenapi"
)

// ToolCall is a tool an agent may offer in a model request, and the
// arguments the fake calls it with.
type ToolCall struct {
	// Name is the tool's name as the agent declares it.
	Name string
	// Arguments is a JSON object.
	Arguments string
}

// HeldCall is a one-shot armed by HoldToolCall: the next model request of
// its protocol that offers one of its tools is answered with a call of that
// tool, and the answer is held until Release. A test uses it to act while
// an agent's session is in the middle of a turn (rotate its token, say) and
// then to watch the session's next requests: the ones that carry the
// result of the call (FollowUps).
type HeldCall struct {
	s        *Server
	protocol string
	calls    []ToolCall
	callID   string

	arrived     chan struct{} // closed when the request arrived
	release     chan struct{} // closed by Release
	releaseOnce sync.Once

	// Under s.mu.
	held      *tokenapi.Exchange // the held request; nil until it arrives
	tool      ToolCall           // the call answered
	followUps []*tokenapi.Exchange
}

// HoldToolCall arms a held tool call for protocol (one of the Protocol
// constants). calls are the tools to call, in order of preference: the
// first one the request offers is called. A request that offers none of
// them, or that fails authentication, is served as usual and leaves the
// call armed. The held request is authenticated when it arrives; its
// answer, sent after Release, is the tool call whatever has happened to
// its token meanwhile. Holds end at Release, when the client goes away,
// or at Close.
func (s *Server) HoldToolCall(protocol string, calls ...ToolCall) (*HeldCall, error) {
	switch protocol {
	case ProtocolAnthropic, ProtocolResponses, ProtocolChat, ProtocolGemini:
	default:
		return nil, fmt.Errorf("fakeworkspace: unknown protocol %q", protocol)
	}
	if len(calls) == 0 {
		return nil, errors.New("fakeworkspace: HoldToolCall needs at least one tool")
	}
	for _, c := range calls {
		var args map[string]any
		if c.Name == "" || json.Unmarshal([]byte(c.Arguments), &args) != nil || args == nil {
			return nil, fmt.Errorf("fakeworkspace: tool call %q: want a name and a JSON object of arguments", c.Name)
		}
	}
	prefix := map[string]string{ProtocolAnthropic: "toolu_coda", ProtocolResponses: "call_coda",
		ProtocolChat: "call_coda", ProtocolGemini: "coda-call-"}[protocol]
	h := &HeldCall{
		s:        s,
		protocol: protocol,
		calls:    slices.Clone(calls),
		callID:   prefix + randomHex(12),
		arrived:  make(chan struct{}),
		release:  make(chan struct{}),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, h)
	return h, nil
}

// Arrived is closed once the held request has arrived.
func (h *HeldCall) Arrived() <-chan struct{} { return h.arrived }

// Wait waits until the held request arrives and returns its record.
func (h *HeldCall) Wait(ctx context.Context) (Request, error) {
	select {
	case <-h.arrived:
		req, _ := h.Request()
		return req, nil
	case <-ctx.Done():
		return Request{}, fmt.Errorf("fakeworkspace: no %s request offering %s arrived: %w", h.protocol, h.toolNames(), ctx.Err())
	}
}

func (h *HeldCall) toolNames() string {
	names := make([]string, len(h.calls))
	for i, c := range h.calls {
		names[i] = c.Name
	}
	return fmt.Sprintf("%q", names)
}

// Request returns the held request as recorded now (its Status is 0 until
// the answer leaves); ok is false before it arrived.
func (h *HeldCall) Request() (req Request, ok bool) {
	h.s.mu.Lock()
	held := h.held
	h.s.mu.Unlock()
	if held == nil {
		return Request{}, false
	}
	return held.Request(), true
}

// Tool returns the tool called, or "" before the request arrived.
func (h *HeldCall) Tool() string {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.tool.Name
}

// CallID is the id of the tool call, which the agent's result refers to.
func (h *HeldCall) CallID() string { return h.callID }

// Release sends the held answer, or disarms the call if no request has
// been held yet. It is safe to call more than once.
func (h *HeldCall) Release() {
	h.releaseOnce.Do(func() { close(h.release) })
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if h.held == nil {
		h.s.holds = slices.DeleteFunc(h.s.holds, func(x *HeldCall) bool { return x == h })
	}
}

// FollowUps returns the model requests, in arrival order, that carried the
// call's id after it was answered: the session's continuation (a retried
// request appears once per attempt).
func (h *HeldCall) FollowUps() []Request {
	h.s.mu.Lock()
	followUps := slices.Clone(h.followUps)
	h.s.mu.Unlock()
	out := make([]Request, len(followUps))
	for i, x := range followUps {
		out[i] = x.Request()
	}
	return out
}

// takeHoldLocked returns the armed call a model request meets, disarming
// it, or nil.
func (s *Server) takeHoldLocked(protocol string, body []byte, x *tokenapi.Exchange) (*HeldCall, ToolCall) {
	offered := offeredTools(protocol, body)
	if len(offered) == 0 {
		return nil, ToolCall{}
	}
	for _, h := range s.holds {
		if h.held != nil || h.protocol != protocol {
			continue
		}
		for _, c := range h.calls {
			if slices.Contains(offered, c.Name) {
				h.held, h.tool = x, c
				close(h.arrived)
				return h, c
			}
		}
	}
	return nil, ToolCall{}
}

// noteFollowUpLocked records x with every answered call whose id its body
// carries.
func (s *Server) noteFollowUpLocked(protocol string, body []byte, x *tokenapi.Exchange) {
	for _, h := range s.holds {
		if h.held != nil && h.held != x && h.protocol == protocol && bytes.Contains(body, []byte(h.callID)) {
			h.followUps = append(h.followUps, x)
		}
	}
}

// offeredTools returns the names of the tools a model request declares.
func offeredTools(protocol string, body []byte) []string {
	var req struct {
		Tools []struct {
			Name     string `json:"name"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
			FunctionDeclarations []struct {
				Name string `json:"name"`
			} `json:"functionDeclarations"`
		} `json:"tools"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	var out []string
	for _, t := range req.Tools {
		switch protocol {
		case ProtocolAnthropic, ProtocolResponses:
			out = append(out, t.Name)
		case ProtocolChat:
			out = append(out, t.Function.Name)
		case ProtocolGemini:
			for _, d := range t.FunctionDeclarations {
				out = append(out, d.Name)
			}
		}
	}
	return slices.DeleteFunc(out, func(n string) bool { return n == "" })
}

// serveHeld waits for Release, then answers with the tool call on w.
func (s *Server) serveHeld(w http.ResponseWriter, x *tokenapi.Exchange, h *HeldCall, call ToolCall) {
	r := x.R
	select {
	case <-h.release:
	case <-r.Context().Done():
		x.Abandon()
		return
	case <-s.closing:
		x.Abandon()
		return
	}
	req := decodeModelRequest(x.Body)
	switch h.protocol {
	case ProtocolAnthropic:
		s.writeAnthropicToolCall(w, req, h.callID, call)
	case ProtocolResponses:
		s.writeResponsesToolCall(w, req, h.callID, call)
	case ProtocolChat:
		s.writeChatToolCall(w, req, h.callID, call)
	case ProtocolGemini:
		writeGeminiToolCall(w, r, h.callID, call)
	}
}

func (s *Server) writeAnthropicToolCall(w http.ResponseWriter, req modelRequest, id string, call ToolCall) {
	msgID := "msg_fake_" + randomHex(12)
	usage := obj{"input_tokens": fakeInputTokens, "output_tokens": fakeOutputTokens}
	if !req.Stream {
		writeJSON(w, http.StatusOK, obj{
			"id": msgID, "type": "message", "role": "assistant", "model": req.Model,
			"content":     []obj{{"type": "tool_use", "id": id, "name": call.Name, "input": json.RawMessage(call.Arguments)}},
			"stop_reason": "tool_use", "stop_sequence": nil, "usage": usage,
		})
		return
	}
	e := startSSE(w)
	e.event("message_start", obj{"type": "message_start", "message": obj{
		"id": msgID, "type": "message", "role": "assistant", "model": req.Model,
		"content": []obj{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": obj{"input_tokens": fakeInputTokens, "output_tokens": 1},
	}})
	e.event("content_block_start", obj{"type": "content_block_start", "index": 0,
		"content_block": obj{"type": "tool_use", "id": id, "name": call.Name, "input": obj{}}})
	e.event("content_block_delta", obj{"type": "content_block_delta", "index": 0,
		"delta": obj{"type": "input_json_delta", "partial_json": call.Arguments}})
	e.event("content_block_stop", obj{"type": "content_block_stop", "index": 0})
	e.event("message_delta", obj{"type": "message_delta",
		"delta": obj{"stop_reason": "tool_use", "stop_sequence": nil}, "usage": usage})
	e.event("message_stop", obj{"type": "message_stop"})
}

func (s *Server) writeResponsesToolCall(w http.ResponseWriter, req modelRequest, callID string, call ToolCall) {
	itemID := "fc_fake_" + randomHex(12)
	item := obj{"id": itemID, "type": "function_call", "status": "completed", "call_id": callID,
		"name": call.Name, "arguments": call.Arguments}
	a := s.startResponses(w, req, item)
	if a == nil {
		return
	}
	a.send("response.created", obj{"response": a.response("in_progress", []obj{}, nil)})
	a.send("response.in_progress", obj{"response": a.response("in_progress", []obj{}, nil)})
	a.send("response.output_item.added", obj{"output_index": 0, "item": obj{"id": itemID, "type": "function_call",
		"status": "in_progress", "call_id": callID, "name": call.Name, "arguments": ""}})
	a.send("response.function_call_arguments.delta", obj{"item_id": itemID, "output_index": 0, "delta": call.Arguments})
	a.send("response.function_call_arguments.done", obj{"item_id": itemID, "output_index": 0, "arguments": call.Arguments})
	a.send("response.output_item.done", obj{"output_index": 0, "item": item})
	a.send("response.completed", obj{"response": a.response("completed", []obj{item}, responsesUsage())})
}

func (s *Server) writeChatToolCall(w http.ResponseWriter, req modelRequest, callID string, call ToolCall) {
	id := "chatcmpl-fake" + randomHex(12)
	created := s.clock.Now().Unix()
	usage := obj{"prompt_tokens": fakeInputTokens, "completion_tokens": fakeOutputTokens,
		"total_tokens": fakeInputTokens + fakeOutputTokens}
	if !req.Stream {
		writeJSON(w, http.StatusOK, obj{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []obj{{"index": 0, "finish_reason": "tool_calls", "message": obj{
				"role": "assistant", "content": nil,
				"tool_calls": []obj{{"id": callID, "type": "function",
					"function": obj{"name": call.Name, "arguments": call.Arguments}}},
			}}},
			"usage": usage,
		})
		return
	}
	e := startSSE(w)
	chunk := func(choices []obj) obj {
		return obj{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": choices}
	}
	e.event("", chunk([]obj{{"index": 0, "finish_reason": nil, "delta": obj{"role": "assistant",
		"tool_calls": []obj{{"index": 0, "id": callID, "type": "function",
			"function": obj{"name": call.Name, "arguments": ""}}}}}}))
	e.event("", chunk([]obj{{"index": 0, "finish_reason": nil, "delta": obj{
		"tool_calls": []obj{{"index": 0, "function": obj{"arguments": call.Arguments}}}}}}))
	e.event("", chunk([]obj{{"index": 0, "delta": obj{}, "finish_reason": "tool_calls"}}))
	if req.StreamOptions.IncludeUsage {
		last := chunk([]obj{})
		last["usage"] = usage
		e.event("", last)
	}
	e.raw("[DONE]")
}

func writeGeminiToolCall(w http.ResponseWriter, r *http.Request, callID string, call ToolCall) {
	model := geminiModel(r)
	resp := obj{
		"candidates": []obj{{"index": 0, "finishReason": "STOP", "content": obj{"role": "model",
			"parts": []obj{{"functionCall": obj{"id": callID, "name": call.Name, "args": json.RawMessage(call.Arguments)}}}}}},
		"modelVersion": model,
		"usageMetadata": obj{"promptTokenCount": fakeInputTokens, "candidatesTokenCount": fakeOutputTokens,
			"totalTokenCount": fakeInputTokens + fakeOutputTokens},
	}
	switch {
	case geminiOp(r) != "streamGenerateContent":
		writeJSON(w, http.StatusOK, resp)
	case r.URL.Query().Get("alt") != "sse":
		writeJSON(w, http.StatusOK, []obj{resp})
	default:
		startSSE(w).event("", resp)
	}
}

// geminiOp is the {method} of a Gemini path.
func geminiOp(r *http.Request) string {
	_, op, _ := strings.Cut(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], ":")
	return op
}
