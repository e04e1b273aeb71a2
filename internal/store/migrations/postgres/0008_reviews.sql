-- PostgreSQL twin of ../0008_reviews.sql (the review of a search's candidates: issue 16).
CREATE TABLE search_reviews (
    search_id   BIGINT  NOT NULL REFERENCES searches (id) ON DELETE CASCADE,
    subject_id  BIGINT  NOT NULL,
    mark        TEXT    NOT NULL CHECK (mark IN ('excluded', 'possible', 'referred')),
    note        TEXT    NOT NULL DEFAULT '',
    reviewed_by TEXT    NOT NULL,
    reviewed_at BIGINT  NOT NULL,
    PRIMARY KEY (search_id, subject_id)
);

ALTER TABLE searches ADD COLUMN closed_at  BIGINT NOT NULL DEFAULT 0;
ALTER TABLE searches ADD COLUMN closed_by  TEXT   NOT NULL DEFAULT '';
ALTER TABLE searches ADD COLUMN conclusion TEXT   NOT NULL DEFAULT '';
CREATE INDEX searches_closed ON searches (closed_at, id);
