package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetup(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	log, closer, err := Setup(dir, slog.LevelInfo, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	forged := "alice\n{\"level\":\"INFO\",\"msg\":\"login\",\"user\":\"admin\"}\r\ntime=x level=INFO msg=forged"
	log.Info("login failed", "user", forged)
	log.Debug("hidden")
	closer.Close()

	data, err := os.ReadFile(filepath.Join(dir, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("JSONFileOneLinePerRecord", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if got, want := len(lines), 1; got != want {
			t.Fatalf("app.log has %d lines, want %d:\n%s", got, want, data)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["user"] != forged {
			t.Fatalf("user=%q, want the original value", rec["user"])
		}
	})
	t.Run("StderrOneLinePerRecord", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if got, want := len(lines), 1; got != want {
			t.Fatalf("stderr has %d lines, want %d:\n%s", got, want, stderr.String())
		}
	})
}
