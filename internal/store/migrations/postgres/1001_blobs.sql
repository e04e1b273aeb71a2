-- PostgreSQL only (no SQLite twin): the reference photos, thumbnails and
-- search sketches, keyed by the content-addressed relative path the SQLite
-- installation uses under REFERENCE_FOLDER (ab/<sha>.jpg, thumbs/…,
-- sketches/…), so every instance reads the same bytes. sha256 is the hash of
-- data (a thumbnail's path names its photo's hash, not its own).
CREATE TABLE blobs (
    path       TEXT    PRIMARY KEY,
    sha256     TEXT    NOT NULL,
    size_bytes BIGINT  NOT NULL,
    data       BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);
-- JPEG/PNG/WebP do not compress: store them out of line without trying.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;
