package logging

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gate is a writer that blocks every Write until opened.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gate) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

func TestAsyncQueue(t *testing.T) {
	t.Run("NoLineLostAtClose", func(t *testing.T) {
		dir := t.TempDir()
		log, closer, err := Setup(dir, slog.LevelInfo, nil)
		if err != nil {
			t.Fatal(err)
		}
		const n = 20000 // more than the queue holds: the writers wait for room or drop
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n/4; i++ {
					log.Info("event", "i", i) // not an access-log line: never dropped
				}
			}()
		}
		wg.Wait()
		if err := closer.Close(); err != nil {
			t.Fatal(err)
		}
		log.Warn("after close") // written synchronously
		data, err := os.ReadFile(filepath.Join(dir, "app.log"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(data), "\n"); got != n+1 {
			t.Fatalf("app.log has %d lines, want %d", got, n+1)
		}
		if !strings.Contains(string(data), "after close") {
			t.Fatal("the line logged after Close is missing")
		}
	})

	tests := []struct {
		name        string
		level       slog.Level
		msg         string
		status      int
		wantDropped bool
	}{
		{"InfoRequestOK", slog.LevelInfo, "request", 200, true},
		{"DebugRequestRedirect", slog.LevelDebug, "request", 303, true},
		{"InfoRequestForbidden", slog.LevelInfo, "request", 403, false},
		{"ErrorRequest", slog.LevelError, "request", 500, false},
		{"WarnRequest", slog.LevelWarn, "request", 200, false},
		{"InfoOtherEvent", slog.LevelInfo, "login failed", 200, false},
		{"WarnEvent", slog.LevelWarn, "account locked", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := QueueSize
			QueueSize = 4
			defer func() { QueueSize = old }()
			g := &gate{open: make(chan struct{})}
			log, closer, err := Setup("", slog.LevelDebug, g)
			if err != nil {
				t.Fatal(err)
			}
			before := Dropped()
			const n = 50
			done := make(chan struct{})
			go func() { // the writer is blocked: the queue fills
				defer close(done)
				for i := 0; i < n; i++ {
					log.Log(t.Context(), tc.level, tc.msg, "status", tc.status, "i", i)
				}
			}()
			if tc.wantDropped {
				select {
				case <-done: // never waited for the blocked writer
				case <-time.After(10 * time.Second):
					t.Fatal("logging a droppable line waited for the blocked writer")
				}
			}
			close(g.open)
			<-done
			if err := closer.Close(); err != nil {
				t.Fatal(err)
			}
			lines := strings.Count(g.String(), "\n")
			drops := Dropped() - before
			if tc.wantDropped {
				if drops == 0 || lines+int(drops) != n {
					t.Fatalf("%d lines written, %d dropped; want some dropped and %d in all", lines, drops, n)
				}
			} else if drops != 0 || lines != n {
				t.Fatalf("%d lines written, %d dropped; want all %d written", lines, drops, n)
			}
		})
	}
}

func TestAsyncFlush(t *testing.T) {
	var buf syncBuffer
	log, closer, err := Setup("", slog.LevelInfo, &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	log.Info("one")
	log.Handler().(*asyncHandler).q.Flush()
	if !strings.Contains(buf.String(), "msg=one") {
		t.Fatalf("after Flush: %q", buf.String())
	}
}

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
