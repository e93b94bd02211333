-- 0001: initial schema. Timestamps are epoch seconds (REAL, UTC).

-- The domain state blob saved with every apply (one row).
CREATE TABLE domain_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    state    TEXT NOT NULL,           -- JSON
    saved_at REAL NOT NULL
);

CREATE TABLE incidents (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    impact          TEXT NOT NULL,
    started_at      REAL NOT NULL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    monitoring_at   REAL,
    resolved_at     REAL,
    components      TEXT NOT NULL,    -- JSON [[code, status], ...]
    impact_override INTEGER NOT NULL DEFAULT 0,
    grp             TEXT
);
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_resolved ON incidents (resolved_at);

-- seq keeps insertion order for updates sharing a timestamp; an upsert keeps it.
CREATE TABLE incident_updates (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  REAL NOT NULL,
    affected    TEXT NOT NULL,        -- JSON [[code, name, old, new], ...]
    automatic   INTEGER NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at, seq);

CREATE TABLE status_changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    component     TEXT NOT NULL,
    at            REAL NOT NULL,
    old           TEXT NOT NULL,
    new           TEXT NOT NULL,
    failure_ratio REAL NOT NULL,
    UNIQUE (component, at, new)       -- re-applying an effect never duplicates it
);
CREATE INDEX status_changes_at ON status_changes (at);

CREATE TABLE network_health (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL NOT NULL,
    healthy INTEGER NOT NULL,
    UNIQUE (at, healthy)
);

CREATE TABLE probe_aggregates (
    check_id    TEXT NOT NULL,
    minute      INTEGER NOT NULL,
    component   TEXT NOT NULL,
    total       INTEGER NOT NULL,
    failures    INTEGER NOT NULL,
    latency_sum REAL NOT NULL,
    latency_max REAL NOT NULL,
    PRIMARY KEY (check_id, minute)
) WITHOUT ROWID;
CREATE INDEX probe_aggregates_minute ON probe_aggregates (minute);

-- Webhook outbox. state: pending, done, dropped. Rows are kept after delivery so that
-- (webhook, event_key) stays unique and a re-applied effect never enqueues twice.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook         TEXT NOT NULL,
    event_key       TEXT NOT NULL,
    payload         BLOB NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'done', 'dropped')),
    created_at      REAL NOT NULL,
    UNIQUE (webhook, event_key)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
