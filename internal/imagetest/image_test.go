// Package imagetest builds the container image (scripts/build-image.sh,
// what `make image` runs) and runs it with Podman the way DEPLOYMENT.md
// says: a volume for /data, a read-only root file system, the non-root user,
// the HEALTHCHECK, the CLI in a second container on the same volume, a
// restart. The image is built once per test run under a throw-away name,
// and everything the test makes (containers, volume, images) is removed
// even when it fails. It skips, saying how to install it, without podman.
package imagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// pod runs podman with the repository's containers.conf.
type pod struct {
	t    *testing.T
	bin  string
	conf string
}

func (p pod) cmd(ctx context.Context, stdin string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, p.bin, args...)
	c.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	return c
}

// run returns stdout; stderr is in the error.
func (p pod) run(timeout time.Duration, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errb bytes.Buffer
	c := p.cmd(ctx, stdin, args...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return out.String(), fmt.Errorf("podman %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (p pod) must(timeout time.Duration, stdin string, args ...string) string {
	p.t.Helper()
	out, err := p.run(timeout, stdin, args...)
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

// ortPin is the ONNX Runtime library's sha256 pinned in the Makefile.
func ortPin(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ORT_LIB_SHA256\s*:=\s*([0-9a-f]{64})`).FindSubmatch(b)
	if m == nil {
		t.Fatal("ORT_LIB_SHA256 not found in the Makefile")
	}
	return string(m[1])
}

func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the container image test in -short mode")
	}
	bin, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman is not installed (Debian: apt-get install podman buildah runc); skipping the container image test (make image-test)")
	}
	for _, tool := range []string{"dpkg", "apt-get", "apt-cache"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the image is built from Debian packages on a Debian or Ubuntu machine; skipping", tool)
		}
	}
	if out, _ := exec.Command("apt-cache", "policy", "libstdc++6").Output(); !regexp.MustCompile(`Candidate: [0-9]`).Match(out) {
		t.Skip("apt has no package lists (run apt-get update): the image is built from Debian packages fetched with apt-get download; skipping")
	}
	testenv.ORTLibrary(t)
	testenv.ModelDir(t)
	root := testenv.Root()
	p := pod{t: t, bin: bin, conf: filepath.Join(root, "deploy", "podman", "containers.conf")}

	name := fmt.Sprintf("sketchmatch-imagetest-%d", os.Getpid())
	image := name + ":test"
	vol := name + "-data"
	ctrs := []string{name + "-app", name + "-cli"}
	t.Cleanup(func() {
		for _, c := range ctrs {
			p.run(time.Minute, "", "rm", "-f", "-v", "-t", "2", c) // -v: its anonymous /config volume too
		}
		p.run(time.Minute, "", "volume", "rm", "-f", vol)
		p.run(time.Minute, "", "rmi", "-f", image, name+":latest")
	})

	// Build once (the image is the subject of every subtest).
	work := t.TempDir()
	build := exec.Command(filepath.Join(root, "scripts", "build-image.sh"))
	build.Dir = root
	build.Env = append(os.Environ(), "IMAGE="+name, "VERSION=test", "IMAGE_WORK="+work,
		"DEB_CACHE="+filepath.Join(root, ".cache", "image", "debs"), "ORT_LIB_SHA256="+ortPin(t), "CONTAINERS_CONF="+p.conf)
	t0 := time.Now()
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/build-image.sh: %v\n%s", err, out)
	}
	t.Logf("image built in %s:\n%s", time.Since(t0).Round(100*time.Millisecond), out)

	t.Run("Inspect", func(t *testing.T) {
		var info []struct {
			Size   int64
			Config struct {
				User       string
				Volumes    map[string]any
				Entrypoint []string
			}
			// Podman reports the Docker-format HEALTHCHECK here.
			Healthcheck *struct{ Test []string }
			RootFS      struct{ Layers []string }
		}
		if err := json.Unmarshal([]byte(p.must(time.Minute, "", "image", "inspect", image)), &info); err != nil || len(info) != 1 {
			t.Fatalf("image inspect: %v", err)
		}
		c := info[0].Config
		if c.User != "65532:65532" {
			t.Errorf("User=%q, want 65532:65532", c.User)
		}
		for _, v := range []string{"/data", "/config"} {
			if _, ok := c.Volumes[v]; !ok {
				t.Errorf("volume %s not declared (Volumes=%v)", v, c.Volumes)
			}
		}
		if hc := info[0].Healthcheck; hc == nil || !strings.Contains(strings.Join(hc.Test, " "), "sketchmatch healthcheck") {
			t.Errorf("HEALTHCHECK missing or wrong (built without --format docker?): %+v", hc)
		}
		if got := len(info[0].RootFS.Layers); got != 1 {
			t.Errorf("%d layers, want 1 (FROM scratch + ADD rootfs.tar)", got)
		}
		if info[0].Size > 200_000_000 {
			t.Errorf("image is %d bytes, over the 200 MB limit", info[0].Size)
		}
		t.Logf("image: %d bytes, %d layer(s), user %s", info[0].Size, len(info[0].RootFS.Layers), c.User)
	})

	t.Run("NoShell", func(t *testing.T) {
		if _, err := p.run(time.Minute, "", "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", "true"); err == nil {
			t.Fatal("/bin/sh ran inside the image; it should have no shell")
		}
	})

	t.Run("RefusesProductionWithoutSecretKey", func(t *testing.T) {
		_, err := p.run(time.Minute, "", "run", "--rm", "--read-only", image, "serve")
		if err == nil || !strings.Contains(err.Error(), "SECRET_KEY is required") {
			t.Fatalf("serve without SECRET_KEY: want a refusal naming SECRET_KEY, got %v", err)
		}
	})

	key := make([]byte, 32)
	rand.Read(key)
	secret := "SECRET_KEY=" + hex.EncodeToString(key)
	password := "imagetest-" + hex.EncodeToString(key[:8])
	p.must(time.Minute, "", "volume", "create", vol)
	// The documented one-liner: the first administrator, before the server runs.
	p.must(2*time.Minute, password+"\n", "run", "--rm", "-i", "--read-only", "-v", vol+":/data", "-e", secret,
		image, "user", "add", "--username", "admin", "--role", "admin", "--password-stdin")

	app := ctrs[0]
	start := time.Now()
	p.must(time.Minute, "", "run", "-d", "--name", app, "--read-only", "--tmpfs", "/tmp", "-v", vol+":/data",
		"-e", secret, "-p", "127.0.0.1::8000", image)
	base := waitReady(t, p, app, 90*time.Second)
	t.Logf("container start to ready: %s (podman run -d to /readyz 200)", time.Since(start).Round(10*time.Millisecond))

	t.Run("Healthcheck", func(t *testing.T) {
		// No systemd here, so nothing runs the HEALTHCHECK on a timer.
		if _, err := p.run(time.Minute, "", "healthcheck", "run", app); err != nil {
			t.Fatal(err)
		}
		var st string
		for i := 0; i < 20; i++ {
			st = p.must(time.Minute, "", "inspect", "--format", "{{.State.Health.Status}}", app)
			if st == "healthy" {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if st != "healthy" {
			t.Fatalf("health status %q after podman healthcheck run", st)
		}
	})

	t.Run("NonRoot", func(t *testing.T) {
		if got := p.must(time.Minute, "", "top", app, "huser"); !strings.Contains(got, "65532") || strings.Contains(got, "\nroot") {
			t.Fatalf("podman top huser:\n%s\nwant the server running as 65532", got)
		}
	})

	t.Run("ReadOnlyRoot", func(t *testing.T) {
		// The server (and the CLI below) run with --read-only. Even root
		// cannot write to the image's files; the /tmp tmpfs is writable.
		if got := p.must(time.Minute, "", "inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", app); got != "true" {
			t.Fatalf("ReadonlyRootfs=%s", got)
		}
		if _, err := p.run(time.Minute, "", "exec", "--user", "0", app, "sketchmatch", "backup", "/opt/sketchmatch/probe.db"); err == nil {
			t.Fatal("root wrote under /opt: the root file system is not read-only")
		}
		if _, err := p.run(time.Minute, "", "exec", app, "sketchmatch", "backup", "/tmp/probe.db"); err != nil {
			t.Fatalf("the /tmp tmpfs should be writable: %v", err)
		}
	})

	t.Run("JSONLogsOnStdout", func(t *testing.T) {
		logs := p.must(time.Minute, "", "logs", app)
		lines := strings.Split(strings.TrimSpace(logs), "\n")
		var rec map[string]any
		for _, l := range lines {
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", l)
			}
		}
		if !strings.Contains(logs, `"msg":"listening"`) {
			t.Fatalf("no listening record in the logs:\n%s", logs)
		}
	})

	var cookie string
	t.Run("SignIn", func(t *testing.T) {
		cookie = signIn(t, base, password)
	})
	if cookie == "" {
		t.Fatal("cannot go on without a session")
	}

	// Two drawn people: their photos go in with the CLI in a second
	// container on the same volume; one's sketch is searched.
	in := t.TempDir()
	photos, sketches := testenv.SynthSet(t, in, 2, testenv.SynthSeed)
	os.Chmod(in, 0o755) // the container user (65532) reads the bind mount
	t.Run("ImportWithCLIInSecondContainer", func(t *testing.T) {
		out := p.must(5*time.Minute, "", "run", "--rm", "--name", ctrs[1], "--read-only", "--tmpfs", "/tmp",
			"-v", vol+":/data", "-v", in+":/in:ro", "-e", secret, image,
			"import", "--label-from-filename", "/in/"+filepath.Base(photos[0]), "/in/"+filepath.Base(photos[1]))
		t.Logf("import: %s", out)
		if n := referenceCount(t, base, cookie); n != 2 {
			t.Fatalf("%d references after the import, want 2", n)
		}
	})

	t.Run("Search", func(t *testing.T) {
		// The server adds rows imported by another process to its index
		// within its maintenance interval (10 s).
		deadline := time.Now().Add(45 * time.Second)
		for {
			// 400 "the gallery is empty" until the index has them.
			res, status, raw := trySearch(t, base, cookie, sketches[0])
			if status != http.StatusOK && status != http.StatusBadRequest {
				t.Fatalf("POST /api/v1/search: %d\n%s", status, raw)
			}
			if res.GallerySize == 2 && len(res.Candidates) == 2 {
				if !strings.HasPrefix(res.Candidates[0].Label, "photo-01") {
					t.Logf("top candidate %q (the drawn people are alike; rank is not what this test checks)", res.Candidates[0].Label)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("search still sees %d references, %d candidates: %d %s", res.GallerySize, len(res.Candidates), status, raw)
			}
			time.Sleep(2 * time.Second)
		}
	})

	t.Run("RestartKeepsData", func(t *testing.T) {
		p.must(2*time.Minute, "", "restart", "-t", "10", app)
		base := waitReady(t, p, app, 90*time.Second)
		if n := referenceCount(t, base, cookie); n != 2 {
			t.Fatalf("%d references after the restart, want 2 (the session cookie must survive too: same SECRET_KEY)", n)
		}
		if res := search(t, base, cookie, sketches[1]); len(res.Candidates) != 2 {
			t.Fatalf("search after the restart: %d candidates, want 2", len(res.Candidates))
		}
	})
}

// waitReady waits for /readyz 200 through the published port and returns
// the base URL.
func waitReady(t *testing.T, p pod, ctr string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	var base string
	for time.Now().Before(deadline) {
		if base == "" {
			if hp, err := p.run(30*time.Second, "", "port", ctr, "8000/tcp"); err == nil && hp != "" {
				base = "http://" + strings.Fields(hp)[0]
			}
		}
		if base != "" {
			if resp, err := http.Get(base + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return base
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs, _ := p.run(30*time.Second, "", "logs", ctr)
	t.Fatalf("%s not ready within %s; logs:\n%s", ctr, limit, logs)
	return ""
}

var noRedirect = &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signIn posts the login form and returns the session cookie ("name=value").
// The cookie is Secure in production, so it is carried by hand over the
// test's plain HTTP.
func signIn(t *testing.T, base, password string) string {
	t.Helper()
	resp, err := noRedirect.PostForm(base+"/login", url.Values{"username": {"admin"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login: %s, want 303", resp.Status)
	}
	for _, c := range resp.Cookies() {
		if c.Value != "" && c.MaxAge >= 0 {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie after signing in")
	return ""
}

func get(t *testing.T, base, cookie, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

func referenceCount(t *testing.T, base, cookie string) int {
	t.Helper()
	var out struct{ Total int }
	get(t, base, cookie, "/api/v1/references", &out)
	return out.Total
}

type searchResult struct {
	GallerySize int `json:"gallery_size"`
	Candidates  []struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	} `json:"candidates"`
}

func search(t *testing.T, base, cookie, sketch string) searchResult {
	t.Helper()
	res, status, raw := trySearch(t, base, cookie, sketch)
	if status != http.StatusOK {
		t.Fatalf("POST /api/v1/search: %d\n%s", status, raw)
	}
	return res
}

// trySearch returns the answer, its status and body.
func trySearch(t *testing.T, base, cookie, sketch string) (searchResult, int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("sketch", filepath.Base(sketch))
	b, err := os.ReadFile(sketch)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(b)
	mw.WriteField("k", "5")
	mw.WriteField("case_number", "IMAGE-TEST")
	mw.WriteField("allow_no_face", "true")
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/search", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", cookie)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var res searchResult
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("search answer: %v\n%s", err, raw)
		}
	}
	return res, resp.StatusCode, raw
}
