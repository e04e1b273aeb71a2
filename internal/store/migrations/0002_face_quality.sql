-- Face-quality record of each embedding (issue 9): what the detector found
-- in the photo. faces IS NULL marks rows embedded before the record existed;
-- reindex embeds them again. Only rows with face_found = 1 (detected, or a
-- box drawn by an admin) are searchable.
ALTER TABLE embeddings ADD COLUMN faces           INTEGER;
ALTER TABLE embeddings ADD COLUMN face_confidence REAL    NOT NULL DEFAULT 0;
ALTER TABLE embeddings ADD COLUMN face_box        TEXT    NOT NULL DEFAULT '';   -- x0,y0,x1,y1 in image pixels
ALTER TABLE embeddings ADD COLUMN face_manual     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE embeddings ADD COLUMN interocular_px  REAL    NOT NULL DEFAULT 0;
ALTER TABLE embeddings ADD COLUMN sharpness       REAL    NOT NULL DEFAULT 0;
ALTER TABLE embeddings ADD COLUMN yaw_deg         REAL    NOT NULL DEFAULT 0;
CREATE INDEX embeddings_searchable ON embeddings (model_id, face_found, reference_id);

-- A face box drawn by an admin on the reference photo (x0,y0,x1,y1; '' =
-- none): every model's embedding of this photo is made from it.
ALTER TABLE "references" ADD COLUMN face_box TEXT NOT NULL DEFAULT '';

-- How the sketch's face was found: detected, manual (box drawn by the
-- officer) or none (searched anyway on a centred crop: no confidence band).
ALTER TABLE searches ADD COLUMN face_source TEXT NOT NULL DEFAULT '';
ALTER TABLE searches ADD COLUMN face_box    TEXT NOT NULL DEFAULT '';
