package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/pgtest"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

func TestMain(m *testing.M) {
	auth.HashParams = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	os.Exit(pgtest.Main(m))
}

// setup points the configuration at a temp dir.
func setup(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("DATABASE_PATH", filepath.Join(dir, "db", "sm.db"))
	t.Setenv("REFERENCE_FOLDER", filepath.Join(dir, "refs"))
	t.Setenv("LOG_DIR", filepath.Join(dir, "logs"))
	t.Setenv("MODELS_DIR", filepath.Join(dir, "models"))
	return dir
}

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUserCommands(t *testing.T) {
	setup(t)
	if code, _, errs := run(t, "a long enough passphrase\n", "user", "add", "--username", "alice", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s", code, errs)
	}
	t.Run("ErrWeakPassword", func(t *testing.T) {
		code, _, errs := run(t, "short\n", "user", "add", "--username", "bob", "--role", "officer", "--password-stdin")
		if code != 1 || !strings.Contains(errs, "12") {
			t.Fatalf("weak password: %d %q", code, errs)
		}
	})
	t.Run("ErrBadRole", func(t *testing.T) {
		if code, _, _ := run(t, "a long enough passphrase\n", "user", "add", "--username", "bob", "--role", "chief", "--password-stdin"); code != 1 {
			t.Fatalf("bad role accepted: %d", code)
		}
	})
	t.Run("ListDisablePasswd", func(t *testing.T) {
		run(t, "another long passphrase\n", "user", "add", "--username", "bob", "--role", "officer", "--password-stdin")
		if code, _, errs := run(t, "", "user", "disable", "--username", "bob"); code != 0 {
			t.Fatalf("disable: %s", errs)
		}
		if code, _, errs := run(t, "a brand new passphrase\n", "user", "passwd", "--username", "bob", "--password-stdin"); code != 0 {
			t.Fatalf("passwd: %s", errs)
		}
		_, out, _ := run(t, "", "user", "list")
		if !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || !strings.Contains(out, "disabled") {
			t.Fatalf("list:\n%s", out)
		}
		if strings.Contains(out, "passphrase") {
			t.Fatal("password printed")
		}
	})
	t.Run("BootstrapOnlyOnEmptyDB", func(t *testing.T) {
		code, out, _ := run(t, "", "user", "bootstrap")
		if code != 0 || out != "" {
			t.Fatalf("bootstrap with users present: %d %q", code, out)
		}
	})
}

func TestBootstrapPrintsRandomPassword(t *testing.T) {
	setup(t)
	code, out, errs := run(t, "", "user", "bootstrap")
	if code != 0 || !strings.Contains(out, "username: admin") {
		t.Fatalf("bootstrap: %d %q %q", code, out, errs)
	}
	i := strings.Index(out, "password: ")
	pw := strings.Fields(out[i+len("password: "):])[0]
	if len(pw) < 16 {
		t.Fatalf("generated password %q too short", pw)
	}
	setup(t)
	_, out2, _ := run(t, "", "user", "bootstrap")
	if strings.Contains(out2, pw) {
		t.Fatal("the same password twice")
	}
}

func TestBackupAndAuditVerify(t *testing.T) {
	dir := setup(t)
	run(t, "a long enough passphrase\n", "user", "add", "--username", "alice", "--role", "admin", "--password-stdin")
	run(t, "a long enough passphrase\n", "user", "add", "--username", "bob", "--role", "officer", "--password-stdin")
	dst := filepath.Join(dir, "backup.db")
	if code, _, errs := run(t, "", "backup", dst); code != 0 {
		t.Fatalf("backup: %s", errs)
	}
	if code, _, _ := run(t, "", "backup", dst); code != 1 {
		t.Fatal("backup over an existing file")
	}
	if code, out, _ := run(t, "", "audit", "verify"); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("verify: %d %s", code, out)
	}
	db, err := store.Open(context.Background(), os.Getenv("DATABASE_PATH"))
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`DROP TRIGGER audit_log_no_update`)
	if _, err := db.Exec(`UPDATE audit_log SET details = 'edited' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, _ := run(t, "", "audit", "verify")
	if code != 1 || !strings.Contains(out, "row 1") {
		t.Fatalf("tampered chain: %d %s", code, out)
	}
}

func TestCheckFailsWithoutModel(t *testing.T) {
	setup(t)
	os.MkdirAll(os.Getenv("REFERENCE_FOLDER"), 0o750)
	code, out, _ := run(t, "", "check")
	if code != 1 || !strings.Contains(out, "model") || !strings.Contains(out, "FAIL") {
		t.Fatalf("check without a model: %d\n%s", code, out)
	}
}

func TestUsage(t *testing.T) {
	if code, _, _ := run(t, "", "frobnicate"); code != 2 {
		t.Fatal("unknown command")
	}
	if code, out, _ := run(t, "", "help"); code != 0 || !strings.Contains(out, "import") {
		t.Fatal("help")
	}
}

// TestSubcommandHelp: asked-for help is printed on stdout and exits 0, at
// every depth, and runs nothing.
func TestSubcommandHelp(t *testing.T) {
	dir := setup(t)
	for _, args := range [][]string{
		{"user", "--help"},
		{"user", "add", "--help"},
		{"user", "passwd", "-h"},
		{"import", "--help"},
		{"import", "--label-from-filename", "-help", "some/folder"},
		{"token", "create", "--help"},
		{"purge", "--help"},
		{"migrate", "--help"},
		{"eval", "--help"},
		{"serve", "--help"},
	} {
		code, out, errs := run(t, "", args...)
		if code != 0 || !strings.Contains(out, "usage: sketchmatch "+args[0]) || errs != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "db", "sm.db")); err == nil {
		t.Error("a --help opened the database")
	}
}

func TestTokenCommands(t *testing.T) {
	setup(t)
	code, out, errs := run(t, "", "token", "create", "--name", "rms-prod", "--scope", "search,references:read", "--expires", "30d")
	if code != 0 || !strings.HasPrefix(out, "smt_") || !strings.Contains(errs, "shown once") {
		t.Fatalf("create: %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "", "token", "create", "--name", "x1", "--scope", "everything"); code != 1 || !strings.Contains(errs, "Unknown scope") {
		t.Fatalf("bad scope: %d %q", code, errs)
	}
	if code, _, _ := run(t, "", "token", "create", "--name", "rms-prod", "--scope", "search"); code != 1 {
		t.Fatal("a second token of the same name")
	}
	if code, out, _ := run(t, "", "token", "list"); code != 0 || !strings.Contains(out, "rms-prod") || !strings.Contains(out, "live") || strings.Contains(out, "smt_") {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, errs := run(t, "", "token", "revoke", "rms-prod"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, "", "token", "list"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke: %q", out)
	}
	if code, _, errs := run(t, "", "token", "revoke", "rms-prod"); code != 1 || !strings.Contains(errs, "no live token") {
		t.Fatalf("second revoke: %d %q", code, errs)
	}
}
