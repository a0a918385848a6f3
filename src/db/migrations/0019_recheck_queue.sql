-- The re-checks a serial sync (or a gap's backfill) asks for: the project's serial rose, so
-- something changed that the update pipeline must find (a yank, a changed file). Queued rows
-- are checked first, the most recently queued first, outside the verification share of the
-- rate; a check at or after the time it was queued clears it, and so does a failed check's
-- deferral. Few rows are queued at once: the partial index stays small.
ALTER TABLE package_version ADD COLUMN recheck_queued_at timestamptz NULL;
CREATE INDEX package_version_recheck_queue ON package_version (recheck_queued_at DESC, id DESC) WHERE recheck_queued_at IS NOT NULL;
