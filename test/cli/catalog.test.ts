import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIndex, recordReleases } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';

const SIMPLE = 'http://127.0.0.1:9/simple';
let database: CliDatabase;

beforeAll(async () => {
  database = await createCliDatabase();
  await database.use(async (pool) => {
    const index = await addIndex(pool, { simpleUrl: SIMPLE });
    const sha = 'b'.repeat(64);
    await recordReleases(pool, index.id, 'Demo_Pkg', [{ version: '1.0', files: [{ filename: 'demo_pkg-1.0.tar.gz', sha256: sha, yanked: false, yankedReason: null, uploadTime: null, size: null }] }]);
    await pool.query(
      `INSERT INTO event (kind, event_key, index_id, index_url, project, version, record)
       VALUES ('package-released', $1, $2, $3, 'demo-pkg', '1.0', '{"package_name":"demo-pkg"}'), ('hash-mismatch', $1, $2, $3, 'demo-pkg', '1.0', '{}')`,
      [`${SIMPLE}|demo-pkg|1.0`, index.id, SIMPLE],
    );
  });
}, 60_000);
afterAll(async () => database?.close());

describe('pkgstream package list | package show | events', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('lists projects by normalized prefix as a table and as JSON', async () => {
    const table = await runCli(['package', 'list', '--q', 'DEMO.'], database.env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^PROJECT\s+RELEASES\s+INDEX\ndemo-pkg\s+1\s+http:\/\/127\.0\.0\.1:9\/simple\n$/);
    const json = await runCli(['package', 'list', '--index', SIMPLE, '--json'], database.env);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ project: 'demo-pkg', releases: 1, indexUrl: SIMPLE })]);
  });

  it('shows a project with state and digests, and says so for an unknown one (exit 2)', async () => {
    const shown = await runCli(['package', 'show', 'demo-pkg'], database.env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`demo-pkg on ${SIMPLE}`);
    expect(shown.stdout).toMatch(/1\.0\s+hash-changed\s+-\s+\S+\s+demo_pkg-1\.0\.tar\.gz=b{64}/);
    const json = JSON.parse((await runCli(['package', 'show', 'demo-pkg', '--json'], database.env)).stdout) as { releases: { digests: { sha256: string }[] }[] };
    expect(json.releases[0]?.digests[0]?.sha256).toBe('b'.repeat(64));
    const unknown = await runCli(['package', 'show', 'nothing'], database.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('project nothing is not known on any index');
  });

  it('prints events newest first with --kind and --since filters', async () => {
    const all = await runCli(['events'], database.env);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[1])).toEqual(['hash-mismatch', 'package-released']);
    const kind = JSON.parse((await runCli(['events', '--kind', 'package-released', '--since', '1h', '--json'], database.env)).stdout) as { kind: string }[];
    expect(kind.map((event) => event.kind)).toEqual(['package-released']);
    const bad = await runCli(['events', '--since', 'yesterday'], database.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be an ISO time or a duration');
  });
});
