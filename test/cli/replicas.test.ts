/**
 * Replicas on one Postgres database (issue 17, first step), as an operator runs them: two
 * `pkgstream run` processes. Both heartbeat (`pkgstream_replicas_live` 2); exactly one
 * polls the index's feeds, the other stands by; when the holder is killed (SIGKILL, no
 * goodbye) the other takes the feeds over after the lease TTL and records the next
 * release; a clean stop leaves no replica row and no lease behind.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addProject, setIndexEnabled } from '../../src/db/index.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, exitOf, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { killLeftovers, startRunning, type LogLine, type RunningCli } from '../support/cli-service.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { sample } from '../support/metrics-text.js';

const PROJECT = 'replicated.pkg';
const LEASE_TTL_S = 2;

let index: IndexServer;
beforeAll(async () => {
  index = await startIndexServer();
  index.addRelease(PROJECT, '1.0');
});
afterEach(() => killLeftovers());
afterAll(async () => {
  await index.stop();
});

const polling = (line: LogLine) => String(line.msg).startsWith('polling the feeds of this index');
const standingBy = (line: LogLine) => String(line.msg).startsWith('standing by for the feeds of this index');
const liveReplicas = async (replica: RunningCli) => sample(await replica.metrics(), 'pkgstream_replicas_live', {});

describe.runIf(process.env.TEST_DATABASE_URL)('pkgstream run as two replicas on one Postgres database', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let database: CliDatabase;
  beforeAll(async () => {
    database = await createCliDatabase();
    expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse', '--watch', 'seen'], database.env)).code).toBe(0);
    await database.use(async (pool) => {
      await setIndexEnabled(pool, 'https://pypi.org/simple', false);
      await addProject(pool, { project: PROJECT, indexUrl: `${index.url}/simple` });
    });
  });
  afterAll(async () => database?.close());

  const versions = () =>
    database.use(async (pool) => (await pool.query<{ version: string }>('SELECT version FROM package_version WHERE project = $1 ORDER BY version', ['replicated-pkg'])).rows.map((row) => row.version));

  it('one polls the feeds, the other takes them over when the holder is killed, and a clean stop leaves nothing behind', async () => {
    const env = { ...database.env, LOG_LEVEL: 'info', PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_PIPELINES: 'releases', PKGSTREAM_POLL_INTERVAL: '0.5', PKGSTREAM_LEASE_TTL: String(LEASE_TTL_S) };
    const first = startRunning(['run'], env);
    await first.log(polling);
    const second = startRunning(['run'], env);
    await second.log(standingBy);
    await until('both replicas live', async () => (await liveReplicas(first)) === 2 && (await liveReplicas(second)) === 2);
    expect(second.logs().filter(polling)).toEqual([]);
    const leaseHeld = async (replica: RunningCli) => sample(await replica.metrics(), 'pkgstream_feed_lease_held', { index: `127.0.0.1:${new URL(index.url).port}` });
    expect([await leaseHeld(first), await leaseHeld(second)]).toEqual([1, 0]);

    index.addRelease(PROJECT, '1.1');
    await until('1.1 recorded by the holder', async () => (await versions()).includes('1.1'));

    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await exitOf(first.child);
    await second.log(polling);
    const takeoverS = (Date.now() - killedAt) / 1000;
    index.addRelease(PROJECT, '1.2');
    await until('1.2 recorded by the replica that took over', async () => (await versions()).includes('1.2'));
    await until('the killed replica no longer counted', async () => (await liveReplicas(second)) === 1);
    expect(await leaseHeld(second)).toBe(1);
    console.info(`[cli/replicas] took over ${takeoverS.toFixed(1)} s after the SIGKILL (lease TTL ${LEASE_TTL_S} s); versions ${(await versions()).join(', ')}`);
    // Not before the lease could have expired (renewed at most a third of the TTL before the
    // kill), and within the TTL and a renewal, with room for a loaded machine.
    expect(takeoverS).toBeGreaterThanOrEqual((LEASE_TTL_S * 2) / 3);
    expect(takeoverS).toBeLessThan(LEASE_TTL_S + 10);
    expect(await versions()).toEqual(['1.0', '1.1', '1.2']);

    expect((await second.terminate()).code).toBe(0);
    const left = await database.use(async (pool) => ({
      leases: (await pool.query<{ holder: string }>('SELECT holder FROM work_lease')).rows,
      replicas: (await pool.query<{ heartbeat_at: Date }>("SELECT heartbeat_at FROM replica WHERE heartbeat_at > now() - interval '2 seconds'")).rows,
    }));
    // The killed replica's lease was taken over; the stopped one gave its own up.
    expect(left).toEqual({ leases: [], replicas: [] });
  });
});
