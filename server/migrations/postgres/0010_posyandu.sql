-- 10: mirrors SQLite migration 10.
-- The Posyandu document (issue 12, crate::posyandu): `doc.kind` tells households from
-- it (the household read model, exports and reports read households only); its
-- projection for the Puskesmas side (schedule, roster, area, sasaran as JSON, sealed)
-- is one row per Posyandu.
ALTER TABLE doc ADD COLUMN kind TEXT NOT NULL DEFAULT 'household';
CREATE TABLE read_posyandu (
    scope TEXT PRIMARY KEY,
    doc_id BYTEA NOT NULL REFERENCES doc(id),
    updated_seq BIGINT NOT NULL,
    body BYTEA NOT NULL
);
