package deploytest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	supervisorConfPath = "deploy/supervisor/sketchmatch.conf"
	programName        = "sketchmatch"
	// Where the shipped files put the install and supervisor's own log files.
	installDir       = "/opt/sketchmatch"
	supervisorLogDir = "/var/log/supervisor/"
)

// iniSection returns the lines of one section of a supervisor (ini) file,
// without the header, and its key=value pairs (comments dropped, keys
// lower-cased).
func iniSection(t *testing.T, src, header string) (lines []string, kv map[string]string) {
	t.Helper()
	kv = map[string]string{}
	in := false
	found := false
	for _, line := range strings.Split(src, "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "[") {
			in = trim == header
			found = found || in
			continue
		}
		if !in {
			continue
		}
		lines = append(lines, line)
		if trim == "" || strings.HasPrefix(trim, ";") || strings.HasPrefix(trim, "#") {
			continue
		}
		k, v, ok := strings.Cut(trim, "=")
		if !ok {
			t.Fatalf("%s: line %q in %s is not key=value", supervisorConfPath, line, header)
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if !found {
		t.Fatalf("%s: no %s section", supervisorConfPath, header)
	}
	return lines, kv
}

// TestSupervisorConfigText checks the shipped program section's values.
func TestSupervisorConfigText(t *testing.T) {
	_, kv := iniSection(t, readRepoFile(t, supervisorConfPath), "[program:"+programName+"]")
	cfg := defaultConfig(t)
	for key, want := range map[string]string{
		"command":      installDir + "/bin/sketchmatch serve",
		"directory":    installDir, // the app reads .env from here
		"user":         "sketchmatch",
		"autostart":    "true",
		"autorestart":  "true",
		"stopsignal":   "TERM",
		"stopwaitsecs": "10",
		"stopasgroup":  "true",
		"killasgroup":  "true",
	} {
		if got := kv[key]; got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	// Supervisor must not SIGKILL a server that is still draining requests.
	if stopWait, _ := strconv.Atoi(kv["stopwaitsecs"]); time.Duration(stopWait)*time.Second <= cfg.ShutdownTimeout {
		t.Errorf("stopwaitsecs=%s must exceed the app's SHUTDOWN_TIMEOUT %s", kv["stopwaitsecs"], cfg.ShutdownTimeout)
	}
	if n, err := strconv.Atoi(kv["startsecs"]); err != nil || n < 1 {
		t.Errorf("startsecs=%q, want a positive number of seconds", kv["startsecs"])
	}
	for _, key := range []string{"stdout_logfile", "stderr_logfile"} {
		if !strings.HasPrefix(kv[key], "/") {
			t.Errorf("%s=%q, want an absolute path", key, kv[key])
		}
		if kv[key+"_maxbytes"] == "" || kv[key+"_backups"] == "" {
			t.Errorf("%s has no rotation (%s_maxbytes, %s_backups)", key, key, key)
		}
	}
	if !strings.Contains(kv["environment"], `APP_ENV="production"`) {
		t.Errorf(`environment=%q, want APP_ENV="production" pinned`, kv["environment"])
	}
	if strings.Contains(kv["environment"], "SECRET_KEY") {
		t.Errorf("environment sets SECRET_KEY: secrets belong in %s/.env (mode 0640), not in the supervisor file", installDir)
	}
}

// supervisorEnv is a running supervisord with the shipped program section.
type supervisorEnv struct {
	t       *testing.T
	dir     string // supervisord's files
	root    string // stands for /opt/sketchmatch
	conf    string
	ctl     string
	done    chan struct{} // closed when supervisord has exited
	waitErr error         // its exit status, valid after done
	cmd     *exec.Cmd
	logPath string
}

// ctl runs supervisorctl against this supervisord and returns its output
// (supervisorctl's exit status encodes process states, so it is not an error).
func (s *supervisorEnv) run(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.ctl, append([]string{"-c", s.conf}, args...)...)
	cmd.Env = minimalEnv(s.dir)
	done := make(chan struct{})
	var out []byte
	go func() {
		out, _ = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		s.t.Fatalf("supervisorctl %v did not answer within 30s", args)
	}
	return strings.TrimSpace(string(out))
}

// state returns the program's state word (RUNNING, STARTING, STOPPED, ...).
func (s *supervisorEnv) state() string {
	f := strings.Fields(s.run("status", programName))
	if len(f) >= 2 && f[0] == programName {
		return f[1]
	}
	return strings.Join(f, " ")
}

func (s *supervisorEnv) pid() int {
	n, err := strconv.Atoi(s.run("pid", programName))
	if err != nil {
		return 0
	}
	return n
}

func (s *supervisorEnv) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// minimalEnv keeps the app's settings out of supervisord's (and so the
// program's) environment: only what the shipped file and the test set count.
func minimalEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8"}
}

// buildSketchmatch compiles the real server to dst.
func buildSketchmatch(t *testing.T, dst string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-o", dst, "./cmd/sketchmatch")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sketchmatch failed (the supervisor check needs the real server with `serve`): %v\n%s", err, out)
	}
}

