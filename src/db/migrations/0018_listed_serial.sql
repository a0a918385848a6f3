-- The serial the root listing gave a project when a serial sync (or a gap's backfill) found it
-- changed: the page the update pipeline reads next must be at least that new. A page below it
-- comes from a cache that lags (a CDN, a mirror) and is asked for again later, never taken
-- for missing versions or changed files. Null: no listing promised anything (or no serials).
ALTER TABLE package_project ADD COLUMN listed_serial bigint NULL CHECK (listed_serial >= 0);
