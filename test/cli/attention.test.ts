import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIndex, addProject, recordAttention } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

let index: IndexServer;
let database: CliDatabase;
let ids: { update: number; dispatch: number; unknown: number };

beforeAll(async () => {
  index = await startIndexServer();
  database = await createCliDatabase();
  const simpleUrl = `${index.url}/simple`;
  index.addRelease('alpha', '1.0');
  ids = await database.use(async (pool) => {
    const registered = await addIndex(pool, { simpleUrl, warehouse: true });
    await addProject(pool, { indexId: registered.id, project: 'alpha' });
    const update = await recordAttention(pool, { pipeline: 'update', itemKey: `${simpleUrl}|alpha`, errorCode: 'INDEX_HTTP_5XX', errorMessage: '503 after 5 attempts', attempts: 5 });
    const dispatch = await recordAttention(pool, { pipeline: 'dispatch', itemKey: `${simpleUrl}|alpha|1.0|solver-x`, errorCode: 'JOB_FAILED', errorMessage: 'Job failed 3 times', attempts: 3 });
    const unknown = await recordAttention(pool, { pipeline: 'update', itemKey: 'https://gone.test/simple|beta', errorCode: 'INDEX_CONNECTION', errorMessage: 'refused', attempts: 5 });
    return { update: update.id, dispatch: dispatch.id, unknown: unknown.id };
  });
}, 60_000);

afterAll(async () => {
  await index.stop();
  await database.close();
});

describe('pkgstream attention', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('lists the open items with pipeline, key, code and attempts', async () => {
    const { code, stdout } = await runCli(['attention', 'list'], database.env);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.find((line) => line.startsWith(`${ids.update}\t`))).toContain(`update\t${index.url}/simple|alpha\tINDEX_HTTP_5XX\tattempts=5`);
    const onlyDispatch = await runCli(['attention', 'list', '--pipeline', 'dispatch'], database.env);
    expect(onlyDispatch.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('retries one item now and resolves it when it succeeds; one that fails again stays open, exit 1', async () => {
    const retried = await runCli(['attention', 'retry', String(ids.update)], database.env);
    expect(retried.code).toBe(0);
    // The retry checked alpha on the index: 1.0 is now a known release, announced on stdout
    // (no Kafka configured) before the retry's own line.
    expect(retried.stdout).toMatch(new RegExp(`^${ids.update}\\tresolved\\t0 known release\\(s\\) checked, 1 new, 1 event\\(s\\)$`, 'm'));
    expect(retried.stdout).toContain('"package_name":"alpha","package_version":"1.0"');
    const failing = await runCli(['attention', 'retry', String(ids.unknown)], database.env);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain(`${ids.unknown}\tfailed again\tno index registered at https://gone.test/simple`);
    const open = (await runCli(['attention', 'list'], database.env)).stdout;
    expect(open).not.toContain(`${ids.update}\t`);
    expect(open).toContain(`${ids.unknown}\t`);
  });

  it('retries a dispatch item by scheduling its Job (logged here: no cluster configured)', async () => {
    const retried = await runCli(['attention', 'retry', String(ids.dispatch)], database.env);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(new RegExp(`^${ids.dispatch}\\tresolved\\tJob solver-x-[0-9a-f]{16}-a4 dry-run`));
  });

  it('resolves an item by hand, and refuses an unknown id or no id', async () => {
    expect((await runCli(['attention', 'resolve', String(ids.unknown)], database.env)).code).toBe(0);
    expect((await runCli(['attention', 'list'], database.env)).stdout).toBe('nothing needs attention\n');
    const again = await runCli(['attention', 'resolve', String(ids.unknown)], database.env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`no open attention item ${ids.unknown}`);
    expect((await runCli(['attention', 'retry'], database.env)).code).toBe(2);
    expect((await runCli(['attention', 'resolve', 'x'], database.env)).code).toBe(2);
  });
});
