-- pkgstream schema, version 1.
-- Project names are PEP 503 canonical; versions are kept as the index publishes them.

CREATE TABLE package_index (
  id            serial PRIMARY KEY,
  -- The simple API base, e.g. https://pypi.org/simple: the index's identity.
  simple_url    text NOT NULL UNIQUE CHECK (simple_url <> ''),
  -- Warehouse JSON API base (<origin>/pypi) and RSS base (<origin>/rss), when it has them.
  json_api_url  text NULL,
  rss_url       text NULL,
  verify_tls    boolean NOT NULL DEFAULT true,
  enabled       boolean NOT NULL DEFAULT true,
  -- 'all': every project of the index; 'seen': only projects already known here.
  watch_mode    text NOT NULL DEFAULT 'seen' CHECK (watch_mode IN ('all', 'seen')),
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Projects known ("seen") on an index: added by `package add`, or by a recorded release.
CREATE TABLE package_project (
  index_id   integer NOT NULL REFERENCES package_index (id) ON DELETE CASCADE,
  project    text NOT NULL CHECK (project <> ''),
  added_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (index_id, project)
);
CREATE INDEX package_project_project ON package_project (project);

CREATE TABLE package_version (
  id               bigserial PRIMARY KEY,
  index_id         integer NOT NULL REFERENCES package_index (id) ON DELETE CASCADE,
  project          text NOT NULL CHECK (project <> ''),
  version          text NOT NULL CHECK (version <> ''),
  state            text NOT NULL DEFAULT 'present' CHECK (state IN ('present', 'missing', 'yanked')),
  yanked_reason    text NULL,
  first_seen_at    timestamptz NOT NULL DEFAULT now(),
  last_checked_at  timestamptz NULL,
  -- When the update pipeline should re-check it: computed at write time from the
  -- Koschei-style priority (src/db/priority.ts).
  next_due_at      timestamptz NOT NULL DEFAULT now(),
  last_changed_at  timestamptz NULL,
  released_at      timestamptz NULL,
  -- Raises the priority until the next check (then reset to 0).
  manual_priority  integer NOT NULL DEFAULT 0,
  -- Raises the priority for good.
  static_priority  integer NOT NULL DEFAULT 0,
  UNIQUE (index_id, project, version)
);
-- The due scan: WHERE next_due_at <= $now AND (next_due_at, id) > $last ORDER BY next_due_at, id.
CREATE INDEX package_version_due ON package_version (next_due_at, id);
-- (index_id, project) lookups use the unique index's prefix.

CREATE TABLE artifact (
  id                  bigserial PRIMARY KEY,
  package_version_id  bigint NOT NULL REFERENCES package_version (id) ON DELETE CASCADE,
  filename            text NOT NULL CHECK (filename <> ''),
  -- Lowercase hex; NULL when the index gave no sha256 for the file.
  sha256              char(64) NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- false once the index stopped listing the file.
  present             boolean NOT NULL DEFAULT true,
  first_seen_at       timestamptz NOT NULL DEFAULT now(),
  last_seen_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (package_version_id, filename)
);

CREATE TABLE solver_run (
  id                  bigserial PRIMARY KEY,
  package_version_id  bigint NOT NULL REFERENCES package_version (id) ON DELETE CASCADE,
  solver              text NOT NULL CHECK (solver <> ''),
  job_name            text NULL,
  state               text NOT NULL DEFAULT 'scheduled'
                      CHECK (state IN ('scheduled', 'running', 'succeeded', 'failed', 'cancelled')),
  attempts            integer NOT NULL DEFAULT 1,
  scheduled_at        timestamptz NULL,
  started_at          timestamptz NULL,
  finished_at         timestamptz NULL,
  UNIQUE (package_version_id, solver)
);
CREATE INDEX solver_run_job_name ON solver_run (job_name);

CREATE TABLE feed_checkpoint (
  index_id             integer NOT NULL REFERENCES package_index (id) ON DELETE CASCADE,
  feed                 text NOT NULL CHECK (feed <> ''),
  etag                 text NULL,
  last_modified        text NULL,
  -- The newest items of the last poll, [{project, version, publishedAt}], to detect a gap.
  newest_items         jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(newest_items) = 'array'),
  newest_published_at  timestamptz NULL,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (index_id, feed)
);

-- Items that failed after their retries: kept for a person, listed and retried from the CLI.
CREATE TABLE attention (
  id                  bigserial PRIMARY KEY,
  pipeline            text NOT NULL CHECK (pipeline <> ''),
  item_key            text NOT NULL CHECK (item_key <> ''),
  error_code          text NOT NULL,
  error_message       text NOT NULL,
  attempts            integer NOT NULL DEFAULT 1 CHECK (attempts > 0),
  first_failed_at     timestamptz NOT NULL DEFAULT now(),
  last_failed_at      timestamptz NOT NULL DEFAULT now(),
  resolved_at         timestamptz NULL,
  retry_requested_at  timestamptz NULL,
  payload             jsonb NULL
);
-- At most one open row per item: a new failure of an open item updates it.
CREATE UNIQUE INDEX attention_open ON attention (pipeline, item_key) WHERE resolved_at IS NULL;
CREATE INDEX attention_last_failed ON attention (last_failed_at DESC, id DESC);
