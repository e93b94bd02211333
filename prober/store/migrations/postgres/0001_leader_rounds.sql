-- Leadership: one row; `term` grows by one at each acquisition (see prober/store/lease.py).
CREATE TABLE prober_leader (
    id         smallint PRIMARY KEY CHECK (id = 1),
    term       bigint NOT NULL,
    holder     text NOT NULL,
    elected_at double precision NOT NULL
);
INSERT INTO prober_leader (id, term, holder, elected_at) VALUES (1, 0, '', 0);

-- The agents' round log (prober/store/rounds.py). `txid` is the writing transaction's
-- id: readers only take rows of transactions older than every one still running, so a
-- row whose id was drawn early but committed late is never skipped.
CREATE TABLE rounds (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid     xid8 NOT NULL DEFAULT pg_current_xact_id(),
    location text NOT NULL,
    agent    text NOT NULL,
    check_id text NOT NULL,
    at       double precision NOT NULL,
    payload  bytea NOT NULL
);
CREATE INDEX rounds_txid ON rounds (txid, id);
CREATE INDEX rounds_at ON rounds (at);
