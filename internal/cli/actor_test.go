package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
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
	db.EachAudit(context.Background(), func(r *domain.AuditRow) error {
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

func TestPurgeCommand(t *testing.T) {
	setup(t)
	run(t, "a long enough passphrase 2\n", "user", "add", "--username", "alice", "--role", "admin", "--password-stdin")
	for _, tc := range []struct {
		name string
		env  string
		args []string
		code int
		want string
	}{
		{"DryRun", "", []string{"purge", "--older-than", "400d", "--dry-run"}, 0, "would purge 0 searches"},
		{"Default", "", []string{"purge"}, 0, "purged 0 searches"},
		{"RetentionOff", "0", []string{"purge"}, 0, "search history is kept"},
		{"ErrBadAge", "", []string{"purge", "--older-than", "soon"}, 2, "400d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("RETENTION_SEARCH_DAYS", tc.env)
			}
			code, out, errs := run(t, "", tc.args...)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("%v: %d %q %q, want %d with %q", tc.args, code, out, errs, tc.code, tc.want)
			}
		})
	}
}