// startSupervisor lays out a fake /opt/sketchmatch in a temp dir (binary,
// .env, data folders), writes a supervisord.conf whose program section is the
// shipped one with only the machine-specific parts rewritten, and starts
// supervisord in the foreground.
func startSupervisor(t *testing.T, port int) *supervisorEnv {
	t.Helper()
	supervisord := lookTool(t, "supervisord", "/usr/bin/supervisord")
	ctl := lookTool(t, "supervisorctl", "/usr/bin/supervisorctl")

	dir := t.TempDir()
	root := filepath.Join(dir, "install") // stands for /opt/sketchmatch
	for _, d := range []string{"bin", "data", "logs", "reference_database", "models", "lib"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	buildSketchmatch(t, filepath.Join(root, "bin", "sketchmatch"))
	// The ONNX Runtime library, when `make onnxruntime` installed it; the
	// models folder stays empty, so the server runs without a model.
	if lib := filepath.Join(repoRoot(t), "lib", "libonnxruntime.so.1"); fileExists(lib) {
		if err := os.Symlink(lib, filepath.Join(root, "lib", "libonnxruntime.so.1")); err != nil {
			t.Fatal(err)
		}
	}
	// The secret lives only in .env in the working directory, as in
	// DEPLOYMENT.md: with APP_ENV=production pinned by the shipped file, the
	// server starts only if it really reads .env from "directory".
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	envFile := fmt.Sprintf("# written by TestSupervisor\nSECRET_KEY=%s\n", hex.EncodeToString(secret))
	if err := os.WriteFile(filepath.Join(root, ".env"), []byte(envFile), 0o600); err != nil {
		t.Fatal(err)
	}

	lines, kv := iniSection(t, readRepoFile(t, supervisorConfPath), "[program:"+programName+"]")
	var prog []string
	for _, line := range lines {
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "user="):
			// supervisord can only switch users as root, and the test
			// machine has no "sketchmatch" user.
			continue
		case strings.HasPrefix(trim, "environment="):
			line += fmt.Sprintf(`,PORT="%d",HOST="127.0.0.1"`, port)
		}
		line = strings.ReplaceAll(line, installDir, root)
		line = strings.ReplaceAll(line, supervisorLogDir, filepath.Join(dir, "log")+"/")
		prog = append(prog, line)
	}
	if _, ok := kv["environment"]; !ok {
		prog = append(prog, fmt.Sprintf(`environment=PORT="%d",HOST="127.0.0.1"`, port))
	}
	program := strings.Join(prog, "\n")
	if m := regexp.MustCompile(`(?m)^[^;\n]*(/opt/|/var/|/etc/)[^\n]*$`).FindString(strings.ReplaceAll(program, dir, "")); m != "" {
		t.Fatalf("rewritten program section still points outside the test dir: %q", m)
	}

	sock := filepath.Join(dir, "supervisor.sock")
	logPath := filepath.Join(dir, "supervisord.log")
	conf := filepath.Join(dir, "supervisord.conf")
	text := fmt.Sprintf(`[unix_http_server]
file=%[1]s
chmod=0700

[supervisord]
nodaemon=true
logfile=%[2]s
loglevel=info
pidfile=%[3]s/supervisord.pid
childlogdir=%[3]s/log

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[1]s

[program:%[4]s]
%[5]s
`, sock, logPath, dir, programName, program)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(supervisord, "-c", conf)
	cmd.Env = minimalEnv(dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &supervisorEnv{t: t, dir: dir, root: root, conf: conf, ctl: ctl, cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("supervisord.conf:\n%s", text)
			t.Logf("supervisord output:\n%s\nsupervisord.log:\n%s", out.String(), s.log())
			for _, f := range []string{"sketchmatch-stdout.log", "sketchmatch-stderr.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, "log", f))
				t.Logf("%s:\n%s", f, tail(string(b), 4000))
			}
		}
		s.stopSupervisord()
	})
	return s
}

