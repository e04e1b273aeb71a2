-- What a witness can describe of a reference (issue 9 §4): sex, birth year,
-- free tags. Kept in its own table: a reference without a row has no
-- metadata, and the row goes with its reference (ON DELETE CASCADE).
CREATE TABLE reference_metadata (
    reference_id INTEGER PRIMARY KEY REFERENCES "references" (id) ON DELETE CASCADE,
    sex          TEXT    NOT NULL DEFAULT 'unknown' CHECK (sex IN ('female', 'male', 'unknown')),
    birth_year   INTEGER CHECK (birth_year IS NULL OR birth_year BETWEEN 1800 AND 9999), -- NULL = unknown
    tags         TEXT    NOT NULL DEFAULT '',     -- normalised (lower case, sorted), comma-separated
    version      INTEGER NOT NULL,                -- grows with every write: lets a server see another process's changes
    updated_at   INTEGER NOT NULL
);
CREATE INDEX reference_metadata_version ON reference_metadata (version);

-- The witness filter a search ran with (no row: unfiltered).
CREATE TABLE search_filters (
    search_id   INTEGER PRIMARY KEY REFERENCES searches (id) ON DELETE CASCADE,
    spec        TEXT    NOT NULL,                 -- JSON of the filter
    description TEXT    NOT NULL,                 -- as shown to people
    kept        INTEGER NOT NULL,                 -- searchable references the filter kept
    total       INTEGER NOT NULL                  -- searchable references at the time
);
