// Package faulttest proves SketchMatch under faults by running the real
// binary as a child process, the way operators run it: SIGTERM under load,
// kill -9 during a bulk import and during searches, a read-only reference
// folder, a missing or corrupt model, and a database locked by another
// writer. The tests are in this package's _test files.
//
// The helpers in this file (build the binary once, a throw-away
// configuration, start/stop/kill the server, sign in, search) are exported
// so that other packages' tests can drive the same real server:
// internal/deploytest runs it behind the shipped nginx configuration.
//
// Everything listens on loopback only, every wait is bounded, and a test
// skips (saying why) when the ONNX Runtime library, the model preset or
// ../shared/eval/dev is not installed.
package faulttest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the test reads and locks the server's database directly

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// Password is the password of every account the helpers create.
const Password = "fault-test-Passphrase-2026"

// configKeys are the variables the app reads; the child's environment gets
// only the values an Env sets, never stray ones from the developer's shell.
var configKeys = []string{"APP_ENV", "SECRET_KEY", "HOST", "PORT", "DATABASE_PATH", "REFERENCE_FOLDER",
	"MAX_UPLOAD_SIZE", "MODELS_DIR", "MODEL", "ORT_LIBRARY_PATH", "ORT_EXECUTION_PROVIDER", "ORT_CUDA_FALLBACK",
	"INFERENCE_WORKERS", "INFERENCE_QUEUE", "INTRA_OP_THREADS", "HOG_WEIGHT", "RERANK_N", "LOG_DIR", "LOG_LEVEL",
	"TRUSTED_PROXIES", "METRICS_ALLOWED_NETWORKS", "SESSION_IDLE_TIMEOUT", "SESSION_MAX_LIFETIME",
	"LOGIN_MAX_FAILURES", "LOGIN_LOCKOUT", "LOGIN_RATE_LIMIT", "SHUTDOWN_TIMEOUT", "READ_TIMEOUT",
	"WRITE_TIMEOUT", "SEARCH_DEFAULT_K", "SEARCH_MAX_K", "INFERENCE_NICE", "SKETCH_MAX_PIXELS",
	"RETENTION_SEARCH_DAYS", "DATABASE_URL", "DATABASE_MAX_CONNS"}

// Env is one throw-away installation: a database, a reference folder and a
// log folder in a temp dir, the repository's ONNX Runtime library and model
// presets. Every command runs with the temp dir as its working directory, so
// no .env file is read.
type Env struct {
	Bin       string
	Dir       string
	DBPath    string
	Refs      string // REFERENCE_FOLDER
	Logs      string // LOG_DIR (the server's JSON log is Logs/app.log)
	ModelsDir string
	// Vars are the configuration variables; tests change them before Start.
	Vars map[string]string
}

// NewEnv builds the binary (once) and a fresh installation. It skips the
// test when the ONNX Runtime library or the model preset is missing.
func NewEnv(tb testing.TB) *Env {
	tb.Helper()
	lib := testenv.ORTLibrary(tb)
	model := testenv.ModelDir(tb)
	bin := testenv.Binary(tb)
	dir := tb.TempDir()
	e := &Env{
		Bin: bin, Dir: dir,
		DBPath:    filepath.Join(dir, "data", "sketchmatch.db"),
		Refs:      filepath.Join(dir, "reference_database"),
		Logs:      filepath.Join(dir, "logs"),
		ModelsDir: filepath.Dir(model),
	}
	e.Vars = map[string]string{
		"APP_ENV":          "development",
		"SECRET_KEY":       "fault-test-secret-key-0123456789abcdef-not-for-production",
		"HOST":             "127.0.0.1",
		"DATABASE_PATH":    e.DBPath,
		"REFERENCE_FOLDER": e.Refs,
		"LOG_DIR":          e.Logs,
		"MODELS_DIR":       e.ModelsDir,
		"MODEL":            filepath.Base(model),
		"ORT_LIBRARY_PATH": lib,
		"LOG_LEVEL":        "info",
		// Two small workers keep the tests light on a shared machine.
		"INFERENCE_WORKERS": "1",
		"INTRA_OP_THREADS":  "2",
		"LOGIN_RATE_LIMIT":  "1000",
	}
	return e
}

// Environ is the child's environment: the parent's minus every app variable,
// plus Vars.
func (e *Env) Environ() []string {
	drop := map[string]bool{}
	for _, k := range configKeys {
		drop[k] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	for k, v := range e.Vars {
		out = append(out, k+"="+v)
	}
	return out
}

// Command is `sketchmatch args...` in this installation.
func (e *Env) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.Bin, args...)
	cmd.Dir = e.Dir
	cmd.Env = e.Environ()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs a CLI command (bounded to two minutes) and returns its combined
// output and exit code.
func (e *Env) Run(tb testing.TB, stdin string, args ...string) (string, int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := e.Command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			tb.Fatalf("sketchmatch %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), ee.ExitCode()
	}
	return string(out), 0
}

