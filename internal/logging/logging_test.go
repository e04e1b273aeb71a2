package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
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

func TestLongValuesCut(t *testing.T) {
	long := strings.Repeat("é", 40<<10) // 80 KiB of two-byte runes
	for _, tc := range []struct {
		name, key string
		value     any
		max       int
	}{
		{"String", "path", long, MaxValueBytes + 32},
		{"Error", "err", errors.New(long), MaxValueBytes + 32},
		{"Stack", "stack", long, MaxStackBytes + 32},
		{"Short", "user", "alice", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			log, closer, err := Setup(dir, slog.LevelInfo, nil)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("x", tc.key, tc.value)
			closer.Close()
			data, _ := os.ReadFile(filepath.Join(dir, "app.log"))
			var rec map[string]any
			if err := json.Unmarshal(data, &rec); err != nil {
				t.Fatal(err)
			}
			got, _ := rec[tc.key].(string)
			if len(got) > tc.max {
				t.Fatalf("%s logged as %d bytes, want at most %d", tc.key, len(got), tc.max)
			}
			if tc.max > 100 && !strings.Contains(got, "…[cut ") {
				t.Fatalf("cut value not marked: …%s", got[len(got)-40:])
			}
			if !utf8.ValidString(got) {
				t.Fatal("cut inside a rune")
			}
		})
	}
}
