/**
 * api_latency: the API and UI routes over HTTP on a table of `--api-releases` releases (1M
 * by default, made by generate_series) plus one project with 2,000 releases and 100k
 * events: p50/p99 per route over `--api-samples` sequential requests. The target: the
 * project page of the 2,000-release project under 200 ms. The EXPLAIN plans of the API's
 * queries go to stderr.
 */
import { addIndex } from '../src/db/indexes.js';
import { DEFAULT_PRIORITY } from '../src/db/priority.js';
import { startHttpServer } from '../src/http/server.js';
import { silentLogger } from '../src/runtime/logger.js';
import { createMetrics } from '../src/runtime/metrics.js';
import { Readiness } from '../src/runtime/readiness.js';
import { createPackageStore } from '../src/sinks/store-sink.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase } from './support/database.js';
import { seedReleases } from './support/seed.js';
import { now, percentile, progress, round } from './support/util.js';

const SIMPLE = 'http://127.0.0.1:9/simple';

const ROUTES = {
  indexes: '/api/v1/indexes',
  search: '/api/v1/projects?q=p12&limit=50',
  project_2000_api: '/api/v1/projects/big0',
  project_2000_page: '/projects/big0',
  release_page: '/projects/big0/releases/1.1999',
  events_by_project: '/api/v1/events?project=p5',
  events_by_kind: '/api/v1/events?kind=hash-mismatch',
  events_newest: '/api/v1/events',
  overview_page: '/',
} as const;

const PLANS: Record<string, string> = {
  search: `SELECT p.index_id, p.project FROM package_project p WHERE p.project COLLATE "C" LIKE 'p12%' AND (p.project COLLATE "C", p.index_id) > ('p12', 0) ORDER BY p.project COLLATE "C", p.index_id LIMIT 50`,
  project_releases: `SELECT v.id FROM package_version v WHERE v.index_id = 2 AND v.project = 'big0'`,
  project_artifacts: `SELECT a.filename FROM artifact a WHERE a.package_version_id = ANY(ARRAY(SELECT id FROM package_version WHERE index_id = 2 AND project = 'big0')) ORDER BY a.filename`,
  project_latest_events: `SELECT DISTINCT ON (version) version, kind FROM event WHERE project = 'big0' AND index_id = 2 AND version IS NOT NULL AND solver IS NULL ORDER BY version, id DESC`,
  events_by_project: `SELECT id FROM event WHERE project = 'p5' ORDER BY id DESC LIMIT 100`,
  events_by_kind: `SELECT id FROM event WHERE kind = 'hash-mismatch' ORDER BY id DESC LIMIT 100`,
  events_today: `SELECT kind, count(*) FROM event WHERE created_at >= now() - interval '1 day' GROUP BY kind`,
  index_counts: `SELECT i.id, c.projects, c.releases FROM package_index i LEFT JOIN index_counts c ON c.index_id = i.id`,
};

async function seed(pool: Parameters<typeof seedReleases>[0], releases: number): Promise<void> {
  const index = await addIndex(pool, { simpleUrl: SIMPLE });
  await seedReleases(pool, { indexId: index.id, rows: releases, versionsPerProject: 10, prefix: 'p' });
  await seedReleases(pool, { indexId: index.id, rows: 2000, versionsPerProject: 2000, prefix: 'big' });
  await pool.query(
    `INSERT INTO event (kind, event_key, index_id, index_url, project, version, record, created_at)
     SELECT CASE WHEN g % 50 = 0 THEN 'hash-mismatch' ELSE 'package-released' END, 'k' || g, $1, $2,
            CASE WHEN g % 10 = 0 THEN 'big0' ELSE 'p' || (g % 100000) END, '1.' || (g % 2000), '{}'::jsonb, now() - (g || ' seconds')::interval
       FROM generate_series(1, 100000) AS g`,
    [index.id, SIMPLE],
  );
  await pool.query('ANALYZE');
}

export async function apiLatency(options: BenchOptions) {
  const database = await createBenchDatabase();
  try {
    const started = now();
    await seed(database.pool, options.apiReleases);
    progress(`api_latency: seeded ${options.apiReleases} + 2000 releases and 100000 events in ${round((now() - started) / 1000, 1)} s`);
    for (const [name, sql] of Object.entries(PLANS)) {
      const { rows } = await database.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`);
      progress(`api_latency EXPLAIN ${name}:\n${rows.map((row) => `  ${row['QUERY PLAN']}`).join('\n')}`);
    }
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const http = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, readiness: new Readiness(), logger: silentLogger() });
    const refuse = () => Promise.reject(new Error('not used by the benchmark'));
    http.serveApi({ db: database.pool, priority: DEFAULT_PRIORITY, store: createPackageStore(database.pool), auth: { apiAuth: 'writes' }, actions: { check: refuse, retryAttention: refuse } });
    const routes: Record<string, { p50_ms: number; p99_ms: number }> = {};
    try {
      for (const [name, path] of Object.entries(ROUTES)) {
        const times: number[] = [];
        for (let i = 0; i <= options.apiSamples; i++) {
          const start = now();
          const response = await fetch(`${http.url}${path}`);
          await response.arrayBuffer();
          if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
          if (i > 0) times.push(now() - start); // the first request warms caches and plans
        }
        routes[name] = { p50_ms: round(percentile(times, 50)), p99_ms: round(percentile(times, 99)) };
        progress(`api_latency ${name}: p50 ${routes[name].p50_ms} ms, p99 ${routes[name].p99_ms} ms`);
      }
    } finally {
      await http.close();
    }
    const page = routes.project_2000_page!;
    return { releases: options.apiReleases + 2000, samples: options.apiSamples, routes, project_page_2000_under_200ms: page.p99_ms < 200, details: {} };
  } finally {
    await database.close();
  }
}
