-- 7: mirrors SQLite migration 7.
-- SATUSEHAT export (crate::storage::satusehat): a Posyandu's SATUSEHAT ids, and
-- members' IHS numbers keyed by a keyed NIK index (never the NIK), sealed.
CREATE TABLE satusehat_config (
    posyandu_id TEXT PRIMARY KEY REFERENCES posyandu(id),
    org_id TEXT NOT NULL,
    puskesmas_org_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    bidan_ihs TEXT NOT NULL,
    bidan_name TEXT NOT NULL,
    utc_offset TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE ihs_number (
    scope TEXT NOT NULL,
    nik_key BYTEA NOT NULL,
    ihs BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope, nik_key)
);
-- KFA codes of the vaccines a Puskesmas (by its SATUSEHAT Organization id) uses.
CREATE TABLE satusehat_kfa (
    puskesmas_org_id TEXT NOT NULL,
    antigen TEXT NOT NULL,
    kfa_code TEXT NOT NULL,
    kfa_display TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (puskesmas_org_id, antigen)
);
