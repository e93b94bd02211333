-- Issue 11: the last failing probe of an incident's episode (when it really ended).
ALTER TABLE incidents ADD COLUMN recovered_at REAL;
