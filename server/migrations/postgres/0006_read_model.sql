-- 6: mirrors SQLite migration 6.
-- The read model (crate::read_model): one derived row per household, written in the
-- push transaction; members index their household for the child chart.
CREATE TABLE read_household (
    doc_id BYTEA PRIMARY KEY REFERENCES doc(id),
    scope TEXT NOT NULL,
    updated_seq BIGINT NOT NULL,
    stamp TEXT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX read_household_stamp ON read_household(stamp);
CREATE TABLE read_member (
    scope TEXT NOT NULL,
    member_id BYTEA NOT NULL,
    doc_id BYTEA NOT NULL REFERENCES doc(id),
    PRIMARY KEY (scope, member_id)
);
CREATE INDEX read_member_doc ON read_member(doc_id);
-- Documents the rebuild could not read at this position and stamp (not retried until
-- they change or the rules do).
CREATE TABLE read_model_skip (
    doc_id BYTEA PRIMARY KEY,
    updated_seq BIGINT NOT NULL,
    stamp TEXT NOT NULL
);
