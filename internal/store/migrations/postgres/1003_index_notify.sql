-- PostgreSQL only (no SQLite twin): announce changes that the instances'
-- in-memory indexes follow, on channel sketchmatch_index (store.IndexChannel).
-- NOTIFY is transactional: listeners hear of a change only once it commits.
CREATE FUNCTION sketchmatch_notify_embedding() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('sketchmatch_index', left(TG_OP, 1) || ':' || r.reference_id || ':' || r.model_id);
    RETURN NULL;
END $$;
CREATE TRIGGER embeddings_notify AFTER INSERT OR UPDATE OR DELETE ON embeddings
    FOR EACH ROW EXECUTE FUNCTION sketchmatch_notify_embedding();

CREATE FUNCTION sketchmatch_notify_calibration() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sketchmatch_index', 'C:0:' || NEW.model_id);
    RETURN NULL;
END $$;
CREATE TRIGGER calibrations_notify AFTER INSERT ON calibrations
    FOR EACH ROW EXECUTE FUNCTION sketchmatch_notify_calibration();

CREATE FUNCTION sketchmatch_notify_metadata() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('sketchmatch_index', 'M:' || r.reference_id || ':');
    RETURN NULL;
END $$;
CREATE TRIGGER reference_metadata_notify AFTER INSERT OR UPDATE OR DELETE ON reference_metadata
    FOR EACH ROW EXECUTE FUNCTION sketchmatch_notify_metadata();