// stopSupervisord ends supervisord (it stops the program first) and, if it
// does not go within its deadline, kills it and any program it left behind.
func (s *supervisorEnv) stopSupervisord() {
	select {
	case <-s.done:
		return
	default:
	}
	child := s.pid()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return
	case <-time.After(20 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	if child > 0 {
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
	s.t.Errorf("supervisord did not shut down within 20s of SIGTERM")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func healthz(port int) (int, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + itoa(port) + "/healthz")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// TestSupervisor runs the real `sketchmatch serve` under the real supervisord
// from the shipped program section: it starts and serves /healthz, comes back
// after kill -9, and stops on SIGTERM cleanly within stopwaitsecs.
func TestSupervisor(t *testing.T) {
	port := freePort(t)
	s := startSupervisor(t, port)

	// waitRunning waits for RUNNING + /healthz 200 (and extra), and stops
	// waiting as soon as supervisor has given up on the program.
	waitRunning := func(what string, extra func() (bool, string)) {
		t.Helper()
		waitFor(t, 90*time.Second, what, func() (bool, string) {
			select {
			case <-s.done:
				t.Fatalf("supervisord exited: %v", s.waitErr)
			default:
			}
			st := s.state()
			if st == "FATAL" || st == "BACKOFF" {
				t.Fatalf("supervisor reports %s: the server does not stay up (see the stderr log below)", st)
			}
			code, err := healthz(port)
			if st != "RUNNING" || err != nil || code != http.StatusOK {
				return false, fmt.Sprintf("state %s, /healthz %d %v", st, code, err)
			}
			if extra != nil {
				return extra()
			}
			return true, ""
		})
	}

	t.Log("starting under supervisord")
	waitRunning("the server to be RUNNING and /healthz to answer 200", nil)
	pid1 := s.pid()
	if pid1 <= 0 {
		t.Fatalf("supervisorctl pid %s: %q", programName, s.run("pid", programName))
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid1)); err == nil && cwd != s.root {
		t.Errorf("server's working directory %s, want %s (directory=)", cwd, s.root)
	}
	// Relative defaults (LOG_DIR=logs, DATABASE_PATH=data/...) resolve
	// against "directory".
	if p := filepath.Join(s.root, "logs", "app.log"); !fileExists(p) {
		t.Errorf("no %s: LOG_DIR did not resolve against the working directory", p)
	}

	t.Logf("kill -9 %d", pid1)
	if err := syscall.Kill(pid1, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var pid2 int
	waitRunning("supervisor to restart the server after kill -9", func() (bool, string) {
		pid2 = s.pid()
		if pid2 <= 0 || pid2 == pid1 {
			return false, fmt.Sprintf("pid %d (was %d)", pid2, pid1)
		}
		return true, ""
	})
	if !strings.Contains(s.log(), "exited: "+programName+" (terminated by SIGKILL") {
		t.Errorf("supervisord.log does not record the SIGKILL exit")
	}

	t.Log("supervisorctl stop")
	start := time.Now()
	out := s.run("stop", programName)
	took := time.Since(start)
	if !strings.Contains(out, "stopped") {
		t.Fatalf("supervisorctl stop: %q", out)
	}
	if got := s.state(); got != "STOPPED" {
		t.Fatalf("state after stop=%s, want STOPPED", got)
	}
	if processAlive(pid2) {
		t.Fatalf("pid %d still alive after stop", pid2)
	}
	// A clean stop: the server exited by itself with status 0 after SIGTERM,
	// within stopwaitsecs, so supervisor never had to SIGKILL it.
	log := s.log()
	if !strings.Contains(log, "stopped: "+programName+" (exit status 0)") {
		t.Errorf("supervisord.log has no clean stop (`stopped: %s (exit status 0)`) after SIGTERM", programName)
	}
	if strings.Contains(log, "with SIGKILL") {
		t.Errorf("supervisor had to SIGKILL the server: it did not finish within stopwaitsecs")
	}
	if took >= 10*time.Second {
		t.Errorf("stop took %s, want less than stopwaitsecs (10s)", took)
	}
	t.Logf("stop took %s", took.Round(time.Millisecond))
	if code, err := healthz(port); err == nil {
		t.Errorf("/healthz still answers %d after stop", code)
	}

	// supervisord itself goes on SIGTERM.
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("supervisord did not exit within 20s of SIGTERM")
	}
}
