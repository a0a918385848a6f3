/**
 * One index client per process: under `run`, the releases pipeline (backfilling after a
 * feed gap) and the update pass (re-checking every due release) read the same host at the
 * same time, and the host sees one rate limit, measured where it counts: at the index.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { addProject, setIndexEnabled } from '../../src/db/index.js';
import { timeRequests, until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, exitOf, runCli, startCli, waitForLog } from '../support/cli.js';
import { createCliDatabase } from '../support/cli-database.js';
import { startIndexServer } from '../support/index-server/index.js';
import { maxInWindow } from '../support/time-windows.js';

const RATE = 5;
const BURST = 2;
const PROJECTS = Array.from({ length: 30 }, (_, i) => `rate-${String(i)}`);

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('pkgstream run: one rate limit per index host for every pipeline', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it(`a backfill beside an update pass: never more than limit + burst (${String(RATE + BURST)}) requests in any second at the index`, async () => {
    const index = await startIndexServer();
    const database = await createCliDatabase();
    try {
      for (const project of PROJECTS) index.addRelease(project, '1.0');
      expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse', '--watch', 'seen'], database.env)).code).toBe(0);
      await database.use(async (pool) => {
        await setIndexEnabled(pool, 'https://pypi.org/simple', false);
        for (const project of PROJECTS) await addProject(pool, { project, indexUrl: `${index.url}/simple` });
      });
      // The first poll records the 30 releases; then every one is due again, and more new
      // releases than the updates feed holds make the next poll a gap (a backfill of all 30).
      expect((await runCli(['once', 'releases'], database.env)).code).toBe(0);
      await database.use((pool) => pool.query(`UPDATE package_version SET next_due_at = now() - interval '1 hour'`));
      for (let i = 0; i < 101; i += 1) index.addRelease(PROJECTS[i % PROJECTS.length]!, `2.${String(i)}`);

      const timed = timeRequests(index);
      const child = startCli(['run'], {
        ...database.env,
        LOG_LEVEL: 'info',
        PKGSTREAM_HTTP_PORT: '0',
        PKGSTREAM_PIPELINES: 'releases,update',
        PKGSTREAM_RATE_LIMIT: String(RATE),
        PKGSTREAM_RATE_BURST: String(BURST),
        PKGSTREAM_POLL_INTERVAL: '1',
      });
      children.push(child);
      const listening = await waitForLog(child, (line) => line.msg === 'http server listening', 60_000);
      const metricsUrl = `http://127.0.0.1:${String(listening.port)}/metrics`;
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // Which pipeline records the new releases first is a race (the other finds them known):
      // wait for both to have read every project, by their own log lines.
      await until(
        'the backfill and the update pass both done',
        async () => {
          const text = await (await fetch(metricsUrl)).text();
          return /"msg":"feed gap backfilled"/.test(stderr) && /pkgstream_last_successful_pass_timestamp_seconds\{pipeline="update"\} [1-9]/.test(text);
        },
        120_000,
        250,
      );
      child.kill('SIGTERM');
      expect((await exitOf(child)).code).toBe(0);

      const pages = timed.filter((request) => request.path.startsWith('/simple/'));
      const all = timed.map((request) => request.at);
      const spanSeconds = (Math.max(...all) - Math.min(...all)) / 1000;
      const figures = { requests: all.length, pages: pages.length, spanSeconds, maxInOneSecond: maxInWindow(all, 1000) };
      console.info(`[cli/index-rate] limit ${String(RATE)}/s burst ${String(BURST)}: ${JSON.stringify(figures)}`);
      // Both pipelines read every project: the backfill 30 and the update pass 30.
      expect(pages.length).toBeGreaterThanOrEqual(2 * PROJECTS.length);
      expect(figures.maxInOneSecond).toBeLessThanOrEqual(RATE + BURST);
    } finally {
      await database.close();
      await index.stop();
    }
  });
});
