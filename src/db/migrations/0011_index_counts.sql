-- Projects and releases per index, kept by the writers so that the API's /indexes and the
-- UI's overview read two numbers instead of counting every row (a scan of 1M releases took
-- 200-250 ms per request). Statement-level triggers with transition tables: one UPDATE per
-- statement and index, whatever the number of rows the statement wrote or deleted
-- (cascades from a deleted project or index included).
CREATE TABLE index_counts (
  index_id  integer PRIMARY KEY REFERENCES package_index (id) ON DELETE CASCADE,
  projects  bigint NOT NULL DEFAULT 0,
  releases  bigint NOT NULL DEFAULT 0
);

INSERT INTO index_counts (index_id, projects, releases)
SELECT i.id,
       (SELECT count(*) FROM package_project p WHERE p.index_id = i.id),
       (SELECT count(*) FROM package_version v WHERE v.index_id = i.id)
  FROM package_index i;

CREATE FUNCTION index_counts_add_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO index_counts (index_id) SELECT id FROM new_rows ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER index_counts_index_added AFTER INSERT ON package_index
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION index_counts_add_index();

-- TG_ARGV[0]: the column to move; TG_OP says which way.
CREATE FUNCTION index_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE format('UPDATE index_counts c SET %1$I = c.%1$I + d.n
                      FROM (SELECT index_id, count(*) AS n FROM new_rows GROUP BY index_id) d
                     WHERE c.index_id = d.index_id', TG_ARGV[0]);
  ELSE
    EXECUTE format('UPDATE index_counts c SET %1$I = c.%1$I - d.n
                      FROM (SELECT index_id, count(*) AS n FROM old_rows GROUP BY index_id) d
                     WHERE c.index_id = d.index_id', TG_ARGV[0]);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER index_counts_projects_added AFTER INSERT ON package_project
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION index_counts_move('projects');
CREATE TRIGGER index_counts_projects_removed AFTER DELETE ON package_project
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION index_counts_move('projects');
CREATE TRIGGER index_counts_releases_added AFTER INSERT ON package_version
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION index_counts_move('releases');
CREATE TRIGGER index_counts_releases_removed AFTER DELETE ON package_version
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION index_counts_move('releases');
