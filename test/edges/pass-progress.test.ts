/**
 * The progress of a long update pass (issue 12 item 27), through `run` and `once update`
 * against the local index: `pkgstream_scan_rows_due` is the rows due at the start of the
 * pass (not the rows taken so far: the scan reads pages of 20), done, rate and ETA are
 * gauges (shown by /api/v1/pipelines), and a progress line comes every
 * PKGSTREAM_PROGRESS_INTERVAL while the pass runs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { addIndex, addProject, setIndexEnabled } from '../../src/db/index.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase } from '../support/cli-database.js';
import { killLeftovers, startRunning, type LogLine } from '../support/cli-service.js';
import { startIndexServer } from '../support/index-server/index.js';
import { sampleSum } from '../support/metrics-text.js';

afterAll(killLeftovers);

const RELEASES = 300;
const PROJECTS = Array.from({ length: RELEASES }, (_, n) => `progress-${String(n)}`);
const isProgress = (line: LogLine) => line.msg === 'update pass progress';

describe('the progress of a long update pass', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it(`${String(RELEASES)} due rows read 20 at a time: due is the total from the start; done, rate and ETA in metrics and a line every second`, async () => {
    const index = await startIndexServer();
    const database = await createCliDatabase();
    const makeDue = () => database.use((pool) => pool.query(`UPDATE package_version SET next_due_at = now() - interval '1 hour'`));
    try {
      for (const project of PROJECTS) index.addRelease(project, '1.0');
      await database.use(async (pool) => {
        await setIndexEnabled(pool, 'https://pypi.org/simple', false);
        const added = await addIndex(pool, { simpleUrl: `${index.url}/simple` });
        const store = createPackageStore(pool);
        for (const project of PROJECTS) {
          await addProject(pool, { project, indexUrl: added.simpleUrl });
          await store.recordReleases(added, project, [{ version: '1.0', files: [] }]);
        }
      });
      await makeDue();
      const env = { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_RATE_LIMIT: '40', PKGSTREAM_RATE_BURST: '5', PKGSTREAM_SCAN_PAGE_SIZE: '20', PKGSTREAM_PROGRESS_INTERVAL: '1' };

      const service = startRunning(['run'], { ...env, PKGSTREAM_PIPELINES: 'update' });
      const midway = await service.log((line) => isProgress(line) && Number(line.done) > 20 && Number(line.done) < RELEASES - 40, 90_000);
      const text = await service.metrics();
      const gauges = {
        due: sampleSum(text, 'pkgstream_scan_rows_due', { pipeline: 'update' }),
        done: sampleSum(text, 'pkgstream_scan_rows_done', { pipeline: 'update' }),
        rate: sampleSum(text, 'pkgstream_scan_rate_rows_per_second', { pipeline: 'update' }),
        eta: sampleSum(text, 'pkgstream_scan_eta_seconds', { pipeline: 'update' }),
      };
      // The API (and the UI, from the same reading) shows the same pass.
      const api = (await (await fetch(`${await service.base()}/api/v1/pipelines`)).json()) as { items: { name: string; currentPass: Record<string, number | null> | null }[] };
      const shown = api.items.find((item) => item.name === 'update')?.currentPass;
      const lines = () => service.logs().filter(isProgress);
      await until('the pass over', async () => /pkgstream_last_successful_pass_timestamp_seconds\{pipeline="update"\} [1-9]/.test(await service.metrics()), 90_000, 250);
      expect(await service.terminate()).toEqual({ code: 0, signal: null });
      console.info(`[edges/pass-progress] run: midway line ${JSON.stringify(midway)}; gauges ${JSON.stringify(gauges)}; API ${JSON.stringify(shown)}; ${String(lines().length)} progress lines`);

      expect(midway).toMatchObject({ pipeline: 'update', due: RELEASES });
      expect(Number(midway.ratePerSecond)).toBeGreaterThan(0);
      expect(Number(midway.etaSeconds)).toBeGreaterThan(0);
      // Rows due is the pass's total while it runs, not the 20-row pages taken so far.
      expect(gauges.due).toBe(RELEASES);
      expect(gauges.done).toBeLessThan(RELEASES);
      expect(gauges.rate).toBeGreaterThan(0);
      expect(gauges.eta).toBeGreaterThan(0);
      expect(shown).toMatchObject({ rowsDue: RELEASES });
      expect(Number(shown?.rate)).toBeGreaterThan(0);
      expect(Number(shown?.etaSeconds)).toBeGreaterThan(0);
      const done = lines().map((line) => Number(line.done));
      expect(done.length).toBeGreaterThanOrEqual(3);
      expect([...done].sort((a, b) => a - b)).toEqual(done);

      // `once update` reports the same way while it runs, not only at the end.
      await makeDue();
      const once = await runCli(['once', 'update'], env, 120_000);
      expect(once.code, once.stderr).toBe(0);
      const onceLines = once.stderr.split('\n').filter((line) => line.includes('"msg":"update pass progress"')).map((line) => JSON.parse(line) as LogLine);
      console.info(`[edges/pass-progress] once update: ${String(onceLines.length)} progress lines, done ${onceLines.map((line) => String(line.done)).join(', ')}`);
      expect(onceLines.length).toBeGreaterThanOrEqual(2);
      expect(onceLines.every((line) => line.due === RELEASES)).toBe(true);
      expect(onceLines.some((line) => Number(line.done) > 0 && Number(line.done) < RELEASES)).toBe(true);
    } finally {
      await database.close();
      await index.stop();
    }
  });
});
