-- 0005: the engine state as rows instead of one document saved whole on every change.
-- engine_state: one small row (the incident book's bookkeeping, the network guard's
-- network-wide fields, the desk) and the commit counter (`generation`, see lock.py);
-- component_state: one row per component, written only when that component changed.
-- Open incidents are read back from the incidents rows (the only copy).
CREATE TABLE engine_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    state      TEXT NOT NULL,         -- JSON object
    saved_at   REAL NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE component_state (
    component TEXT PRIMARY KEY,
    state     TEXT NOT NULL,          -- JSON object
    saved_at  REAL NOT NULL
) WITHOUT ROWID;

-- An older database's whole saved state becomes the engine row as it is (its open
-- incidents and components inside): prober reads it like that (domain/codec.join_state)
-- and its first save after the upgrade writes the rows and replaces it.
INSERT INTO engine_state (id, state, saved_at, generation)
    SELECT id, state, saved_at, generation FROM domain_state;
DROP TABLE domain_state;

-- Written and pruned, never read: network health changes are in the metrics and logs.
DROP TABLE network_health;
