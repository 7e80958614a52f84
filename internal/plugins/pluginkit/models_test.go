package pluginkit

import "testing"

func TestLimits(t *testing.T) {
	if l := Limits(DefaultChatModel); l.Context != 200000 || l.Output != 64000 || l.Name != "Claude Sonnet 4.6 (Databricks)" {
		t.Errorf("Limits(%s) = %+v", DefaultChatModel, l)
	}
	if l := Limits("my-endpoint"); l != (ModelLimits{Name: "my-endpoint", Context: 128000, Output: 16384}) {
		t.Errorf("Limits of an unknown endpoint = %+v, want its own name and the conservative limits", l)
	}
}
