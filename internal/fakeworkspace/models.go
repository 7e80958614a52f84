package fakeworkspace

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/coda-cli/coda/internal/fakeworkspace/tokenapi"
)

// ReplyText is what every model route answers, whatever the prompt, so a test
// can check that an agent printed the fake's reply.
const ReplyText = "coda-fake-reply"

// Protocols of the model routes, as recorded in Request.Protocol.
const (
	ProtocolAnthropic = "anthropic" // Anthropic Messages (Claude Code)
	ProtocolResponses = "responses" // OpenAI Responses (Codex)
	ProtocolGemini    = "gemini"    // Google generateContent (Gemini CLI)
	ProtocolChat      = "chat"      // OpenAI chat completions (OpenCode)
)

// Model routes. Each protocol is served under the classic serving-endpoints
// path and under the workspace AI Gateway path; agents are configured with
// the base (the part before the suffix their SDK appends).
const (
	PathAnthropicMessages        = "/serving-endpoints/anthropic/v1/messages"
	PathGatewayAnthropicMessages = "/ai-gateway/anthropic/v1/messages"

	PathResponses        = "/serving-endpoints/responses"
	PathGatewayResponses = "/ai-gateway/codex/v1/responses"
	// Codex lists models next to its base URL; workspaces answer 404, which
	// Codex ignores. The fake answers the same without treating it as an
	// unexpected route.
	PathResponsesModels        = "/serving-endpoints/models"
	PathGatewayResponsesModels = "/ai-gateway/codex/v1/models"

	PathChatCompletions        = "/serving-endpoints/chat/completions"
	PathGatewayChatCompletions = "/ai-gateway/mlflow/v1/chat/completions"

	// Gemini paths are PREFIX + "{model}:{method}" with method
	// streamGenerateContent, generateContent or countTokens. Sources disagree
	// on google vs gemini under serving-endpoints, so both are served.
	PathGoogleModelsPrefix        = "/serving-endpoints/google/v1beta/models/"
	PathGeminiModelsPrefix        = "/serving-endpoints/gemini/v1beta/models/"
	PathGatewayGeminiModelsPrefix = "/ai-gateway/gemini/v1beta/models/"

	// PathServingEndpoints lists the workspace's serving endpoints.
	PathServingEndpoints = "/api/2.0/serving-endpoints"
)

// DefaultServingEndpoints are the endpoint names listed when
// Options.ServingEndpoints is nil: the models seen in use for coding agents.
var DefaultServingEndpoints = []string{
	"databricks-claude-opus-4-6",
	"databricks-claude-sonnet-4-6",
	"databricks-claude-haiku-4-5",
	"databricks-gpt-5-3-codex",
	"databricks-gemini-2-5-pro",
}

// Fixed usage figures reported by every model answer.
const (
	fakeInputTokens  = 12
	fakeOutputTokens = 4
)

// replyChunks is ReplyText split into the deltas of a streamed answer, so
// clients must concatenate them.
var replyChunks = []string{ReplyText[:len("coda-fake-")], ReplyText[len("coda-fake-"):]}

// modelHandler serves a model route; body is the request body.
type modelHandler func(s *Server, w http.ResponseWriter, r *http.Request, body []byte)

type modelRoute struct {
	protocol string
	// model is the model named in the path (Gemini); "" means the request
	// body's "model" field names it.
	model string
	// noAuth routes answer without authenticating (the 404 model lists).
	noAuth bool
	handle modelHandler
}

// modelRouteFor finds the model route for a method and URL path.
func modelRouteFor(method, path string) (modelRoute, bool) {
	switch path {
	case PathAnthropicMessages, PathGatewayAnthropicMessages:
		return modelRoute{protocol: ProtocolAnthropic, handle: (*Server).handleAnthropic}, method == http.MethodPost
	case PathResponses, PathGatewayResponses:
		return modelRoute{protocol: ProtocolResponses, handle: (*Server).handleResponses}, method == http.MethodPost
	case PathResponsesModels, PathGatewayResponsesModels:
		return modelRoute{protocol: ProtocolResponses, noAuth: true, handle: handleModelsNotFound}, method == http.MethodGet
	case PathChatCompletions, PathGatewayChatCompletions:
		return modelRoute{protocol: ProtocolChat, handle: (*Server).handleChat}, method == http.MethodPost
	}
	for _, prefix := range []string{PathGoogleModelsPrefix, PathGeminiModelsPrefix, PathGatewayGeminiModelsPrefix} {
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok {
			continue
		}
		model, op, ok := strings.Cut(rest, ":")
		if !ok || model == "" || strings.Contains(model, "/") || method != http.MethodPost {
			return modelRoute{}, false
		}
		route := modelRoute{protocol: ProtocolGemini, model: model}
		switch op {
		case "streamGenerateContent":
			route.handle = (*Server).handleGeminiStream
		case "generateContent":
			route.handle = (*Server).handleGeminiGenerate
		case "countTokens":
			route.handle = (*Server).handleGeminiCountTokens
		default:
			return modelRoute{}, false
		}
		return route, true
	}
	return modelRoute{}, false
}

