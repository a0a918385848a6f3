-- The event history and transactional outbox: every event is written here in the
-- transaction of the state change it announces; a relay publishes unsent rows (Kafka or
-- stdout) and sets sent_at. The table is also the history the API, the UI and
-- `pkgstream events` show. Rows older than PKGSTREAM_EVENT_RETENTION are deleted in
-- bounded batches.
CREATE TABLE event (
  id          bigserial PRIMARY KEY,
  -- package-released, missing-package, missing-version, hash-mismatch, package-yanked, ...
  kind        text NOT NULL CHECK (kind <> ''),
  -- The Kafka key: index_url|project|version, plus |solver for solver events.
  event_key   text NOT NULL CHECK (event_key <> ''),
  index_id    integer NULL REFERENCES package_index (id) ON DELETE SET NULL,
  index_url   text NOT NULL,
  -- PEP 503 normalized name; version as the index publishes it (NULL: project-level).
  project     text NOT NULL CHECK (project <> ''),
  version     text NULL,
  solver      text NULL,
  -- Exactly the JSON value that is (or will be) published.
  record      jsonb NOT NULL CHECK (jsonb_typeof(record) = 'object'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz NULL
);
-- The relay's scan: unsent rows in order.
CREATE INDEX event_unsent ON event (id) WHERE sent_at IS NULL;
-- History queries, newest first: by project (and version), by kind, by time.
CREATE INDEX event_project ON event (project, id DESC);
CREATE INDEX event_kind ON event (kind, id DESC);
CREATE INDEX event_created ON event (created_at, id);
-- Wakes the relay on commit (LISTEN pkgstream_event); a relay that cannot listen polls.
CREATE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('pkgstream_event', '');
  RETURN NULL;
END $$;
CREATE TRIGGER event_inserted AFTER INSERT ON event FOR EACH STATEMENT EXECUTE FUNCTION event_notify();
