package testenv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// Binary returns a sketchmatch binary built from this checkout
// (go build ./cmd/sketchmatch), built once per test process. Call
// testenv.RemoveBinary from TestMain to delete it afterwards.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go tool is not on PATH: %w", err)
			return
		}
		sweepStaleBinaries()
		if buildDir, err = os.MkdirTemp("", fmt.Sprintf("%s%d-", binDirPrefix, os.Getpid())); err != nil {
			buildErr = err
			return
		}
		p := filepath.Join(buildDir, "sketchmatch")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", p, "./cmd/sketchmatch")
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1") // ONNX Runtime is loaded through cgo
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/sketchmatch: %v\n%s", err, out)
			return
		}
		buildPath = p
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return buildPath
}

// RemoveBinary deletes what Binary built.
func RemoveBinary() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// binDirPrefix names the build folders: sketchmatch-bin-PID-RANDOM.
const binDirPrefix = "sketchmatch-bin-"

// sweepStaleBinaries removes build folders of test processes that have
// ended: packages without a TestMain calling RemoveBinary (such as
// internal/deploytest) leave theirs behind, and the next build clears them.
func sweepStaleBinaries() {
	ents, _ := os.ReadDir(os.TempDir())
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), binDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
		}
	}
}

// CopyFile copies a file (test data into a temp dir).
func CopyFile(tb testing.TB, from, to string) {
	tb.Helper()
	in, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}

// PNGHeader is a PNG signature and an IHDR chunk claiming w×h pixels, and
// nothing else: a pixel-flood probe that must be refused before decoding.
func PNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}