// isModelPath reports whether path belongs to a model route, whatever the
// method; such requests authenticate with modelCredentials.
func isModelPath(path string) bool {
	_, ok := modelRouteFor(http.MethodPost, path)
	if !ok {
		_, ok = modelRouteFor(http.MethodGet, path)
	}
	return ok
}

// modelCredentials returns the token values a model request presents, in the
// order they are tried: Authorization Bearer, x-api-key (Anthropic SDKs),
// x-goog-api-key (Google SDKs).
func modelCredentials(r *http.Request) []string {
	var out []string
	if v, ok := tokenapi.Bearer(r); ok {
		out = append(out, v)
	}
	for _, h := range []string{"X-Api-Key", "X-Goog-Api-Key"} {
		if v := strings.TrimSpace(r.Header.Get(h)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// routeModel serves a model route, authenticating like the API routes but
// also accepting the token from x-api-key or x-goog-api-key. canHold is
// false when a fault buffers the answer.
func (s *Server) routeModel(w http.ResponseWriter, x *tokenapi.Exchange, route modelRoute, canHold bool) {
	r := x.R
	if route.noAuth {
		route.handle(s, w, r, nil)
		return
	}
	if !s.Authenticate(w, modelCredentials(r)) {
		return
	}
	body := x.Body
	if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, "MALFORMED_REQUEST", "Could not parse request body as JSON")
		return
	}
	if canHold && holdable(route, r) {
		s.mu.Lock()
		h, call := s.takeHoldLocked(route.protocol, body, x)
		s.mu.Unlock()
		if h != nil {
			s.serveHeld(w, x, h, call)
			return
		}
	}
	route.handle(s, w, r, body)
}

// holdable reports whether a held tool call may answer a request on route:
// any generating call, but not a Gemini token count.
func holdable(route modelRoute, r *http.Request) bool {
	return route.protocol != ProtocolGemini || geminiOp(r) != "countTokens"
}

// describeModelRequest returns the protocol and model of a model request, for
// the request record; ok is false for other routes.
func describeModelRequest(r *http.Request, body []byte) (protocol, model string, ok bool) {
	route, ok := modelRouteFor(r.Method, r.URL.Path)
	if !ok {
		return "", "", false
	}
	if route.model != "" {
		return route.protocol, route.model, true
	}
	var req struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(body, &req) // a bad body is answered by the handler
	return route.protocol, req.Model, true
}

func handleModelsNotFound(_ *Server, w http.ResponseWriter, r *http.Request, _ []byte) {
	writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for '"+r.Method+" "+r.URL.Path+"'")
}

// sse writes a server-sent event stream, flushing after every event.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &sse{w: w, rc: http.NewResponseController(w)}
}

// event sends one event; an empty name sends only the data line.
func (e *sse) event(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic("fakeworkspace: encode event: " + err.Error()) // programming error
	}
	if name != "" {
		_, _ = fmt.Fprintf(e.w, "event: %s\n", name)
	}
	_, _ = fmt.Fprintf(e.w, "data: %s\n\n", data)
	_ = e.rc.Flush() // unsupported when a fault buffers the answer
}

// raw sends a literal data line, such as "[DONE]".
func (e *sse) raw(data string) {
	_, _ = fmt.Fprintf(e.w, "data: %s\n\n", data)
	_ = e.rc.Flush()
}

type obj = map[string]any

// modelRequest holds the request body fields the handlers look at.
type modelRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func decodeModelRequest(body []byte) modelRequest {
	var req modelRequest
	_ = json.Unmarshal(body, &req) // validity was checked by routeModel
	return req
}

// Anthropic Messages.

