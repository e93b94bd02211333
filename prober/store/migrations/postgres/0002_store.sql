-- The Store's tables (prober/store/base.py), as on SQLite after its migration 0005.
-- Timestamps are epoch seconds (double precision, UTC); ids compare byte-wise (COLLATE "C")
-- so the order is the same whatever the database's locale.

-- The engine's state rows: one small engine row, one row per component (JSON text,
-- stored as given: prober never looks inside).
CREATE TABLE engine_state (
    id       smallint PRIMARY KEY CHECK (id = 1),
    state    text NOT NULL,
    saved_at double precision NOT NULL
);
CREATE TABLE component_state (
    component text COLLATE "C" PRIMARY KEY,
    state     text NOT NULL,
    saved_at  double precision NOT NULL
);

CREATE TABLE incidents (
    id              text COLLATE "C" PRIMARY KEY,
    name            text NOT NULL,
    status          text NOT NULL,
    impact          text NOT NULL,
    started_at      double precision NOT NULL,
    created_at      double precision NOT NULL,
    updated_at      double precision NOT NULL,
    monitoring_at   double precision,
    resolved_at     double precision,
    components      text NOT NULL,          -- JSON [[code, status], ...]
    impact_override boolean NOT NULL DEFAULT false,
    grp             text,
    recovered_at    double precision
);
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_started ON incidents (started_at);
CREATE INDEX incidents_open ON incidents (status) WHERE status NOT IN ('resolved', 'postmortem');

-- seq keeps insertion order for updates sharing a timestamp; an upsert keeps it.
CREATE TABLE incident_updates (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text COLLATE "C" NOT NULL UNIQUE,
    incident_id text COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status      text NOT NULL,
    body        text NOT NULL,
    created_at  double precision NOT NULL,
    affected    text NOT NULL,              -- JSON [[code, name, old, new], ...]
    automatic   boolean NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at, seq);

CREATE TABLE status_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    component     text COLLATE "C" NOT NULL,
    at            double precision NOT NULL,
    old           text NOT NULL,
    new           text NOT NULL,
    failure_ratio double precision NOT NULL,
    UNIQUE (component, at, new)             -- re-applying an effect never duplicates it
);
CREATE INDEX status_changes_at ON status_changes (at);

CREATE TABLE probe_aggregates (
    check_id    text COLLATE "C" NOT NULL,
    minute      bigint NOT NULL,
    component   text NOT NULL,
    total       bigint NOT NULL,
    failures    bigint NOT NULL,
    latency_sum double precision NOT NULL,
    latency_max double precision NOT NULL,
    PRIMARY KEY (check_id, minute)
);
CREATE INDEX probe_aggregates_minute ON probe_aggregates (minute);

-- Webhook outbox (state: pending, done, dropped); `ordering`: see prober/store/codec.py.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook         text NOT NULL,
    event_key       text NOT NULL,
    payload         bytea NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at double precision NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'done', 'dropped')),
    created_at      double precision NOT NULL,
    ordering        text NOT NULL,
    UNIQUE (webhook, event_key)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_order ON outbox (webhook, ordering, state, id);
