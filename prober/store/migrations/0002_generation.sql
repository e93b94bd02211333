-- 0002: a commit counter for the domain state. The lock file records the last value this
-- prober committed; a database found older at start lost commits (a lost WAL, a restored
-- backup) and is refused unless --allow-new-db.
ALTER TABLE domain_state ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
