/**
 * End to end through the built CLI as a child process, against the real Postgres (or the
 * embedded database) and the local index, Kafka broker and Kubernetes API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, exitOf, runCli, startCli, waitForLog } from '../support/cli.js';
import type { CliDatabase } from '../support/cli-database.js';
import type { IndexServer } from '../support/index-server/index.js';
import type { KafkaTestBroker } from '../support/kafka-broker/index.js';
import type { KubeApi } from '../support/kube-api/index.js';
import { startThreePeers, type ThreePeers } from '../support/three-peers.js';

let peers: ThreePeers | undefined;
let index: IndexServer;
let broker: KafkaTestBroker;
let kube: KubeApi;
let database: CliDatabase;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  peers = await startThreePeers({
    PKGSTREAM_NAMESPACE: 'default',
    PKGSTREAM_SOLVERS: 'solver-fedora-38-py311,solver-ubi-9-py312',
    PKGSTREAM_POLL_INTERVAL: '0.5',
    PKGSTREAM_RATE_LIMIT: '50',
    PKGSTREAM_TOPIC_PREFIX: 'e2e',
  });
  ({ index, broker, kube, database, env } = peers);
  const simple = `${index.url}/simple`;
  expect((await runCli(['index', 'add', simple, '--warehouse'], env)).code).toBe(0);
  expect((await runCli(['index', 'disable', 'https://pypi.org/simple'], env)).code).toBe(0);
  expect((await runCli(['package', 'add', 'alpha', '--index', simple], env)).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await peers?.stop();
});

/** Runs a query on the service's database between CLI runs. */
function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return database.use(async (pool) => (await pool.query(sql, params)).rows as T[]);
}

function topic(kind: string): { key: string; value: Record<string, unknown> }[] {
  return broker.records(`e2e.${kind}`).map((record) => ({
    key: record.key?.toString() ?? '',
    value: JSON.parse(record.value?.toString() ?? 'null') as Record<string, unknown>,
  }));
}

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('pkgstream end to end', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('a release on the index becomes a row, a package-released message and one Job per solver', async () => {
    index.addRelease('alpha', '1.0');
    const child = startCli(['run', '--http-port', '0'], { ...env, LOG_LEVEL: 'info', PKGSTREAM_SHUTDOWN_GRACE: '10' });
    try {
      await waitForLog(child, (line) => line.msg === 'pkgstream running', 60_000);
      await until(() => topic('package-released').some((message) => message.value.package_version === '1.0'));
      await until(() => kube.jobs('default').length === 2);
      await until(() => topic('solver-scheduled').length === 2);
      child.kill('SIGTERM');
      expect((await exitOf(child)).code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const [released] = topic('package-released');
    expect(released?.key).toBe(`${index.url}/simple|alpha|1.0`);
    expect(released?.value).toMatchObject({ component_name: 'pkgstream', version: 'v1', index_url: `${index.url}/simple`, package_name: 'alpha', package_version: '1.0' });
    expect(kube.jobs('default').map((job) => job.metadata.name).sort()).toEqual([
      expect.stringMatching(/^solver-fedora-38-py311-[0-9a-f]{16}$/),
      expect.stringMatching(/^solver-ubi-9-py312-[0-9a-f]{16}$/),
    ]);
    const rows = await query<{ project: string; version: string; state: string; artifacts: string }>(
      `SELECT v.project, v.version, v.state, count(a.*)::text AS artifacts FROM package_version v LEFT JOIN artifact a ON a.package_version_id = v.id GROUP BY v.id`,
    );
    expect(rows.map(({ project, version, state }) => ({ project, version, state }))).toEqual([{ project: 'alpha', version: '1.0', state: 'present' }]);
    expect(Number(rows[0]?.artifacts)).toBeGreaterThan(0);
    const runs = await query<{ solver: string }>('SELECT solver FROM solver_run ORDER BY solver');
    expect(runs.map((run) => run.solver)).toEqual(['solver-fedora-38-py311', 'solver-ubi-9-py312']);
  });

  it('a changed sha256 gives exactly one hash-mismatch over three update passes; a removal one missing-version; a yank one package-yanked', async () => {
    index.addRelease('alpha', '1.1');
    index.addRelease('alpha', '1.2');
    expect((await runCli(['once', 'update', '--all'], env)).code).toBe(0); // records 1.1 and 1.2 as new releases
    const file = index.packageIndex(); // for the URL only
    expect(file.simpleUrl).toBe(`${index.url}/simple`);

    const [first] = (await query<{ filename: string }>(`SELECT a.filename FROM artifact a JOIN package_version v ON v.id = a.package_version_id WHERE v.version = '1.0' ORDER BY a.filename LIMIT 1`));
    index.setSha('alpha', '1.0', first?.filename ?? '', 'f'.repeat(64));
    index.removeVersion('alpha', '1.1');
    index.yank('alpha', '1.2', 'broken build');
    for (let pass = 0; pass < 3; pass += 1) expect((await runCli(['once', 'update', '--all'], env)).code).toBe(0);

    const mismatches = topic('hash-mismatch');
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]?.value).toMatchObject({ package_name: 'alpha', package_version: '1.0', missing_from_database: ['f'.repeat(64)] });
    expect(topic('missing-version').map((message) => message.value.package_version)).toEqual(['1.1']);
    expect(topic('package-yanked').map((message) => [message.value.package_version, message.value.yanked_reason])).toEqual([['1.2', 'broken build']]);
  });

  it('check --dry-run prints the events it would produce and changes nothing', async () => {
    index.addRelease('alpha', '2.0');
    const before = await query<{ n: string }>('SELECT count(*)::text AS n FROM package_version');
    const kafkaBefore = topic('package-released').length;
    const result = await runCli(['check', 'alpha', '--index', `${index.url}/simple`, '--dry-run'], env);
    expect(result.code).toBe(0);
    const printed = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { topic: string; key: string });
    expect(printed).toEqual([expect.objectContaining({ topic: 'e2e.package-released', key: `${index.url}/simple|alpha|2.0` })]);
    expect(await query<{ n: string }>('SELECT count(*)::text AS n FROM package_version')).toEqual(before);
    expect(topic('package-released')).toHaveLength(kafkaBefore);
  });

  it('with no Kafka configured, events appear as JSON lines on stdout', async () => {
    index.addRelease('alpha', '3.0');
    const noKafka = { ...env, KAFKA_BROKERS: '' };
    const result = await runCli(['once', 'update', '--all'], noKafka);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { topic: string; key: string; value: { package_version: string } });
    expect(lines.filter((line) => line.topic === 'e2e.package-released').map((line) => line.value.package_version)).toEqual(['2.0', '3.0']);
  });
});
