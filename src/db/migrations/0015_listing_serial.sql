-- The serial (Warehouse's `_last-serial`) of the index's root listing when a gap backfill
-- last read it: the next gap's backfill reads only the projects whose serial is above it,
-- so its cost grows with what changed, not with the number of projects. Null: never read,
-- or the index keeps no serials (a static index), and a backfill reads every project.
ALTER TABLE package_index ADD COLUMN listing_serial bigint CHECK (listing_serial >= 0);
