-- The human review of a search's candidates (issue 16): the officer marks
-- each candidate person excluded, possible or referred (passed on for
-- investigation), with an optional note. One row per (search, subject);
-- every change is also an audit row.
CREATE TABLE search_reviews (
    search_id   INTEGER NOT NULL REFERENCES searches (id) ON DELETE CASCADE,
    subject_id  INTEGER NOT NULL,
    mark        TEXT    NOT NULL CHECK (mark IN ('excluded', 'possible', 'referred')),
    note        TEXT    NOT NULL DEFAULT '',
    reviewed_by TEXT    NOT NULL,
    reviewed_at INTEGER NOT NULL,
    PRIMARY KEY (search_id, subject_id)
);

-- A closed search (review finished) is read-only except for an admin
-- reopen. closed_at 0 = open.
ALTER TABLE searches ADD COLUMN closed_at  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE searches ADD COLUMN closed_by  TEXT    NOT NULL DEFAULT '';
ALTER TABLE searches ADD COLUMN conclusion TEXT    NOT NULL DEFAULT '';
CREATE INDEX searches_closed ON searches (closed_at, id);
