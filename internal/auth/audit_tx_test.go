package auth_test

import (
	"context"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/auth"
)

// Finding 12 of issue 12: user changes wrote their audit row after the
// change, outside its transaction, so a failed audit write left an
// unrecorded change. Now a change without its record does not happen.
func TestUserChangesCommitWithTheirAuditRow(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		change    func(f *fixture) error
		unchanged func(t *testing.T, f *fixture)
	}{
		{"Create", func(f *fixture) error {
			_, err := f.svc.CreateUser(ctx, f.actor, "new.officer", "a long and private phrase", auth.RoleOfficer)
			return err
		}, func(t *testing.T, f *fixture) {
			if _, err := f.svc.GetUserByUsername(ctx, "new.officer"); apperr.Code(err) != apperr.ENOTFOUND {
				t.Fatalf("the account exists without its audit row (%v)", err)
			}
		}},
		{"SetPassword", func(f *fixture) error {
			return f.svc.SetPassword(ctx, f.actor, f.officer.ID, "a brand new passphrase 2026")
		}, func(t *testing.T, f *fixture) {
			f.login(t, "officer.smith", officerPW) // the old password still works
		}},
		{"Disable", func(f *fixture) error { return f.svc.SetDisabled(ctx, f.actor, f.officer.ID, true) },
			func(t *testing.T, f *fixture) {
				if u, _ := f.svc.GetUser(ctx, f.officer.ID); u.Disabled {
					t.Fatal("disabled without an audit row")
				}
			}},
		{"Enable", func(f *fixture) error { return f.svc.SetDisabled(ctx, f.actor, f.officer.ID, false) },
			func(t *testing.T, f *fixture) {
				if u, _ := f.svc.GetUser(ctx, f.officer.ID); !u.Disabled {
					t.Fatal("enabled without an audit row")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.name == "Enable" {
				if err := f.svc.SetDisabled(ctx, f.actor, f.officer.ID, true); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.db.Exec(`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
				t.Fatal(err)
			}
			if err := tc.change(f); apperr.Code(err) != apperr.EINTERNAL {
				t.Fatalf("err=%v, want EINTERNAL", err)
			}
			if _, err := f.db.Exec(`DROP TRIGGER audit_broken`); err != nil {
				t.Fatal(err)
			}
			tc.unchanged(t, f)
		})
	}
}
