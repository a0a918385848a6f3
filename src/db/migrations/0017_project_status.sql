-- PEP 700: a file's size and upload time as its index reports them (NULL: not given, or
-- recorded before this migration; an unchanged check writes no artifact row, so they are
-- filled when the release is recorded or its files change).
ALTER TABLE artifact
  ADD COLUMN size bigint NULL CHECK (size >= 0),
  ADD COLUMN upload_time timestamptz NULL;

-- PEP 792: a project's status on its index (no marker on the page is 'active'), the
-- index's free-form reason, and when the update pipeline saw the status change (NULL:
-- never changed since the project became known). A change is a project-status-changed event.
ALTER TABLE package_project
  ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'quarantined', 'deprecated')),
  ADD COLUMN status_reason text NULL,
  ADD COLUMN status_changed_at timestamptz NULL;
