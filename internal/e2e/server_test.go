package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// TestMain removes the binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}

// server is one `sketchmatch serve` process with its own data.
type server struct {
	URL     string
	dir     string
	env     []string
	bin     string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts `sketchmatch serve` on a free loopback port with a fresh
// database, reference folder and log dir under a temp dir, the installed
// model preset and ONNX Runtime library, and waits until /readyz says ready.
// The process runs in the temp dir, so no .env of the checkout is read.
func startServer(t *testing.T, ortLib, modelsDir string) *server {
	t.Helper()
	bin := testenv.Binary(t)
	dir := t.TempDir()
	port := freePort(t)
	secret := make([]byte, 32)
	rand.Read(secret)
	s := &server{URL: "http://127.0.0.1:" + strconv.Itoa(port), dir: dir, bin: bin,
		logPath: filepath.Join(dir, "serve.log"), done: make(chan struct{})}
	// Only what the server needs: a variable of the developer's shell (or a
	// CI runner) must not change what is tested.
	s.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + os.TempDir(),
		"APP_ENV=development",
		"SECRET_KEY=" + hex.EncodeToString(secret),
		"HOST=127.0.0.1",
		"PORT=" + strconv.Itoa(port),
		"DATABASE_PATH=" + filepath.Join(dir, "data", "sketchmatch.db"),
		"REFERENCE_FOLDER=" + filepath.Join(dir, "reference_database"),
		"MODELS_DIR=" + modelsDir,
		"MODEL=faceplugin-arcface",
		"ORT_LIBRARY_PATH=" + ortLib,
		"LOG_DIR=" + filepath.Join(dir, "logs"),
		"LOG_LEVEL=info",
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = dir
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Its own process group, so an interrupted test run does not leave it
	// holding the terminal's signals.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	t.Cleanup(func() { s.stop(t) })

	deadline := time.Now().Add(90 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.done:
			t.Fatalf("sketchmatch serve exited before it was ready:\n%s", s.logTail(40))
		default:
		}
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sketchmatch serve not ready after 90 s (last: %v):\n%s", err, s.logTail(40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit; a server that hangs is
// killed and the test fails.
func (s *server) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("sketchmatch serve did not exit within 15 s of SIGTERM:\n%s", s.logTail(20))
	}
}

// cli runs a sketchmatch subcommand against the server's data.
func (s *server) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("sketchmatch %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// logTail is the end of the server's log, for failure messages.
func (s *server) logTail(lines int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// postLogin signs in outside the browser (a same-origin form POST) and
// returns the status (401: refused).
func (s *server) postLogin(t *testing.T, user, pass string) int {
	t.Helper()
	form := "username=" + url.QueryEscape(user) + "&password=" + url.QueryEscape(pass)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST /login: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
