-- 4: the relay's epoch (one row), random in 1..2^62. Mirrors SQLite migration 4.
-- `posyandu-relay admin new-epoch` replaces it after a backup is restored, so phones
-- notice that log positions were reused (docs/sync-protocol.md).
CREATE TABLE relay_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL CHECK (epoch > 0)
);
INSERT INTO relay_epoch (id, epoch) VALUES (1, floor(random() * 4611686018427387903)::bigint + 1);
