package cmdutil

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the progress timer's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgress(t *testing.T) {
	var out syncBuffer
	p := NewProgress(&out, 30*time.Millisecond)
	p.Step(func() string { return "quick" })
	p.Done()
	pending := "a, b"
	p.Step(func() string { return "Waiting for " + pending })
	time.Sleep(150 * time.Millisecond)
	p.Step(func() string { return "also quick" })
	p.Done()
	time.Sleep(60 * time.Millisecond) // a stopped step's timer never fires
	if got := out.String(); got != "Waiting for a, b…\n" {
		t.Errorf("progress = %q, want only the slow step", got)
	}
}
