-- PostgreSQL twin of ../0004_fusion.sql.
ALTER TABLE embeddings ADD COLUMN hog_wide BYTEA;
ALTER TABLE calibrations ADD COLUMN fusion BYTEA;
ALTER TABLE calibrations ADD COLUMN fusion_note TEXT NOT NULL DEFAULT '';
CREATE TABLE fused_vectors (
    reference_id   BIGINT  NOT NULL REFERENCES "references" (id) ON DELETE CASCADE,
    calibration_id BIGINT  NOT NULL,
    vector         BYTEA   NOT NULL,
    PRIMARY KEY (reference_id, calibration_id)
);
