// Package prompt asks a person for login details with charmbracelet/huh.
// With TERM=dumb huh runs its accessible mode (plain numbered prompts, no
// redraws); every field here works there too, and a prefilled value is
// kept when the answer is empty.
package prompt

import (
	"context"
	"errors"
	"io"
	"os"
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

// Login asks for the workspace URL (prefilled with p.Host, not asked when
// p.HostFixed) and a personal access token, masked.
func (h Huh) Login(p cmdutil.LoginPrompt) (string, string, error) {
	host, token := p.Host, ""
	var fields []huh.Field
	if !p.HostFixed {
		title := "Databricks workspace URL"
		if p.Host != "" && os.Getenv("TERM") == "dumb" {
			// Accessible mode shows no prefilled value: say what Enter keeps.
			title += " [" + p.Host + "]"
		}
		fields = append(fields, huh.NewInput().
			Title(title).
			Placeholder("https://<workspace>.cloud.databricks.com").
			Value(&host).
			Validate(hostValidator(p.Host)))
	}
	fields = append(fields, huh.NewInput().
		Title("Personal access token").
		Description("Used once to mint coda's own short-lived token; it is not stored.").
		EchoMode(huh.EchoModePassword).
		Value(&token).
		Validate(func(s string) error {
			if strings.TrimSpace(s) == "" {
				return errors.New("paste a personal access token")
			}
			return nil
		}))
	form := huh.NewForm(huh.NewGroup(fields...)).WithInput(h.In).WithOutput(h.Out).WithShowHelp(false)
	if err := h.run(form); err != nil {
		return "", "", err
	}
	if strings.TrimSpace(host) == "" {
		host = p.Host // an emptied field keeps the prefilled URL
	}
	return strings.TrimSpace(host), strings.TrimSpace(token), nil
}

// hostValidator checks the URL typed. An empty answer keeps def when there
// is one: huh's accessible mode (TERM=dumb) validates the line as typed,
// before it falls back to the prefilled value, so Enter must pass.
func hostValidator(def string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" && def != "" {
			return nil
		}
		_, err := workspace.NormalizeHost(s)
		return err
	}
}

// Confirm asks a yes-or-no question; def is what Enter answers.
func (h Huh) Confirm(title string, def bool) (bool, error) {
	answer := def
	form := huh.NewForm(huh.NewGroup(huh.NewConfirm().Title(title).Value(&answer))).
		WithInput(h.In).WithOutput(h.Out).WithShowHelp(false)
	if err := h.run(form); err != nil {
		return false, err
	}
	return answer, nil
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
