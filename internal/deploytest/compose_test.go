package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeNginxConfig checks deploy/compose/nginx.conf with Debian's
// nginx (-t): the compose service name and the container's certificate
// folder are rewritten to the test's own.
func TestComposeNginxConfig(t *testing.T) {
	compose := readRepoFile(t, "deploy/compose.yaml")
	for _, want := range []string{"image: sketchmatch:latest", "read_only: true", "sketchmatch-data:/data", ":/config:ro",
		"./compose/nginx.conf:/etc/nginx/conf.d/default.conf", "/opt/sketchmatch/bin/sketchmatch", "healthcheck"} {
		if !strings.Contains(compose, want) {
			t.Errorf("deploy/compose.yaml lacks %q", want)
		}
	}
	nginx := lookTool(t, "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	selfSignedCert(t, dir, "localhost")
	site := readRepoFile(t, "deploy/compose/nginx.conf")
	site = strings.ReplaceAll(site, "server app:8000;", "server 127.0.0.1:8000;")
	site = strings.ReplaceAll(site, "/etc/nginx/certs/", dir+"/")
	site = strings.ReplaceAll(site, "listen 80;", "listen 127.0.0.1:"+itoa(freePort(t))+";")
	site = strings.ReplaceAll(site, "listen 443 ssl;", "listen 127.0.0.1:"+itoa(freePort(t))+" ssl;")
	// nginx 1.22 (Debian 12) has no "http2 on;" (1.25.1+): drop it for the check.
	site = strings.ReplaceAll(site, "http2 on;", "")
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	main := "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents {}\nhttp {\n  access_log off;\n  include " + dir + "/site.conf;\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nginx, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t on deploy/compose/nginx.conf: %v\n%s", err, out)
	}
}
