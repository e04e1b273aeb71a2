package deploytest

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/config"
)

// TestDeploymentDoc keeps DEPLOYMENT.md in step with the code and the files
// it installs: the production .env it tells ops to write is accepted by the
// real config parser, and every deploy/ file it names exists.
func TestDeploymentDoc(t *testing.T) {
	doc := readRepoFile(t, "DEPLOYMENT.md")

	t.Run("ProductionEnvIsValid", func(t *testing.T) {
		m := regexp.MustCompile(`(?s)cat > /opt/sketchmatch/\.env <<EOF\n(.*?)\nEOF\n`).FindStringSubmatch(doc)
		if m == nil {
			t.Fatal("DEPLOYMENT.md has no `cat > /opt/sketchmatch/.env <<EOF` block")
		}
		// What `openssl rand -hex 32` prints: production refuses a
		// patterned key such as "ab"×32.
		key := make([]byte, 32)
		rand.Read(key)
		block := strings.ReplaceAll(m[1], "$(openssl rand -hex 32)", hex.EncodeToString(key))
		if strings.Contains(block, "$") {
			t.Fatalf("the .env block has a shell expansion the test does not know: %q", block)
		}
		env := map[string]string{}
		configSrc := readRepoFile(t, "internal/config/config.go")
		for _, line := range strings.Split(block, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf(".env line %q is not KEY=VALUE", line)
			}
			if !strings.Contains(configSrc, `"`+k+`"`) {
				t.Errorf(".env sets %s, which internal/config does not read", k)
			}
			env[k] = v
		}
		cfg, err := config.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatalf("the documented production .env is rejected: %v", err)
		}
		if !cfg.Production() {
			t.Error("the documented .env is not APP_ENV=production")
		}
		if got, want := cfg.Addr(), "127.0.0.1:8000"; got != want {
			t.Errorf("listen address %s, want %s (the nginx upstream)", got, want)
		}
		if got, want := cfg.MaxUploadSize, int64(16<<20); got != want {
			t.Errorf("MAX_UPLOAD_SIZE=%d, want %d (nginx client_max_body_size 16m)", got, want)
		}
		trusted := false
		for _, p := range cfg.TrustedProxies {
			trusted = trusted || p.Contains(netip.MustParseAddr("127.0.0.1"))
		}
		if !trusted {
			t.Error("TRUSTED_PROXIES does not include nginx (127.0.0.1)")
		}
	})

	t.Run("NamedDeployFilesExist", func(t *testing.T) {
		root := repoRoot(t)
		seen := map[string]bool{}
		for _, p := range regexp.MustCompile(`deploy/[A-Za-z0-9_./-]*[A-Za-z0-9_]`).FindAllString(doc, -1) {
			if seen[p] {
				continue
			}
			seen[p] = true
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("DEPLOYMENT.md names %s: %v", p, err)
			}
		}
		if len(seen) < 5 {
			t.Errorf("found only %d deploy/ paths in DEPLOYMENT.md: %v", len(seen), seen)
		}
	})
}
