-- A fresh database watches pypi.org, only for projects already known here.
INSERT INTO package_index (simple_url, json_api_url, rss_url, verify_tls, enabled, watch_mode)
VALUES ('https://pypi.org/simple', 'https://pypi.org/pypi', 'https://pypi.org/rss', true, true, 'seen')
ON CONFLICT (simple_url) DO NOTHING;
