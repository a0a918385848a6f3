-- The ETag and Last-Modified of a project's last page (200) whose check was applied in full:
-- the update pipeline sends them back (If-None-Match / If-Modified-Since), and a 304 is an
-- unchanged check that costs no parse. Null until such a check, and after a 404.
ALTER TABLE package_project
  ADD COLUMN page_etag text,
  ADD COLUMN page_last_modified text;