func (s *Server) handleAnthropic(w http.ResponseWriter, _ *http.Request, body []byte) {
	req := decodeModelRequest(body)
	id := "msg_fake_" + randomHex(12)
	if !req.Stream {
		writeJSON(w, http.StatusOK, obj{
			"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content":     []obj{{"type": "text", "text": ReplyText}},
			"stop_reason": "end_turn", "stop_sequence": nil,
			"usage": obj{"input_tokens": fakeInputTokens, "output_tokens": fakeOutputTokens},
		})
		return
	}
	e := startSSE(w)
	e.event("message_start", obj{"type": "message_start", "message": obj{
		"id": id, "type": "message", "role": "assistant", "model": req.Model,
		"content": []obj{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": obj{"input_tokens": fakeInputTokens, "output_tokens": 1},
	}})
	e.event("content_block_start", obj{"type": "content_block_start", "index": 0,
		"content_block": obj{"type": "text", "text": ""}})
	for _, chunk := range replyChunks {
		e.event("content_block_delta", obj{"type": "content_block_delta", "index": 0,
			"delta": obj{"type": "text_delta", "text": chunk}})
	}
	e.event("content_block_stop", obj{"type": "content_block_stop", "index": 0})
	e.event("message_delta", obj{"type": "message_delta",
		"delta": obj{"stop_reason": "end_turn", "stop_sequence": nil},
		"usage": obj{"input_tokens": fakeInputTokens, "output_tokens": fakeOutputTokens}})
	e.event("message_stop", obj{"type": "message_stop"})
}

// OpenAI Responses.

// responsesAnswer frames one OpenAI Responses answer: as plain JSON, or as
// the numbered server-sent events Codex reads.
type responsesAnswer struct {
	id      string
	created int64
	model   string
	seq     int
	sse     *sse
}

// startResponses answers a request that does not stream with item at once
// (and returns nil); for a streaming one it opens the event stream.
func (s *Server) startResponses(w http.ResponseWriter, req modelRequest, item obj) *responsesAnswer {
	a := &responsesAnswer{id: "resp_fake_" + randomHex(12), created: s.clock.Now().Unix(), model: req.Model}
	if !req.Stream {
		writeJSON(w, http.StatusOK, a.response("completed", []obj{item}, responsesUsage()))
		return nil
	}
	a.sse = startSSE(w)
	return a
}

func (a *responsesAnswer) response(status string, output []obj, usage any) obj {
	return obj{"id": a.id, "object": "response", "created_at": a.created, "status": status,
		"model": a.model, "output": output, "usage": usage}
}

func (a *responsesAnswer) send(typ string, fields obj) {
	fields["type"] = typ
	fields["sequence_number"] = a.seq
	a.seq++
	a.sse.event(typ, fields)
}

func responsesUsage() obj {
	return obj{
		"input_tokens": fakeInputTokens, "input_tokens_details": obj{"cached_tokens": 0},
		"output_tokens": fakeOutputTokens, "output_tokens_details": obj{"reasoning_tokens": 0},
		"total_tokens": fakeInputTokens + fakeOutputTokens,
	}
}

func (s *Server) handleResponses(w http.ResponseWriter, _ *http.Request, body []byte) {
	req := decodeModelRequest(body)
	itemID := "msg_fake_" + randomHex(12)
	part := obj{"type": "output_text", "text": ReplyText, "annotations": []any{}}
	item := obj{"id": itemID, "type": "message", "status": "completed", "role": "assistant",
		"content": []obj{part}}
	a := s.startResponses(w, req, item)
	if a == nil {
		return
	}
	a.send("response.created", obj{"response": a.response("in_progress", []obj{}, nil)})
	a.send("response.in_progress", obj{"response": a.response("in_progress", []obj{}, nil)})
	a.send("response.output_item.added", obj{"output_index": 0, "item": obj{
		"id": itemID, "type": "message", "status": "in_progress", "role": "assistant", "content": []obj{}}})
	a.send("response.content_part.added", obj{"item_id": itemID, "output_index": 0, "content_index": 0,
		"part": obj{"type": "output_text", "text": "", "annotations": []any{}}})
	for _, chunk := range replyChunks {
		a.send("response.output_text.delta", obj{"item_id": itemID, "output_index": 0, "content_index": 0,
			"delta": chunk})
	}
	a.send("response.output_text.done", obj{"item_id": itemID, "output_index": 0, "content_index": 0,
		"text": ReplyText})
	a.send("response.content_part.done", obj{"item_id": itemID, "output_index": 0, "content_index": 0,
		"part": part})
	a.send("response.output_item.done", obj{"output_index": 0, "item": item})
	a.send("response.completed", obj{"response": a.response("completed", []obj{item}, responsesUsage())})
}

// Google generateContent.

func geminiResponse(model, text string, final bool) obj {
	cand := obj{"content": obj{"parts": []obj{{"text": text}}, "role": "model"}, "index": 0}
	r := obj{"candidates": []obj{cand}, "modelVersion": model}
	if final {
		cand["finishReason"] = "STOP"
		r["usageMetadata"] = obj{"promptTokenCount": fakeInputTokens,
			"candidatesTokenCount": fakeOutputTokens, "totalTokenCount": fakeInputTokens + fakeOutputTokens}
	}
	return r
}

func (s *Server) handleGeminiStream(w http.ResponseWriter, r *http.Request, _ []byte) {
	model := geminiModel(r)
	chunks := make([]obj, len(replyChunks))
	for i, c := range replyChunks {
		chunks[i] = geminiResponse(model, c, i == len(replyChunks)-1)
	}
	if r.URL.Query().Get("alt") != "sse" {
		// Without alt=sse the stream is one JSON array of responses.
		writeJSON(w, http.StatusOK, chunks)
		return
	}
	e := startSSE(w)
	for _, c := range chunks {
		e.event("", c)
	}
}

func (s *Server) handleGeminiGenerate(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, geminiResponse(geminiModel(r), ReplyText, true))
}

