-- Service tokens for the integration API (issue 11). Only the SHA-256 of a
-- token is stored. Each token acts as its own user row (role officer,
-- disabled for sign-in, unusable password), so its searches and audit rows
-- carry its name.
CREATE TABLE service_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    token_hash   TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    scopes       TEXT    NOT NULL,               -- comma-separated
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL DEFAULT 0,     -- unix seconds, 0 = never
    last_used_at INTEGER NOT NULL DEFAULT 0,
    last_used_ip TEXT    NOT NULL DEFAULT '',
    revoked_at   INTEGER NOT NULL DEFAULT 0
);
