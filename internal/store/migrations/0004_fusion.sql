-- Better on hard sketches (issue 9 §3): a second HOG descriptor per
-- embedding, over a wider aligned crop that keeps hair and outline; the
-- fused-search model a calibration chose; and the fused index vectors of
-- the references under that calibration, so that start-up does not project
-- every reference again.
ALTER TABLE embeddings ADD COLUMN hog_wide BLOB;            -- float16 HOG of the wide aligned crop; NULL: embedded before, reindex re-embeds
ALTER TABLE calibrations ADD COLUMN fusion BLOB;            -- fusion.Model (means, PCA basis, whitening, CSLS sketches); NULL: centring only
ALTER TABLE calibrations ADD COLUMN fusion_note TEXT NOT NULL DEFAULT '';  -- what calibrate chose and why
CREATE TABLE fused_vectors (
    reference_id   INTEGER NOT NULL REFERENCES "references" (id) ON DELETE CASCADE,
    calibration_id INTEGER NOT NULL,
    vector         BLOB    NOT NULL,                         -- little-endian float32, the index row under that calibration
    PRIMARY KEY (reference_id, calibration_id)
);
