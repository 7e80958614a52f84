package pluginkit

// The serving endpoints chat agents get unless --model says otherwise: one
// owner, so every plugin defaults to the same models.
const (
	DefaultChatModel      = "databricks-claude-sonnet-4-6"
	DefaultSmallChatModel = "databricks-claude-haiku-4-5"
)

// ModelLimits are what agents that must be told (OpenCode, Pi, Crush) get
// for a serving endpoint: a display name, the context window, and the cap
// on an answer's tokens.
type ModelLimits struct {
	Name    string
	Context int
	Output  int
}

// knownModels are the endpoints coda knows the limits of.
var knownModels = map[string]ModelLimits{
	DefaultChatModel:      {"Claude Sonnet 4.6 (Databricks)", 200000, 64000},
	DefaultSmallChatModel: {"Claude Haiku 4.5 (Databricks)", 200000, 64000},
}

// Limits returns model's limits; a model coda does not know gets its own
// name and conservative limits (128k context, 16k answer, the defaults of
// OpenCode and Pi), under which an agent compacts early rather than late.
func Limits(model string) ModelLimits {
	if l, ok := knownModels[model]; ok {
		return l
	}
	return ModelLimits{Name: model, Context: 128000, Output: 16384}
}
