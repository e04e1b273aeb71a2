package logging

import (
	"io"
	"log/slog"
)

// JSON returns a logger writing one JSON object per line to w: the
// container way (LOG_DIR empty), where the runtime collects stdout and
// rotates it. The JSON handler escapes CR/LF like the file handler.
func JSON(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
