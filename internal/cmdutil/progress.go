package cmdutil

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// ProgressDelay is how long a step may take before its progress line
// shows: a command that finishes in a moment prints none.
const ProgressDelay = time.Second

// Progress tells a person on stderr what a slow command is waiting for.
// Each step's line is printed only once the step has run for longer than
// the delay, so fast runs print nothing and scripts see no noise.
type Progress struct {
	w     io.Writer
	delay time.Duration

	mu    sync.Mutex
	timer *time.Timer
	step  int
}

// NewProgress reports on w after delay.
func NewProgress(w io.Writer, delay time.Duration) *Progress {
	return &Progress{w: w, delay: delay}
}

// Step ends the current step and starts one whose line, what() + "…", is
// printed if it is still running after the delay. what is called then,
// so it can say what is still pending.
func (p *Progress) Step(what func() string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
	step := p.step
	p.timer = time.AfterFunc(p.delay, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.step == step {
			fmt.Fprintf(p.w, "%s…\n", what())
		}
	})
}

// Done ends the current step.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

func (p *Progress) stopLocked() {
	p.step++
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}
