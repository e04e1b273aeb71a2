package auth

import (
	"context"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
)

var errUserNotFound = apperr.Errorf(apperr.ENOTFOUND, "No such user.")

func (s *Service) getStoreUser(ctx context.Context, id int64) (*domain.User, error) {
	su, err := s.DB.UserByID(ctx, id)
	if domain.IsNotFound(err) {
		return nil, errUserNotFound
	}
	if err != nil {
		return nil, internal(err)
	}
	return su, nil
}

// CreateUser validates and creates a user (audit: user_create). A taken
// username (case-insensitive) is ECONFLICT; invalid input is EINVALID.
func (s *Service) CreateUser(ctx context.Context, actor Actor, username, password, role string) (*User, error) {
	if err := ValidateUsername(username); err != nil {
		return nil, err
	}
	if !ValidRole(role) {
		return nil, apperr.Errorf(apperr.EINVALID, "The role must be %q or %q.", RoleAdmin, RoleOfficer)
	}
	if err := ValidatePassword(username, password); err != nil {
		return nil, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return nil, internal(err)
	}
	now := s.now().UTC()
	su := &domain.User{Username: username, PasswordHash: hash, Role: role, CreatedAt: now, PasswordChangedAt: now}
	// The audit row is written in the creation's transaction: no account
	// exists without its record.
	a, err := s.entry(audit.Entry{Username: actor.Username, ClientIP: actor.ClientIP,
		Action: audit.ActionUserCreate, Target: su.Username, Outcome: audit.OutcomeSuccess,
		Details: "role=" + role})
	if err != nil {
		return nil, internal(err)
	}
	err = s.DB.CreateUser(ctx, su, a)
	s.auditFailed(a, err)
	if err != nil {
		if apperr.Code(err) == apperr.ECONFLICT {
			return nil, err
		}
		return nil, internal(err)
	}
	s.logger().Info("user created", "username", su.Username, "role", role, "by", actor.Username)
	return toUser(su), nil
}

// SetPassword sets a user's password (an admin reset or the CLI), clears any
// login lock, and ends all of that user's sessions, so a stolen session does
// not survive the reset (audit: password_change). If the actor changes their
// own password, their current session ends too and they log in again.
func (s *Service) SetPassword(ctx context.Context, actor Actor, userID int64, newPassword string) error {
	su, err := s.getStoreUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := ValidatePassword(su.Username, newPassword); err != nil {
		return err
	}
	hash, err := s.hash(ctx, newPassword)
	if err != nil {
		return internal(err)
	}
	// Hash, generation bump, session deletion and audit row commit
	// together (the store writes "sessions ended: N" into the row). A login
	// racing with this change that verified the old password may still
	// insert a session afterwards: it carries the old generation, and
	// Authenticate refuses it.
	a, err := s.entry(audit.Entry{Username: actor.Username, ClientIP: actor.ClientIP,
		Action: audit.ActionPasswordChange, Target: su.Username, Outcome: audit.OutcomeSuccess})
	if err != nil {
		return internal(err)
	}
	ended, err := s.DB.ChangeUserPassword(ctx, userID, hash, s.now().UTC(), a)
	s.auditFailed(a, err)
	if err != nil {
		if domain.IsNotFound(err) {
			return errUserNotFound
		}
		return internal(err)
	}
	s.logger().Info("password changed", "username", su.Username, "by", actor.Username, "sessions_ended", ended)
	return nil
}

// SetDisabled disables (ending all the user's sessions) or re-enables a
// user (audit: user_disable / user_enable). An actor cannot disable their own
// account, and the last enabled admin cannot be disabled (ECONFLICT): either
// would leave nobody able to administer the server from the web.
func (s *Service) SetDisabled(ctx context.Context, actor Actor, userID int64, disabled bool) error {
	su, err := s.getStoreUser(ctx, userID)
	if err != nil {
		return err
	}
	entry := audit.Entry{Username: actor.Username, ClientIP: actor.ClientIP,
		Action: audit.ActionUserEnable, Target: su.Username, Outcome: audit.OutcomeSuccess}
	if disabled {
		entry.Action = audit.ActionUserDisable
		if actor.UserID != 0 && actor.UserID == userID {
			return apperr.Errorf(apperr.EINVALID, "You cannot disable your own account.")
		}
		// Disable, generation bump, session deletion (nothing is left to
		// revive by re-enabling) and audit row (its details "sessions
		// ended: N", from the store) in one transaction.
		a, err := s.entry(entry)
		if err != nil {
			return internal(err)
		}
		ok, err := s.DB.DisableUser(ctx, userID, a)
		s.auditFailed(a, err)
		if domain.IsNotFound(err) {
			return errUserNotFound
		}
		if err != nil {
			return internal(err)
		}
		if !ok {
			return apperr.Errorf(apperr.ECONFLICT, "The last active admin cannot be disabled.")
		}
	} else {
		a, err := s.entry(entry)
		if err != nil {
			return internal(err)
		}
		err = s.DB.EnableUser(ctx, userID, a)
		s.auditFailed(a, err)
		if domain.IsNotFound(err) {
			return errUserNotFound
		}
		if err != nil {
			return internal(err)
		}
	}
	s.logger().Info(entry.Action, "username", su.Username, "by", actor.Username)
	return nil
}

// GetUser returns a user by id (ENOTFOUND if there is none).
func (s *Service) GetUser(ctx context.Context, id int64) (*User, error) {
	su, err := s.getStoreUser(ctx, id)
	if err != nil {
		return nil, err
	}
	return toUser(su), nil
}

// GetUserByUsername returns a user by name, case-insensitively (ENOTFOUND if
// there is none). For the CLI and admin pages, not for login.
func (s *Service) GetUserByUsername(ctx context.Context, username string) (*User, error) {
	su, err := s.DB.UserByUsername(ctx, username)
	if domain.IsNotFound(err) {
		return nil, errUserNotFound
	}
	if err != nil {
		return nil, internal(err)
	}
	return toUser(su), nil
}

// ListUsers returns all users ordered by username.
func (s *Service) ListUsers(ctx context.Context) ([]*User, error) {
	sus, err := s.DB.ListUsers(ctx)
	if err != nil {
		return nil, internal(err)
	}
	users := make([]*User, len(sus))
	for i, su := range sus {
		users[i] = toUser(su)
	}
	return users, nil
}

// CountUsers returns the number of users (the first-run check: zero means
// create the first admin).
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	n, err := s.DB.CountUsers(ctx)
	if err != nil {
		return 0, internal(err)
	}
	return n, nil
}

// Unlock ends a login lock at once (audit: user_unlock, in the same
// transaction).
func (s *Service) Unlock(ctx context.Context, actor Actor, userID int64) error {
	su, err := s.getStoreUser(ctx, userID)
	if err != nil {
		return err
	}
	a, err := s.entry(audit.Entry{Username: actor.Username, ClientIP: actor.ClientIP,
		Action: audit.ActionUserUnlock, Target: su.Username, Outcome: audit.OutcomeSuccess})
	if err != nil {
		return internal(err)
	}
	err = s.DB.UnlockUser(ctx, userID, a)
	s.auditFailed(a, err)
	if domain.IsNotFound(err) {
		return errUserNotFound
	}
	if err != nil {
		return internal(err)
	}
	s.logger().Info("user unlocked", "username", su.Username, "by", actor.Username)
	return nil
}
