// Package logging sets up log/slog: JSON lines to LOG_DIR/app.log rotated by
// lumberjack, and human-readable text to stderr. Both slog handlers quote or
// escape CR/LF in values, so user-controlled strings cannot forge log lines.
package logging

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Setup returns a logger writing to dir/app.log and to stderr (if non-nil),
// and a closer that writes every queued line and closes the log file. The
// lines are written asynchronously (async.go); the closer must be called
// before exit or the last lines are lost. dir "" logs to stderr only.
func Setup(dir string, level slog.Level, stderr io.Writer) (*slog.Logger, io.Closer, error) {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: boundAttr}
	var handlers []slog.Handler
	var bufs []*bufio.Writer
	var closers []io.Closer
	if dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, nil, err
		}
		lj := &lumberjack.Logger{
			Filename:   filepath.Join(dir, "app.log"),
			MaxSize:    10, // megabytes
			MaxBackups: 10,
			Compress:   true,
		}
		// Opening the file now surfaces permission problems at start-up.
		if _, err := lj.Write(nil); err != nil {
			return nil, nil, err
		}
		b := bufio.NewWriterSize(lj, 64<<10)
		bufs = append(bufs, b)
		handlers = append(handlers, slog.NewJSONHandler(b, opts))
		closers = append(closers, lj)
	}
	if stderr != nil {
		b := bufio.NewWriter(stderr)
		bufs = append(bufs, b)
		handlers = append(handlers, slog.NewTextHandler(b, opts))
	}
	if len(handlers) == 0 {
		return nil, nil, errors.New("logging: no destination")
	}
	h := handlers[0]
	if len(handlers) > 1 {
		h = fanout(handlers)
	}
	// Records are written by one goroutine behind a bounded queue (async.go),
	// so no request handler waits on the log file.
	q := newAsyncQueue(bufs, closers)
	return slog.New(&asyncHandler{q: q, h: h}), q, nil
}

// MaxValueBytes bounds every string value written to the log, and
// MaxStackBytes the "stack" of a recovered panic. Request fields are clipped
// much shorter where they are logged (see Clip); this is the backstop, so no
// caller can let a client write megabytes per line and rotate the log files
// away.
const (
	MaxValueBytes = 4 << 10
	MaxStackBytes = 32 << 10
)

// boundAttr is the handlers' ReplaceAttr: string values (and errors and
// Stringers, which become strings) longer than the bound are cut and marked.
func boundAttr(_ []string, a slog.Attr) slog.Attr {
	limit := MaxValueBytes
	if a.Key == "stack" {
		limit = MaxStackBytes
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); len(s) > limit {
			a.Value = slog.StringValue(Clip(s, limit))
		}
	case slog.KindAny:
		var s string
		switch v := a.Value.Any().(type) {
		case error:
			s = v.Error()
		case fmt.Stringer:
			s = v.String()
		case []byte:
			s = string(v)
		default:
			return a
		}
		if len(s) > limit {
			a.Value = slog.StringValue(Clip(s, limit))
		}
	}
	return a
}

// Clip returns s if it is at most n bytes, else its first bytes (cut on a
// rune boundary, invalid UTF-8 replaced) followed by a marker saying how
// many bytes were dropped: "…[cut 59904 bytes]". Use it for every value that
// comes from a request (path, method, header, form field) before logging it.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "\uFFFD") + fmt.Sprintf("…[cut %d bytes]", len(s)-cut)
}

// fanout sends every record to each handler.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
