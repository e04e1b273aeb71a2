// Package logging sets up log/slog: JSON lines to LOG_DIR/app.log rotated by
// lumberjack, and human-readable text to stderr. Both slog handlers quote or
// escape CR/LF in values, so user-controlled strings cannot forge log lines.
package logging

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Setup returns a logger writing to dir/app.log and to stderr (if non-nil),
// and a closer for the log file. dir "" logs to stderr only.
func Setup(dir string, level slog.Level, stderr io.Writer) (*slog.Logger, io.Closer, error) {
	opts := &slog.HandlerOptions{Level: level}
	var handlers []slog.Handler
	var closer io.Closer = io.NopCloser(nil)
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
		handlers = append(handlers, slog.NewJSONHandler(lj, opts))
		closer = lj
	}
	if stderr != nil {
		handlers = append(handlers, slog.NewTextHandler(stderr, opts))
	}
	if len(handlers) == 0 {
		return nil, nil, errors.New("logging: no destination")
	}
	if len(handlers) == 1 {
		return slog.New(handlers[0]), closer, nil
	}
	return slog.New(fanout(handlers)), closer, nil
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
