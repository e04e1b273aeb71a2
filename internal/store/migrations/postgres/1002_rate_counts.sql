-- PostgreSQL only (no SQLite twin): fixed-window request counts shared by
-- all instances (store.RateCounter: the per-IP login limit).
CREATE TABLE rate_counts (
    key          TEXT    NOT NULL,
    window_start BIGINT  NOT NULL,   -- unix seconds
    count        BIGINT  NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counts_window ON rate_counts (window_start);
