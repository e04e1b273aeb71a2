package store

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// The least-privilege setup of DEPLOYMENT.md, "Several instances": an
// owner role migrates, the instances' role has DML only and still opens
// the database (migrations found applied), appends audit rows, takes the
// advisory locks, listens, but cannot change the schema or the audit rows.
func TestLeastPrivilegeRole(t *testing.T) {
	pgtest.Shared(t)
	t.Run("postgres", func(t *testing.T) {
		ctx := context.Background()
		owner := MustOpenDB(t) // migrated by the (super)user, standing in for the owner role
		for _, q := range []string{
			`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sm_app') THEN CREATE ROLE sm_app LOGIN; END IF; END $$`,
			`REVOKE ALL ON SCHEMA public FROM PUBLIC`,
			`GRANT USAGE ON SCHEMA public TO sm_app`,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO sm_app`,
			`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO sm_app`,
			`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM sm_app`,
		} {
			if _, err := owner.ExecContext(ctx, q); err != nil {
				t.Fatal(q, err)
			}
		}
		u, _ := url.Parse(owner.url)
		u.User = url.User("sm_app")
		app, err := Open(ctx, u.String())
		if err != nil {
			t.Fatalf("open as the app role: %v", err)
		}
		defer app.Close()
		if err := app.AppendAudit(ctx, &domain.AuditRow{At: "t", Action: "x", Outcome: "success"}, func(*domain.AuditRow) string { return "h" }); err != nil {
			t.Fatalf("audit append as the app role: %v", err)
		}
		if err := app.PutBlob(ctx, "ab/x.jpg", []byte("x")); err != nil {
			t.Fatal(err)
		}
		unlock, err := app.BlobsShared(ctx)
		if err != nil {
			t.Fatal(err)
		}
		unlock()
		if _, err := app.ExecContext(ctx, `DROP TABLE blobs`); err == nil || !strings.Contains(err.Error(), "owner") && !strings.Contains(err.Error(), "permission") {
			t.Fatalf("DROP TABLE as the app role: err=%v, want refused", err)
		}
		if _, err := app.ExecContext(ctx, `DELETE FROM audit_log`); err == nil {
			t.Fatal("DELETE FROM audit_log as the app role succeeded")
		}
	})
}
