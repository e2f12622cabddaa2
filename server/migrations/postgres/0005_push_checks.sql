-- 5: one store per device token (the automerge actor that first used it), refused
-- pushes for the operator (no values, only paths and reasons), and when the epoch last
-- changed (phones re-push other devices' changes for a while after a restore).
-- Mirrors SQLite migration 5.
CREATE TABLE device_actor (
    token_id BIGINT PRIMARY KEY REFERENCES token(id),
    actor BYTEA NOT NULL,
    bound_at BIGINT NOT NULL
);
CREATE TABLE refusal (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    token_id BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    posyandu_id TEXT NOT NULL,
    doc_id TEXT,
    code TEXT NOT NULL,
    path TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX refusal_device ON refusal(device_id, id);
ALTER TABLE relay_epoch ADD COLUMN changed_at BIGINT;
