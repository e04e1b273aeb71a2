-- PostgreSQL twin of ../0005_security.sql.
ALTER TABLE users    ADD COLUMN session_gen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_gen    BIGINT NOT NULL DEFAULT 0;

ALTER TABLE searches ADD COLUMN hold BIGINT NOT NULL DEFAULT 0;
CREATE INDEX searches_created ON searches (created_at);
