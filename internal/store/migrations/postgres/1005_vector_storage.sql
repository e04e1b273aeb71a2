-- PostgreSQL only (no SQLite twin): keep vectors inside the table's own rows.
-- By default a row over ~2 KB has its largest value moved to the TOAST table,
-- and in an embeddings row (a 2 KiB vector beside ~1.6 KiB of HOG) that was
-- the vector: every instance's start-up read then made one TOAST lookup per
-- reference (1.15 s for 100k, 0.36 s inline). PLAIN keeps the vector in the
-- row, uncompressed (float32s do not compress); MAIN keeps the HOG
-- descriptors in the row too (searches read them for their candidates),
-- compressed where that helps, and out of line only if a row would not fit
-- on a page.
ALTER TABLE embeddings
    ALTER COLUMN vector SET STORAGE PLAIN,
    ALTER COLUMN hog SET STORAGE MAIN,
    ALTER COLUMN hog_wide SET STORAGE MAIN;
ALTER TABLE fused_vectors ALTER COLUMN vector SET STORAGE PLAIN;
-- The settings apply to rows written from now on; rewrite the existing ones
-- (in reference order, the order the start-up reads them). This holds an
-- exclusive lock on the tables for a few seconds per 100k references: on an
-- installation with a large gallery, upgrade one instance first and let the
-- others start once it has (DEPLOYMENT.md, "Several instances", rolling restart).
CLUSTER embeddings USING embeddings_pkey;
CLUSTER fused_vectors USING fused_vectors_pkey;
