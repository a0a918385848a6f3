/**
 * PEP 792 as a user sees it (issue 15): the local index serves a project (PEP 691 JSON,
 * api-version 1.4), `pkgstream once update --all` records it with its files' PEP 700 size
 * and upload time; the index quarantines it with a reason (its page then lists no files):
 * the next pass publishes exactly one `project-status-changed` (old and new status, the
 * reason) and leaves every release as it was, not `missing`; the pass after publishes
 * nothing. Lifting the quarantine is one more event, back to `active`. `check --dry-run`
 * shows the event it would publish, and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

let index: IndexServer;
let database: CliDatabase;
let simpleUrl: string;

beforeAll(async () => {
  index = await startIndexServer();
  index.addRelease('Haunted.Pkg', '1.0');
  index.addRelease('Haunted.Pkg', '1.1');
  simpleUrl = `${index.url}/simple`;
  database = await createCliDatabase();
  // No --warehouse: an index without feeds, whose registered projects the update pass reads.
  expect((await runCli(['index', 'add', simpleUrl], database.env)).code).toBe(0);
  await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
  expect((await runCli(['package', 'add', 'haunted.pkg', '--index', simpleUrl], database.env)).code).toBe(0);
});
afterAll(async () => {
  await database?.close();
  await index?.stop();
});

interface Published {
  readonly topic: string;
  readonly key: string;
  readonly value: Record<string, unknown>;
}

/** One `once update --all`; the events it published (JSON lines on stdout, no Kafka configured). */
async function pass(): Promise<Published[]> {
  const result = await runCli(['once', 'update', '--all'], database.env);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Published);
}

interface Shown {
  status: string;
  statusReason: string | null;
  statusChangedAt: string | null;
  releases: { version: string; state: string; digests: { size: number | null; uploadTime: string | null }[] }[];
}
const show = async (): Promise<Shown> => JSON.parse((await runCli(['package', 'show', 'haunted-pkg', '--json'], database.env)).stdout) as Shown;

describe('a project quarantined on its index', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('is announced once with its reason, its releases kept; lifting it is one more event', async () => {
    const first = await pass();
    expect(first.map((event) => event.topic).sort()).toEqual(['pkgstream.package-released', 'pkgstream.package-released']);
    const recorded = await show();
    expect(recorded).toMatchObject({ status: 'active', statusReason: null, statusChangedAt: null });
    expect(recorded.releases.map((release) => [release.version, release.state])).toEqual([['1.1', 'present'], ['1.0', 'present']]);
    const digests = recorded.releases.flatMap((release) => release.digests);
    expect(digests).toHaveLength(4);
    expect(digests.every((digest) => (digest.size ?? 0) > 0 && digest.uploadTime !== null)).toBe(true);

    index.setStatus('haunted.pkg', 'quarantined', 'malware under review');
    // A dry run shows the event it would publish and writes nothing: the pass still finds the change.
    const dry = await runCli(['check', 'haunted.pkg', '--index', simpleUrl, '--dry-run'], database.env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('"new_status":"quarantined"');
    const second = await pass();
    expect(second).toEqual([
      {
        topic: 'pkgstream.project-status-changed',
        key: `${simpleUrl}|haunted-pkg|`,
        value: expect.objectContaining({ index_url: simpleUrl, package_name: 'haunted-pkg', old_status: 'active', new_status: 'quarantined', status_reason: 'malware under review' }) as unknown,
      },
    ]);
    const quarantined = await show();
    expect(quarantined).toMatchObject({ status: 'quarantined', statusReason: 'malware under review' });
    expect(quarantined.statusChangedAt).not.toBeNull();
    // Its page lists no files now; that is the quarantine, not every release gone.
    expect(quarantined.releases.map((release) => [release.version, release.state])).toEqual([['1.1', 'present'], ['1.0', 'present']]);
    const human = await runCli(['package', 'show', 'haunted-pkg'], database.env);
    expect(human.stdout.split('\n')[0]).toBe(`haunted-pkg on ${simpleUrl} (quarantined: "malware under review")`);

    expect(await pass()).toEqual([]);

    index.setStatus('haunted.pkg', 'active');
    const lifted = await pass();
    expect(lifted.map((event) => [event.topic, event.value.old_status, event.value.new_status, event.value.status_reason])).toEqual([
      ['pkgstream.project-status-changed', 'quarantined', 'active', null],
    ]);
    expect((await show()).releases.map((release) => release.state)).toEqual(['present', 'present']);

    const history = JSON.parse((await runCli(['events', '--project', 'haunted-pkg', '--kind', 'project-status-changed', '--json'], database.env)).stdout) as { record: Record<string, unknown> }[];
    expect(history.map((event) => [event.record.old_status, event.record.new_status])).toEqual([
      ['quarantined', 'active'],
      ['active', 'quarantined'],
    ]);
    console.info(`[cli/project-status] events per pass: ${[first, second, [], lifted].map((events) => events.length).join(', ')}; history ${JSON.stringify(history.map((event) => `${String(event.record.old_status)}->${String(event.record.new_status)}`))}`);
  });
});
