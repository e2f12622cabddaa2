-- 2: documents and the per-Posyandu change log. Mirrors SQLite migration 2.
CREATE TABLE doc (
    id BYTEA PRIMARY KEY,
    scope TEXT NOT NULL,
    snapshot BYTEA NOT NULL,
    updated_seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX doc_scope ON doc(scope, id);
CREATE TABLE change_log (
    scope TEXT NOT NULL,
    seq BIGINT NOT NULL,
    doc_id BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    data BYTEA NOT NULL,
    origin_device TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (scope, seq),
    UNIQUE (scope, hash)
);
-- One row per Posyandu; its row lock serialises seq assignment (see postgres.rs).
CREATE TABLE scope_counter (
    scope TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
