-- 0003: webhook deliveries in order per incident. `ordering` is the event key up to its
-- last ':' ("<webhook>:<incident>"): only the oldest pending row of a (webhook, ordering)
-- group is due, so a retry holds back the later events of the same incident. Rows from
-- before this migration share one group per webhook (ordered, conservatively).
ALTER TABLE outbox ADD COLUMN ordering TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_order ON outbox (webhook, ordering, state, id);
