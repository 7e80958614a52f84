// Package prompt asks a person for login details with charmbracelet/huh.
package prompt

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/charmbracelet/huh"

	"github.com/coda-cli/coda/internal/cmdutil"
	"github.com/coda-cli/coda/internal/exit"
	"github.com/coda-cli/coda/internal/workspace"
)

// Huh prompts on a terminal. The token field is masked and is never echoed.
type Huh struct {
	Ctx context.Context
	In  io.Reader
	Out io.Writer // the prompt's stream: stderr, never stdout
}

// Login asks for the workspace URL (prefilled) and a personal access token.
func (h Huh) Login(defaultHost string) (string, string, error) {
	host, token := defaultHost, ""
	form := huh.NewForm(huh.NewGroup(
		huh.NewInput().
			Title("Databricks workspace URL").
			Placeholder("https://<workspace>.cloud.databricks.com").
			Value(&host).
			Validate(func(s string) error { _, err := workspace.NormalizeHost(s); return err }),
		huh.NewInput().
			Title("Personal access token").
			Description("Used once to mint coda's own short-lived token; it is not stored.").
			EchoMode(huh.EchoModePassword).
			Value(&token).
			Validate(func(s string) error {
				if strings.TrimSpace(s) == "" {
					return errors.New("paste a personal access token")
				}
				return nil
			}),
	)).WithInput(h.In).WithOutput(h.Out).WithShowHelp(false)
	if err := h.run(form); err != nil {
		return "", "", err
	}
	return strings.TrimSpace(host), strings.TrimSpace(token), nil
}

// Choose asks for one of options.
func (h Huh) Choose(title string, options []cmdutil.Option) (string, error) {
	var value string
	opts := make([]huh.Option[string], 0, len(options))
	for _, o := range options {
		opts = append(opts, huh.NewOption(o.Label, o.Value))
	}
	form := huh.NewForm(huh.NewGroup(huh.NewSelect[string]().Title(title).Options(opts...).Value(&value))).
		WithInput(h.In).WithOutput(h.Out).WithShowHelp(false)
	if err := h.run(form); err != nil {
		return "", err
	}
	return value, nil
}

func (h Huh) run(form *huh.Form) error {
	ctx := h.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if err := form.RunWithContext(ctx); err != nil {
		if errors.Is(err, huh.ErrUserAborted) || errors.Is(err, context.Canceled) {
			return &exit.SilentError{Code: exit.Interrupted}
		}
		return err
	}
	return nil
}
