-- People, not photos (issue 16): a subject is one person, with a display
-- name or record number, and one or more reference photos. Every reference
-- belongs to exactly one subject.
CREATE TABLE subjects (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL DEFAULT '',      -- display name or record number
    notes       TEXT    NOT NULL DEFAULT '',
    merged_into INTEGER,                          -- set when an admin merged it into another subject (kept so old searches still name it)
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX subjects_name ON subjects (name);

-- Existing installations: one subject per reference, with the same id and
-- the reference's label as its name, so nothing changes for a gallery of
-- one photo per person.
INSERT INTO subjects (id, name, created_by, created_at, updated_at)
    SELECT id, label, created_by, created_at, updated_at FROM "references";
ALTER TABLE "references" ADD COLUMN subject_id INTEGER REFERENCES subjects (id);
UPDATE "references" SET subject_id = id;
CREATE INDEX references_subject ON "references" (subject_id);
-- A photo can carry its own capture date (YYYY-MM-DD, '' = unknown).
ALTER TABLE "references" ADD COLUMN captured_on TEXT NOT NULL DEFAULT '';

-- A search ranks people: each result row is one subject, its best photo in
-- reference_id, all its photos best first in reference_ids (comma-separated
-- ids). Rows recorded before this migration were one photo each: they get
-- that photo's new subject (NULL when the reference was deleted since).
ALTER TABLE search_results ADD COLUMN subject_id    INTEGER;
ALTER TABLE search_results ADD COLUMN subject_name  TEXT NOT NULL DEFAULT '';
ALTER TABLE search_results ADD COLUMN reference_ids TEXT NOT NULL DEFAULT '';
UPDATE search_results SET subject_id = reference_id, subject_name = label
    WHERE reference_id IN (SELECT id FROM "references");
UPDATE search_results SET reference_ids = CAST(reference_id AS TEXT) WHERE reference_id IS NOT NULL;

-- What a witness can describe (sex, birth year, tags) is a person's, not a
-- photo's: it moves from reference_metadata (migration 0003) to the
-- subject, each reference's row becoming its subject's (same ids). The old
-- table is left in place, unused, so a downgrade finds its data.
CREATE TABLE subject_metadata (
    subject_id INTEGER PRIMARY KEY REFERENCES subjects (id),
    sex        TEXT    NOT NULL DEFAULT 'unknown' CHECK (sex IN ('female', 'male', 'unknown')),
    birth_year INTEGER CHECK (birth_year IS NULL OR birth_year BETWEEN 1800 AND 9999), -- NULL = unknown
    tags       TEXT    NOT NULL DEFAULT '',       -- normalised (lower case, sorted), comma-separated
    version    INTEGER NOT NULL,                  -- grows with every write: lets a server see another process's changes
    updated_at INTEGER NOT NULL
);
CREATE INDEX subject_metadata_version ON subject_metadata (version);
INSERT INTO subject_metadata (subject_id, sex, birth_year, tags, version, updated_at)
    SELECT m.reference_id, m.sex, m.birth_year, m.tags, m.version, m.updated_at
    FROM reference_metadata m JOIN "references" r ON r.id = m.reference_id;
