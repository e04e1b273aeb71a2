-- PostgreSQL only: people (issue 16) are followed by every instance too.
-- Witness metadata now lives on the subject ("M:<subject id>:", read by the
-- listeners as "reload metadata"), and a photo that changes person (a move
-- or a merge on another instance) is announced as "S:<reference id>:" so
-- the instances' subject maps follow within the same second.
CREATE FUNCTION sketchmatch_notify_subject_metadata() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('sketchmatch_index', 'M:' || r.subject_id || ':');
    RETURN NULL;
END $$;
CREATE TRIGGER subject_metadata_notify AFTER INSERT OR UPDATE OR DELETE ON subject_metadata
    FOR EACH ROW EXECUTE FUNCTION sketchmatch_notify_subject_metadata();

CREATE FUNCTION sketchmatch_notify_reference_subject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sketchmatch_index', 'S:' || NEW.id || ':');
    RETURN NULL;
END $$;
CREATE TRIGGER references_subject_notify AFTER UPDATE OF subject_id ON "references"
    FOR EACH ROW WHEN (OLD.subject_id IS DISTINCT FROM NEW.subject_id)
    EXECUTE FUNCTION sketchmatch_notify_reference_subject();
