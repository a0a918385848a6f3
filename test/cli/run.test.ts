import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, cliDatabaseEnv, exitOf, startCli, waitForLog } from '../support/cli.js';
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

describe('pkgstream run', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  // On its embedded defaults: PyPI as the index (unreachable here: the feed poll fails and
  // is counted, the service stays up), events on stdout, Jobs only logged.
  it('serves /metrics, /livez and /readyz with every pipeline running, then drains on SIGTERM and exits 0 within the grace period', async () => {
    const child = startCli(['run', '--http-port', '0'], { ...env, LOG_LEVEL: 'info', PKGSTREAM_SHUTDOWN_GRACE: '5' });
    try {
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // Both listeners from the start: the two lines may arrive in one chunk, which the first
      // waiter consumes. Startup (embedded database, migrations) is slow on a loaded machine.
      const [listening] = await Promise.all([
        waitForLog(child, (line) => line.msg === 'http server listening', 60_000),
        waitForLog(child, (line) => line.msg === 'pkgstream running', 60_000),
      ]);
      const base = `http://127.0.0.1:${String(listening.port)}`;

      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('pkgstream_jobs_capacity 10');
      for (const pipeline of ['releases', 'update', 'dispatch']) expect(text).toContain(`pkgstream_pipeline_up{pipeline="${pipeline}"} 1`);
      // The one process of an embedded database dispatches without a lease, and says so.
      if (!process.env.TEST_DATABASE_URL) expect(text).toMatch(/^pkgstream_dispatch_lease_held 1$/m);
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);

      const started = performance.now();
      child.kill('SIGTERM');
      const { code } = await exitOf(child);
      expect(code).toBe(0);
      // Drained within the grace period by the service's own clock: no 'grace period over'.
      expect(stderr).toContain('"msg":"stopped"');
      expect(stderr).not.toContain('grace period over');
      // And no hang after it (the CLI exits at most 2 s after stopping); wall-clock time
      // on a loaded machine also holds the closers and process exit, hence the slack.
      expect(performance.now() - started).toBeLessThan(5_000 + 2_000 + 15_000);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
