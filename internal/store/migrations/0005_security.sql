-- Security round 2 (issue 12).

-- Per-user session generation: bumped when the password changes or the
-- account is disabled. A session carries the generation its login read
-- before checking the password, and is valid only while it matches, so a
-- login racing a reset cannot leave a session behind (timestamps to the
-- second could).
ALTER TABLE users    ADD COLUMN session_gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_gen    INTEGER NOT NULL DEFAULT 0;

-- Legal hold: a search an admin flags is never purged by retention.
ALTER TABLE searches ADD COLUMN hold INTEGER NOT NULL DEFAULT 0;
CREATE INDEX searches_created ON searches (created_at);