// MustRun is Run that fails the test on a non-zero exit.
func (e *Env) MustRun(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	out, code := e.Run(tb, stdin, args...)
	if code != 0 {
		tb.Fatalf("sketchmatch %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// AddUser creates an account with Password through the CLI.
func (e *Env) AddUser(tb testing.TB, username, role string) {
	tb.Helper()
	e.MustRun(tb, Password+"\n", "user", "add", "--username", username, "--role", role, "--password-stdin")
}

// AppLog is the server's JSON log (LOG_DIR/app.log), "" if none yet.
func (e *Env) AppLog() string {
	b, _ := os.ReadFile(filepath.Join(e.Logs, "app.log"))
	return string(b)
}

// CheckNoPanic fails the test when the server's log or output records a
// panic.
func (e *Env) CheckNoPanic(tb testing.TB, servers ...*Server) {
	tb.Helper()
	if log := e.AppLog(); strings.Contains(log, `"msg":"panic"`) || strings.Contains(log, "goroutine ") {
		tb.Errorf("the server log records a panic:\n%s", tail(log, 4000))
	}
	for _, s := range servers {
		if out := s.Output(); strings.Contains(out, "panic:") || strings.Contains(out, "msg=panic") {
			tb.Errorf("the server printed a panic:\n%s", tail(out, 4000))
		}
	}
}

// OpenDB opens the installation's SQLite database from the test process
// (the same driver and pragmas as the app).
func (e *Env) OpenDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+e.DBPath+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Count runs a SELECT COUNT(*)-like query returning one integer.
func Count(tb testing.TB, db *sql.DB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// syncBuffer collects a child's output safely across goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Server is a running `sketchmatch serve`.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT
	Port int

	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	waitMu sync.Mutex
	state  *os.ProcessState
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs `sketchmatch serve` on a free loopback port and waits (at most
// a minute) until /healthz answers. The server is killed when the test ends.
func (e *Env) Start(tb testing.TB) *Server {
	tb.Helper()
	s := e.StartAt(tb, FreePort(tb))
	s.WaitHealthy(tb, time.Minute)
	return s
}

// StartAt starts the server on port without waiting for it.
func (e *Env) StartAt(tb testing.TB, port int) *Server {
	tb.Helper()
	e.Vars["PORT"] = strconv.Itoa(port)
	cmd := exec.Command(e.Bin, "serve")
	cmd.Dir = e.Dir
	cmd.Env = e.Environ()
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port,
		cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting sketchmatch serve: %v", err)
	}
	go func() {
		cmd.Wait()
		s.waitMu.Lock()
		s.state = cmd.ProcessState
		s.waitMu.Unlock()
		close(s.done)
	}()
	tb.Cleanup(func() {
		if !s.Exited() {
			s.cmd.Process.Kill()
			<-s.done
		}
		if tb.Failed() {
			tb.Logf("server on port %d, output (tail):\n%s", port, tail(s.Output(), 6000))
		}
	})
	return s
}

// WaitHealthy polls /healthz until it answers 200, failing the test when the
// process exits or timeout passes.
func (s *Server) WaitHealthy(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if s.Exited() {
			tb.Fatalf("sketchmatch serve exited before answering (%s):\n%s", s.state, tail(s.Output(), 4000))
		}
		resp, err := c.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("sketchmatch serve did not answer /healthz within %s (last error: %v):\n%s", timeout, err, tail(s.Output(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitForLog waits until the server's output has a log line whose message
// is msg (the text log on its stderr), failing the test when the process
// exits or timeout passes.
func (s *Server) WaitForLog(tb testing.TB, msg string, timeout time.Duration) {
	tb.Helper()
	want := "msg=" + strconv.Quote(msg)
	if !strings.ContainsAny(msg, " =\"") {
		want = "msg=" + msg
	}
	deadline := time.Now().Add(timeout)
	for !strings.Contains(s.Output(), want) {
		if s.Exited() {
			tb.Fatalf("sketchmatch serve exited before logging %q (%s):\n%s", msg, s.state, tail(s.Output(), 4000))
		}
		if time.Now().After(deadline) {
			tb.Fatalf("sketchmatch serve did not log %q within %s:\n%s", msg, timeout, tail(s.Output(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// PeakRSS is the server's peak resident memory so far (VmHWM of
// /proc/PID/status), in bytes; it fails the test when it cannot be read.
func (s *Server) PeakRSS(tb testing.TB) int64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		tb.Fatalf("reading the server's memory: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// Output is what the server printed (its human-readable log).
func (s *Server) Output() string { return s.out.String() }

// Signal sends sig to the server.
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end and returns its exit
// code (-1 when killed by a signal); ok is false on timeout.
func (s *Server) Wait(timeout time.Duration) (code int, ok bool) {
	select {
	case <-s.done:
	case <-time.After(timeout):
		return 0, false
	}
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	return s.state.ExitCode(), true
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	s.cmd.Process.Signal(syscall.SIGKILL)
	if _, ok := s.Wait(10 * time.Second); !ok {
		tb.Fatal("the server survived SIGKILL for 10s")
	}
}

// NewClient is an HTTP client with its own cookie jar that does not follow
// redirects (the tests check them).
func NewClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
	}
}

// Login signs c in as username (with Password) and fails the test unless
// the server answers 303 with a session cookie.
func Login(tb testing.TB, c *http.Client, base, username string) {
	tb.Helper()
	status, body, err := PostLogin(c, base, username, Password)
	if err != nil {
		tb.Fatalf("POST /login as %s: %v", username, err)
	}
	if status != http.StatusSeeOther {
		tb.Fatalf("POST /login as %s: status %d, want 303\n%s", username, status, tail(body, 2000))
	}
}

// PostLogin posts the sign-in form and returns the status and body.
func PostLogin(c *http.Client, base, username, password string) (int, string, error) {
	form := "username=" + username + "&password=" + password
	req, err := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return Do(c, req)
}

// Do sends req and returns the status and the body as text.
func Do(c *http.Client, req *http.Request) (int, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Get fetches base+path and returns the status and body.
func Get(c *http.Client, base, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return 0, "", err
	}
	return Do(c, req)
}

// Multipart builds a multipart/form-data body: files maps field name to
// (file name, content) pairs, fields are plain values.
func Multipart(fields map[string]string, files map[string][]NamedFile) (body []byte, contentType string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for field, fs := range files {
		for _, f := range fs {
			w, _ := mw.CreateFormFile(field, f.Name)
			w.Write(f.Data)
		}
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// NamedFile is one uploaded file.
type NamedFile struct {
	Name string
	Data []byte
}

// APISearchResult is the JSON of POST /api/v1/search.
type APISearchResult struct {
	SearchID   int64  `json:"search_id"`
	Model      string `json:"model"`
	Candidates []struct {
		Rank        int     `json:"rank"`
		ReferenceID int64   `json:"reference_id"`
		Score       float64 `json:"score"`
	} `json:"candidates"`
}

// SearchAPI posts a sketch to /api/v1/search and returns the response
// (status, Retry-After, body) or a transport error.
func SearchAPI(c *http.Client, base string, sketch []byte, k int) (status int, retryAfter string, body []byte, err error) {
	b, ct := Multipart(map[string]string{"k": strconv.Itoa(k), "case_number": "FT-1"},
		map[string][]NamedFile{"sketch": {{Name: "sketch.jpg", Data: sketch}}})
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/search", bytes.NewReader(b))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", ct)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), body, err
}

// MustSearch runs a search that must succeed and returns its result.
func MustSearch(tb testing.TB, c *http.Client, base string, sketch []byte, k int) *APISearchResult {
	tb.Helper()
	status, _, body, err := SearchAPI(c, base, sketch, k)
	if err != nil {
		tb.Fatalf("POST /api/v1/search: %v", err)
	}
	if status != http.StatusOK {
		tb.Fatalf("POST /api/v1/search: status %d, want 200\n%s", status, tail(string(body), 2000))
	}
	var out APISearchResult
	if err := json.Unmarshal(body, &out); err != nil {
		tb.Fatalf("POST /api/v1/search: %v\n%s", err, body)
	}
	return &out
}

// DevSet copies the first n pairs of ../shared/eval/dev into the test's temp
// dir under opaque names (photos/p001.jpg, sketches/s001.jpg): the research
// set's identifiers never reach the system under test. It skips the test
// when ../shared is absent or has fewer than n pairs.
func DevSet(tb testing.TB, n int) (photoDir string, photos, sketches []string) {
	tb.Helper()
	pairs := testenv.DevPairs(tb)
	if len(pairs) < n {
		tb.Skipf("skipping: ../shared/eval/dev has %d pairs, the test needs %d", len(pairs), n)
	}
	dir := tb.TempDir()
	photoDir = filepath.Join(dir, "photos")
	for _, d := range []string{photoDir, filepath.Join(dir, "sketches")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for i, p := range pairs[:n] {
		ph := filepath.Join(photoDir, fmt.Sprintf("p%03d%s", i+1, filepath.Ext(p.Photo)))
		sk := filepath.Join(dir, "sketches", fmt.Sprintf("s%03d%s", i+1, filepath.Ext(p.Sketch)))
		testenv.CopyFile(tb, p.Photo, ph)
		testenv.CopyFile(tb, p.Sketch, sk)
		photos = append(photos, ph)
		sketches = append(sketches, sk)
	}
	return photoDir, photos, sketches
}

// ReadFile returns a file's bytes or fails the test.
func ReadFile(tb testing.TB, p string) []byte {
	tb.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// LogLines returns the JSON records of the server log whose "msg" is msg.
func (e *Env) LogLines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.AppLog()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
