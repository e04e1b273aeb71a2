-- PostgreSQL twin of ../0003_reference_metadata.sql.
CREATE TABLE reference_metadata (
    reference_id BIGINT  PRIMARY KEY REFERENCES "references" (id) ON DELETE CASCADE,
    sex          TEXT    NOT NULL DEFAULT 'unknown' CHECK (sex IN ('female', 'male', 'unknown')),
    birth_year   BIGINT  CHECK (birth_year IS NULL OR birth_year BETWEEN 1800 AND 9999),
    tags         TEXT    NOT NULL DEFAULT '',
    version      BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX reference_metadata_version ON reference_metadata (version);

CREATE TABLE search_filters (
    search_id   BIGINT  PRIMARY KEY REFERENCES searches (id) ON DELETE CASCADE,
    spec        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    kept        BIGINT  NOT NULL,
    total       BIGINT  NOT NULL
);
