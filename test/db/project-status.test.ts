/**
 * PEP 700 and PEP 792 in the store, on a real database: files' size and upload time are
 * written where artifacts are (a release recorded, files changed), never by an unchanged
 * check; a project's status is written only when it differs, a change of status with its
 * `project-status-changed` event in the same transaction, once. And the update pipeline's
 * project check on a quarantined project's page (no files): the status is reported, the
 * releases keep their state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIndex } from '../../src/db/indexes.js';
import { addProject } from '../../src/db/projects.js';
import { loadProjectStatus, recordProjectStatus } from '../../src/db/project-status.js';
import type { PackageStore } from '../../src/domain/ports.js';
import type { IndexFile, PackageIndex, ProjectPage, ProjectStatus } from '../../src/domain/types.js';
import { statusChangedEvent } from '../../src/pipelines/status-event.js';
import { checkProject } from '../../src/pipelines/update-project.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const sha = (c: string) => c.repeat(64);
const file = (filename: string, hash: string, size: number | null, uploadTime: string | null): IndexFile => ({ filename, sha256: hash, yanked: false, yankedReason: null, size, uploadTime });

let db: TestDatabase;
let store: PackageStore;
let index: PackageIndex;
const t0 = new Date('2024-06-01T00:00:00Z');

beforeAll(async () => {
  db = await createTestDatabase();
  store = createPackageStore(db.pool, { now: () => t0 });
  index = await addIndex(db.pool, { simpleUrl: 'https://status.example.test/simple', watchMode: 'all' });
});
afterAll(async () => db?.close());

const artifactRows = async (project: string) =>
  (
    await db.pool.query<{ filename: string; size: string | null; upload_time: Date | null; xmin: string }>(
      `SELECT a.filename, a.size, a.upload_time, a.xmin::text AS xmin FROM artifact a JOIN package_version v ON v.id = a.package_version_id
        WHERE v.index_id = $1 AND v.project = $2 ORDER BY a.filename`,
      [index.id, project],
    )
  ).rows;
const projectRow = async (project: string) =>
  (
    await db.pool.query<{ status: string; status_reason: string | null; status_changed_at: Date | null; xmin: string }>(
      'SELECT status, status_reason, status_changed_at, xmin::text AS xmin FROM package_project WHERE index_id = $1 AND project = $2',
      [index.id, project],
    )
  ).rows[0];
const statusEvents = async (project: string) =>
  (
    await db.pool.query<{ event_key: string; version: string | null; record: Record<string, unknown>; created_at: Date }>(
      "SELECT event_key, version, record, created_at FROM event WHERE kind = 'project-status-changed' AND project = $1 ORDER BY id",
      [project],
    )
  ).rows;

describe('PEP 700 size and upload time of artifacts', () => {
  it('are written when the release is recorded and when its files change, never by an unchanged check', async () => {
    const [recorded] = await store.recordReleases(index, 'sized', [
      { version: '1.0', files: [file('sized-1.0.tar.gz', sha('a'), 2048, '2024-05-01T10:11:12.123456Z'), file('sized-1.0-py3-none-any.whl', sha('b'), null, null)] },
    ]);
    const first = await artifactRows('sized');
    expect(first.map((row) => [row.filename, row.size, row.upload_time?.toISOString() ?? null])).toEqual([
      ['sized-1.0-py3-none-any.whl', null, null],
      ['sized-1.0.tar.gz', '2048', '2024-05-01T10:11:12.123Z'],
    ]);
    // Postgres keeps the microseconds the index gave.
    const micro = await db.pool.query<{ text: string }>("SELECT to_char(upload_time AT TIME ZONE 'UTC', 'US') AS text FROM artifact WHERE filename = 'sized-1.0.tar.gz'");
    expect(micro.rows[0]?.text).toBe('123456');

    // Unchanged, even though the index now gives a size it did not before: no artifact row written.
    const now = [file('sized-1.0.tar.gz', sha('a'), 2048, '2024-05-01T10:11:12.123456Z'), file('sized-1.0-py3-none-any.whl', sha('b'), 999, '2024-05-01T10:11:13Z')];
    await store.applyChecks([{ release: recorded!.id, check: { checkedAt: t0, changes: [{ kind: 'unchanged' }], files: now } }]);
    expect((await artifactRows('sized')).map((row) => row.xmin)).toEqual(first.map((row) => row.xmin));

    // The wheel changed: the files are rewritten with what the index gives now; a value it stops giving is kept.
    const changedFiles = [file('sized-1.0.tar.gz', sha('a'), null, null), file('sized-1.0-py3-none-any.whl', sha('c'), 999, '2024-05-01T10:11:13Z')];
    await store.applyChecks([
      { release: recorded!.id, check: { checkedAt: t0, changes: [{ kind: 'hash-mismatch', missingFromSource: [sha('b')], missingFromDatabase: [sha('c')] }], files: changedFiles } },
    ]);
    expect((await artifactRows('sized')).map((row) => [row.filename, row.size, row.upload_time?.toISOString() ?? null])).toEqual([
      ['sized-1.0-py3-none-any.whl', '999', '2024-05-01T10:11:13.000Z'],
      ['sized-1.0.tar.gz', '2048', '2024-05-01T10:11:12.123Z'],
    ]);
  });
});

describe('PEP 792 project status', () => {
  const announce = (project: string) => (previous: ProjectStatus) => [statusChangedEvent(index, project, previous, { status: 'quarantined', reason: 'malware review' })];

  it('is active until a page says otherwise; the same status again writes nothing', async () => {
    await addProject(db.pool, { project: 'calm', indexId: index.id });
    expect(await loadProjectStatus(db.pool, index.id, 'calm')).toEqual({ status: 'active', reason: null });
    const before = await projectRow('calm');
    expect(await recordProjectStatus(db.pool, { indexId: index.id, project: 'calm' }, { status: 'active', reason: null }, { at: t0, announce: announce('calm') })).toEqual({
      previous: { status: 'active', reason: null },
      changed: false,
    });
    expect((await projectRow('calm'))?.xmin).toBe(before?.xmin);
    expect(await statusEvents('calm')).toEqual([]);
  });

  it('a change of status is written with one event; a replay announces nothing', async () => {
    await addProject(db.pool, { project: 'haunted', indexId: index.id });
    const quarantine = { status: 'quarantined', reason: 'malware review' } as const;
    const first = await recordProjectStatus(db.pool, { indexId: index.id, project: 'haunted' }, quarantine, { at: t0, announce: announce('haunted'), serviceVersion: '9.9' });
    expect(first).toEqual({ previous: { status: 'active', reason: null }, changed: true });
    expect(await projectRow('haunted')).toMatchObject({ status: 'quarantined', status_reason: 'malware review', status_changed_at: t0 });
    const again = await recordProjectStatus(db.pool, { indexId: index.id, project: 'haunted' }, quarantine, { at: new Date(t0.getTime() + 1000), announce: announce('haunted') });
    expect(again).toEqual({ previous: quarantine, changed: false });
    const events = await statusEvents('haunted');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event_key: 'https://status.example.test/simple|haunted|', version: null, created_at: t0 });
    expect(events[0]?.record).toMatchObject({
      component_name: 'pkgstream',
      service_version: '9.9',
      index_url: 'https://status.example.test/simple',
      package_name: 'haunted',
      old_status: 'active',
      new_status: 'quarantined',
      status_reason: 'malware review',
    });
    expect(events[0]?.record).not.toHaveProperty('package_version');
  });

  it('a new reason alone is stored, not announced; an unknown project records nothing', async () => {
    await addProject(db.pool, { project: 'old-news', indexId: index.id });
    const at1 = new Date('2024-06-02T00:00:00Z');
    await recordProjectStatus(db.pool, { indexId: index.id, project: 'old-news' }, { status: 'archived', reason: null }, { at: at1, announce: announce('old-news') });
    const changed = await recordProjectStatus(db.pool, { indexId: index.id, project: 'old-news' }, { status: 'archived', reason: 'moved to new-news' }, { at: new Date('2024-06-03T00:00:00Z'), announce: announce('old-news') });
    expect(changed).toEqual({ previous: { status: 'archived', reason: null }, changed: false });
    expect(await projectRow('old-news')).toMatchObject({ status: 'archived', status_reason: 'moved to new-news', status_changed_at: at1 });
    expect(await statusEvents('old-news')).toHaveLength(1);
    expect(await recordProjectStatus(db.pool, { indexId: index.id, project: 'nobody' }, { status: 'quarantined', reason: null }, { at: t0, announce: announce('nobody') })).toEqual({ previous: null, changed: false });
    expect(await statusEvents('nobody')).toEqual([]);
  });
});

describe("the update pipeline's project check", () => {
  const pageOf = (status: ProjectStatus, releases: ProjectPage['releases']): ProjectPage => ({ project: 'quiet', releases, validators: {}, status });
  const stored = async () => (await store.loadProjectReleases(index.id, 'quiet')).map((release) => [release.version, release.state, release.artifacts.length]);

  it('a quarantined page with no files reports the status once and keeps every release as it was', async () => {
    await store.recordReleases(index, 'quiet', [
      { version: '1.0', files: [file('quiet-1.0.tar.gz', sha('1'), 10, null)] },
      { version: '2.0', files: [file('quiet-2.0.tar.gz', sha('2'), 20, null)] },
    ]);
    const before = await stored();
    const check = (page: ProjectPage, at: Date) => checkProject({ store }, { index, project: 'quiet', page, checkedAt: at });

    // PEP 792's example: no files, but the versions still listed (a new one among them).
    const quarantined = pageOf({ status: 'quarantined', reason: 'the project is haunted' }, [{ version: '1.0', files: [] }, { version: '2.0', files: [] }, { version: '3.0', files: [] }]);
    const first = await check(quarantined, new Date('2024-07-01T00:00:00Z'));
    expect(first.events.map((event) => [event.kind, event.fields])).toEqual([
      ['project-status-changed', { old_status: 'active', new_status: 'quarantined', status_reason: 'the project is haunted' }],
    ]);
    expect(first).toMatchObject({ releases: 2, changed: 0, recorded: [] });
    expect(await stored()).toEqual(before);
    const checked = await store.loadProjectReleases(index.id, 'quiet');
    expect(checked.every((release) => release.lastCheckedAt?.toISOString() === '2024-07-01T00:00:00.000Z')).toBe(true);

    // Still quarantined, now with nothing listed at all: no event, nothing missing.
    const second = await check(pageOf({ status: 'quarantined', reason: 'the project is haunted' }, []), new Date('2024-07-02T00:00:00Z'));
    expect(second.events).toEqual([]);
    expect(await stored()).toEqual(before);

    // Released from quarantine: one event back to active, and the releases compared again.
    const back = pageOf({ status: 'active', reason: null }, [{ version: '1.0', files: [file('quiet-1.0.tar.gz', sha('1'), 10, null)] }]);
    const third = await check(back, new Date('2024-07-03T00:00:00Z'));
    expect(third.events.map((event) => [event.kind, event.version, event.fields?.old_status, event.fields?.new_status])).toEqual([
      ['project-status-changed', null, 'quarantined', 'active'],
      ['missing-version', '2.0', undefined, undefined],
    ]);
    expect(await statusEvents('quiet')).toHaveLength(2);
  });

  it('a page that gives no status (or an unreadable one) leaves the stored status alone', async () => {
    await addProject(db.pool, { project: 'mute', indexId: index.id });
    await recordProjectStatus(db.pool, { indexId: index.id, project: 'mute' }, { status: 'deprecated', reason: null }, { at: t0 });
    const result = await checkProject({ store }, { index, project: 'mute', page: { project: 'mute', releases: [], validators: {} }, checkedAt: t0 });
    expect(result.events).toEqual([]);
    expect(await loadProjectStatus(db.pool, index.id, 'mute')).toEqual({ status: 'deprecated', reason: null });
  });
});
