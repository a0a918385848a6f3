import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliDatabaseEnv, exitOf, startCli, waitForLog } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';

let env: NodeJS.ProcessEnv;
let closeDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  if (process.env.TEST_DATABASE_URL) {
    const database = await createTestDatabase();
    closeDatabase = () => database.close();
    env = cliDatabaseEnv(database.url);
  } else {
    env = cliDatabaseEnv(undefined);
  }
});
afterAll(async () => closeDatabase?.());

describe('pkgstream run', () => {
  // On its embedded defaults: PyPI as the index (unreachable here: the feed poll fails and
  // is counted, the service stays up), events on stdout, Jobs only logged.
  it('serves /metrics, /livez and /readyz with every pipeline running, then drains on SIGTERM and exits 0 within the grace period', async () => {
    const child = startCli(['run', '--http-port', '0'], { ...env, LOG_LEVEL: 'info', PKGSTREAM_SHUTDOWN_GRACE: '5' });
    try {
      const listening = await waitForLog(child, (line) => line.msg === 'http server listening');
      await waitForLog(child, (line) => line.msg === 'pkgstream running');
      const base = `http://127.0.0.1:${String(listening.port)}`;

      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('pkgstream_jobs_capacity 10');
      for (const pipeline of ['releases', 'update', 'dispatch']) expect(text).toContain(`pkgstream_pipeline_up{pipeline="${pipeline}"} 1`);
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);

      const started = performance.now();
      child.kill('SIGTERM');
      const { code } = await exitOf(child);
      expect(code).toBe(0);
      expect(performance.now() - started).toBeLessThan(5_000 + 2_000);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
