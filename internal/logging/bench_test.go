package logging

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRequestLine: the request goroutines' cost of one access-log line
// to a file, with many goroutines logging at once: "sync" is the round-1
// set-up (the JSON handler writing to the file under its mutex), "async"
// Setup's queue. go test -bench RequestLine -cpu 2,8 -mutexprofile …
func BenchmarkRequestLine(b *testing.B) {
	attrs := []any{"request_id", "0123456789abcdef", "method", "GET", "path", "/searches/123", "route", "/searches/{id}",
		"status", 200, "bytes", 5123, "duration_ms", 12.5, "ip", "127.0.0.1", "user", "load042"}
	for _, mode := range []string{"sync", "async"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			var log *slog.Logger
			var closer io.Closer
			if mode == "sync" {
				f, err := os.Create(filepath.Join(dir, "app.log"))
				if err != nil {
					b.Fatal(err)
				}
				log, closer = slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{ReplaceAttr: boundAttr})), f
			} else {
				var err error
				if log, closer, err = Setup(dir, slog.LevelInfo, nil); err != nil {
					b.Fatal(err)
				}
			}
			before := Dropped()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					log.Info("request", attrs...)
				}
			})
			b.StopTimer()
			closer.Close()
			b.ReportMetric(float64(Dropped()-before)/float64(b.N), "dropped/op")
		})
	}
}
