-- PostgreSQL twin of ../0002_face_quality.sql.
ALTER TABLE embeddings ADD COLUMN faces           BIGINT;
ALTER TABLE embeddings ADD COLUMN face_confidence DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE embeddings ADD COLUMN face_box        TEXT    NOT NULL DEFAULT '';
ALTER TABLE embeddings ADD COLUMN face_manual     BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE embeddings ADD COLUMN interocular_px  DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE embeddings ADD COLUMN sharpness       DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE embeddings ADD COLUMN yaw_deg         DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE INDEX embeddings_searchable ON embeddings (model_id, face_found, reference_id);

ALTER TABLE "references" ADD COLUMN face_box TEXT NOT NULL DEFAULT '';

ALTER TABLE searches ADD COLUMN face_source TEXT NOT NULL DEFAULT '';
ALTER TABLE searches ADD COLUMN face_box    TEXT NOT NULL DEFAULT '';
