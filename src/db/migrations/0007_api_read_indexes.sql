-- Indexes for the queries of the JSON API, the web UI and `pkgstream package|events`.
-- Project search by normalized name prefix, keyset-paged by (project, index_id): the
-- query compares and orders in the "C" collation, so LIKE 'abc%' is a range of this index
-- and the page is read in index order, whatever the database's default collation.
CREATE INDEX package_project_search ON package_project ((project COLLATE "C"), index_id);
-- The history of one release, newest first, and the newest event of each version of a project.
CREATE INDEX event_release ON event (project, version, id DESC);
