package cli

import (
	"context"
	"os"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Finding 12 of issue 12 (second half): CLI user commands were audited as
// "cli" without the operating-system user, unlike import and calibrate.
func TestUserCommandsAuditTheOSUser(t *testing.T) {
	setup(t)
	t.Setenv("USER", "ops.jane")
	steps := [][]string{
		{"user", "add", "--username", "alice", "--role", "admin", "--password-stdin"},
		{"user", "add", "--username", "bob", "--role", "officer", "--password-stdin"},
		{"user", "passwd", "--username", "bob", "--password-stdin"},
		{"user", "disable", "--username", "bob"},
		{"user", "enable", "--username", "bob"},
	}
	for _, args := range steps {
		if code, _, errs := run(t, "a long enough passphrase 2\n", args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
	}
	db, err := store.Open(context.Background(), os.Getenv("DATABASE_PATH"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	db.EachAudit(context.Background(), func(r *store.AuditRow) error {
		n++
		if r.Username != "cli:ops.jane" || r.ClientIP != "local" {
			t.Errorf("audit row %s by %q at %q, want cli:ops.jane at local", r.Action, r.Username, r.ClientIP)
		}
		return nil
	})
	if n != len(steps) {
		t.Fatalf("%d audit rows, want %d", n, len(steps))
	}
}
