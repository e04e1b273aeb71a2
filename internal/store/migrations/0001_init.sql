-- Users and server-side sessions.
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    username            TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash       TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('admin', 'officer')),
    disabled            INTEGER NOT NULL DEFAULT 0,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        INTEGER NOT NULL DEFAULT 0,   -- unix seconds, 0 = not locked
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

-- The cookie carries a random token; only its SHA-256 is stored, so a copy of
-- the database does not hand out live sessions.
CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,               -- absolute lifetime
    client_ip    TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Append-only, hash-chained audit trail.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL,                  -- RFC 3339 UTC, nanoseconds
    username  TEXT    NOT NULL DEFAULT '',
    client_ip TEXT    NOT NULL DEFAULT '',
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL DEFAULT '',
    outcome   TEXT    NOT NULL,
    details   TEXT    NOT NULL DEFAULT '',
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Reference gallery. Files are content-addressed under REFERENCE_FOLDER.
CREATE TABLE "references" (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT    NOT NULL UNIQUE,
    label         TEXT    NOT NULL DEFAULT '',
    notes         TEXT    NOT NULL DEFAULT '',
    original_name TEXT    NOT NULL DEFAULT '',
    content_type  TEXT    NOT NULL,
    size_bytes    INTEGER NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    stored_path   TEXT    NOT NULL,              -- relative to REFERENCE_FOLDER
    thumb_path    TEXT    NOT NULL,              -- relative to REFERENCE_FOLDER
    created_by    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Embedding cache keyed by model id: a changed model never mixes with old vectors.
CREATE TABLE embeddings (
    reference_id INTEGER NOT NULL REFERENCES "references" (id) ON DELETE CASCADE,
    model_id     TEXT    NOT NULL,
    dim          INTEGER NOT NULL,
    vector       BLOB    NOT NULL,               -- little-endian float32, L2-normalised
    face_found   INTEGER NOT NULL DEFAULT 0,
    hog          BLOB,                           -- compact HOG descriptor of the aligned crop (float16), may be NULL
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (reference_id, model_id)
);
CREATE INDEX embeddings_model ON embeddings (model_id);

-- Per-modality calibration (mean sketch / mean photo embedding) bound to a model id.
CREATE TABLE calibrations (
    id          INTEGER PRIMARY KEY,
    model_id    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL DEFAULT '',
    source      TEXT    NOT NULL DEFAULT '',
    n_pairs     INTEGER NOT NULL,
    photo_mean  BLOB    NOT NULL,
    sketch_mean BLOB    NOT NULL,
    bands       TEXT    NOT NULL DEFAULT ''      -- JSON: score bands from genuine/impostor distributions
);
CREATE INDEX calibrations_model ON calibrations (model_id, id);

-- Search history.
CREATE TABLE searches (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    username       TEXT    NOT NULL,
    case_number    TEXT    NOT NULL DEFAULT '',
    sketch_sha256  TEXT    NOT NULL,
    sketch_path    TEXT    NOT NULL,             -- relative to REFERENCE_FOLDER
    model_id       TEXT    NOT NULL,
    calibration_id INTEGER,
    hog_weight     REAL    NOT NULL DEFAULT 0,
    k              INTEGER NOT NULL,
    face_found     INTEGER NOT NULL DEFAULT 0,
    gallery_size   INTEGER NOT NULL DEFAULT 0,
    duration_ms    REAL    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX searches_user ON searches (user_id, id);
CREATE INDEX searches_case ON searches (case_number);

CREATE TABLE search_results (
    search_id    INTEGER NOT NULL REFERENCES searches (id) ON DELETE CASCADE,
    rank         INTEGER NOT NULL,
    reference_id INTEGER,                        -- kept as a number even after the reference is deleted
    label        TEXT    NOT NULL DEFAULT '',
    score        REAL    NOT NULL,
    band         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (search_id, rank)
);

-- Evaluation reports (sketchmatch eval), newest shown on the admin page.
CREATE TABLE eval_reports (
    id         INTEGER PRIMARY KEY,
    model_id   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    summary    TEXT    NOT NULL,
    report     TEXT    NOT NULL,                 -- JSON
    plot_png   BLOB
);