func (s *Server) handleGeminiCountTokens(w http.ResponseWriter, _ *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, obj{"totalTokens": fakeInputTokens})
}

// geminiModel is the {model} of a Gemini path.
func geminiModel(r *http.Request) string {
	rest := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	model, _, _ := strings.Cut(rest, ":")
	return model
}

// OpenAI chat completions.

func (s *Server) handleChat(w http.ResponseWriter, _ *http.Request, body []byte) {
	req := decodeModelRequest(body)
	id := "chatcmpl-fake" + randomHex(12)
	created := s.clock.Now().Unix()
	usage := obj{"prompt_tokens": fakeInputTokens, "completion_tokens": fakeOutputTokens,
		"total_tokens": fakeInputTokens + fakeOutputTokens}
	if !req.Stream {
		writeJSON(w, http.StatusOK, obj{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []obj{{"index": 0, "message": obj{"role": "assistant", "content": ReplyText},
				"finish_reason": "stop"}},
			"usage": usage,
		})
		return
	}
	e := startSSE(w)
	chunk := func(choices []obj) obj {
		return obj{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": choices}
	}
	for i, c := range replyChunks {
		delta := obj{"content": c}
		if i == 0 {
			delta["role"] = "assistant"
		}
		e.event("", chunk([]obj{{"index": 0, "delta": delta, "finish_reason": nil}}))
	}
	e.event("", chunk([]obj{{"index": 0, "delta": obj{}, "finish_reason": "stop"}}))
	if req.StreamOptions.IncludeUsage {
		last := chunk([]obj{})
		last["usage"] = usage
		e.event("", last)
	}
	e.raw("[DONE]")
}

// Serving endpoints list.

func (s *Server) handleServingEndpoints(w http.ResponseWriter) {
	endpoints := make([]obj, len(s.servingEndpoints))
	for i, name := range s.servingEndpoints {
		endpoints[i] = obj{
			"name":          name,
			"id":            fmt.Sprintf("%032x", i+1),
			"creator":       "system",
			"endpoint_type": "FOUNDATION_MODEL_API",
			"task":          "llm/v1/chat",
			"state":         obj{"ready": "READY", "config_update": "NOT_UPDATING"},
		}
	}
	writeJSON(w, http.StatusOK, obj{"endpoints": endpoints})
}

// modelRouteNames describe the model routes in unexpected-route messages.
var modelRouteNames = []string{
	"POST " + PathAnthropicMessages, "POST " + PathGatewayAnthropicMessages,
	"POST " + PathResponses, "POST " + PathGatewayResponses,
	"GET " + PathResponsesModels + " (404)", "GET " + PathGatewayResponsesModels + " (404)",
	"POST " + PathChatCompletions, "POST " + PathGatewayChatCompletions,
	"POST " + PathGoogleModelsPrefix + "{model}:{streamGenerateContent,generateContent,countTokens}",
	"POST " + PathGeminiModelsPrefix + "{model}:{...}",
	"POST " + PathGatewayGeminiModelsPrefix + "{model}:{...}",
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
