import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addProject, recordAttention } from '../../src/db/index.js';
import { tokensEqual } from '../../src/http/auth.js';
import { ADMIN_TOKEN, startTestService, type TestService } from './support/service.js';

let service: TestService;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.base}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { items?: Record<string, unknown>[]; next?: string | null } };
}

async function post(path: string, headers: Record<string, string> = auth) {
  const response = await fetch(`${service.base}${path}`, { method: 'POST', headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  service = await startTestService();
  for (const name of ['alpha', 'alpha-beta', 'alphabet', 'gamma']) service.index.addRelease(name, '1.0');
  service.index.addRelease('alpha', '1.1');
  for (const name of ['alpha', 'alpha-beta', 'alphabet', 'gamma']) {
    expect((await post(`/api/v1/projects/${name}/check?index=${encodeURIComponent(service.simpleUrl)}`)).status).toBe(200);
  }
}, 120_000);
afterAll(async () => service?.stop());

describe('GET /api/v1/indexes', () => {
  it('lists each index with its mode, enabled, counts and feed health, and never a database URL', async () => {
    const { status, body } = await get('/api/v1/indexes');
    expect(status).toBe(200);
    const local = body.items?.find((item) => item.simpleUrl === service.simpleUrl);
    expect(local).toMatchObject({ watchMode: 'seen', enabled: true, projects: 4, releases: 5, feeds: [], polls: {}, gaps: 0 });
    expect(JSON.stringify(body)).not.toMatch(/postgres(ql)?:\/\//);
  });
});

describe('GET /api/v1/projects', () => {
  it('searches by normalized name prefix, keyset-paged with an opaque cursor', async () => {
    const first = await get('/api/v1/projects?q=Alpha_&limit=1');
    expect(first.status).toBe(200);
    expect(first.body.items?.map((item) => item.project)).toEqual(['alpha-beta']);
    const all = await get('/api/v1/projects?q=alpha&limit=2');
    expect(all.body.items?.map((item) => item.project)).toEqual(['alpha', 'alpha-beta']);
    expect(all.body.items?.[0]).toMatchObject({ indexUrl: service.simpleUrl, releases: 2 });
    const rest = await get(`/api/v1/projects?q=alpha&limit=2&cursor=${all.body.next ?? ''}`);
    expect(rest.body.items?.map((item) => item.project)).toEqual(['alphabet']);
    expect(rest.body.next).toBeNull();
  });

  it('filters by index and by release state, and refuses a bad cursor, state or limit with a 400', async () => {
    expect((await get(`/api/v1/projects?index=${encodeURIComponent(service.simpleUrl)}`)).body.items).toHaveLength(4);
    expect((await get('/api/v1/projects?state=yanked')).body.items).toEqual([]);
    for (const query of ['cursor=nope', 'state=gone', 'limit=0', 'limit=abc']) {
      const { status, body } = await get(`/api/v1/projects?${query}`);
      expect(status, query).toBe(400);
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toMatchObject({ code: 'bad_request' });
      expect((body.error as { message: string }).message).toContain('bad query');
    }
    expect(await get('/api/v1/projects?index=https%3A%2F%2Fnowhere.test%2Fsimple')).toMatchObject({ status: 404, body: { error: { code: 'index_not_found' } } });
  });
});

describe('GET /api/v1/projects/{name}', () => {
  it('shows each release with state, digests, first seen, last checked, next due and priority, newest first', async () => {
    const { status, body } = await get('/api/v1/projects/Alpha');
    expect(status).toBe(200);
    expect(body).toMatchObject({ project: 'alpha', indexUrl: service.simpleUrl, indexes: [service.simpleUrl] });
    const releases = body.releases as Record<string, unknown>[];
    expect(releases.map((release) => release.version)).toEqual(['1.1', '1.0']);
    const release = releases[1]!;
    expect(release).toMatchObject({ state: 'present', yankedReason: null, solverRuns: [], lastCheckedAt: null });
    const digest = (release.digests as { filename: string; sha256: string; present: boolean }[]).find((d) => d.filename === 'alpha-1.0.tar.gz');
    expect(digest).toMatchObject({ present: true });
    expect(digest?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(release.firstSeenAt as string)).not.toBeNaN();
    expect(Date.parse(release.nextDueAt as string)).not.toBeNaN();
  });

  it('shows a hash change as hash-changed and one release with its history', async () => {
    const files = (await get('/api/v1/projects/gamma')).body.releases as { digests: { filename: string }[] }[];
    const filename = files[0]!.digests[0]!.filename;
    service.index.setSha('gamma', '1.0', filename, 'f'.repeat(64));
    const check = await post('/api/v1/projects/gamma/check');
    expect(check.status).toBe(200);
    expect(check.body.events).toEqual([expect.objectContaining({ kind: 'hash-mismatch', project: 'gamma', version: '1.0' })]);
    const releases = (await get('/api/v1/projects/gamma')).body.releases as Record<string, unknown>[];
    expect(releases[0]).toMatchObject({ state: 'hash-changed' });
    const one = await get('/api/v1/projects/gamma/releases/1.0');
    expect(one.status).toBe(200);
    expect((one.body.events as Record<string, unknown>[]).map((event) => event.kind)).toEqual(['hash-mismatch', 'package-released']);
    expect(await get('/api/v1/projects/gamma/releases/9.9')).toMatchObject({ status: 404, body: { error: { code: 'release_not_found' } } });
  });

  it('answers 404 for an unknown project and 400 when several indexes know it and none is named', async () => {
    expect(await get('/api/v1/projects/nothing-here')).toMatchObject({ status: 404, body: { error: { code: 'project_not_found' } } });
    await addProject(service.database.pool, { indexUrl: 'https://pypi.org/simple', project: 'alphabet' });
    expect(await get('/api/v1/projects/alphabet')).toMatchObject({ status: 400, body: { error: { code: 'index_required' } } });
    expect((await get(`/api/v1/projects/alphabet?index=${encodeURIComponent(service.simpleUrl)}`)).status).toBe(200);
  });
});

describe('GET /api/v1/events', () => {
  it('lists the history newest first with project, version, kind and since filters and a cursor', async () => {
    const all = await get('/api/v1/events?limit=2');
    expect(all.status).toBe(200);
    const ids = all.body.items!.map((event) => event.id as number);
    expect(ids[0]).toBeGreaterThan(ids[1]!);
    const older = await get(`/api/v1/events?limit=100&cursor=${all.body.next ?? ''}`);
    expect(older.body.items!.every((event) => (event.id as number) < ids[1]!)).toBe(true);
    expect((await get('/api/v1/events?project=alpha')).body.items!.map((event) => event.version)).toEqual(['1.1', '1.0']);
    expect((await get('/api/v1/events?project=alpha&version=1.0')).body.items).toHaveLength(1);
    expect((await get('/api/v1/events?kind=hash-mismatch')).body.items!.map((event) => event.project)).toEqual(['gamma']);
    expect((await get('/api/v1/events?since=1h')).body.items!.length).toBeGreaterThan(0);
    expect((await get('/api/v1/events?since=2999-01-01T00:00:00Z')).body.items).toEqual([]);
    expect(await get('/api/v1/events?since=yesterday')).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    expect((await get('/api/v1/events/today')).body.kinds).toMatchObject({ 'package-released': 5, 'hash-mismatch': 1 });
  });
});

describe('attention', () => {
  it('lists open items, retries one (resolved when it succeeds) and resolves another', async () => {
    const pool = service.database.pool;
    const retried = await recordAttention(pool, { pipeline: 'update', itemKey: `${service.simpleUrl}|alpha`, errorCode: 'INDEX_HTTP_5XX', errorMessage: 'postgres://app:s3cret@db:5432/x refused', attempts: 5 });
    const other = await recordAttention(pool, { pipeline: 'dispatch', itemKey: `${service.simpleUrl}|alpha|1.0|solver-x`, errorCode: 'JOB_FAILED', errorMessage: 'failed', attempts: 3 });
    const open = await get('/api/v1/attention');
    expect(open.body.items!.map((item) => item.id)).toEqual([other.id, retried.id]);
    expect(JSON.stringify(open.body)).not.toContain('s3cret');
    expect((await get('/api/v1/attention?pipeline=dispatch')).body.items!.map((item) => item.id)).toEqual([other.id]);
    expect(await post(`/api/v1/attention/${retried.id}/retry`)).toMatchObject({ status: 200, body: { id: retried.id, resolved: true } });
    expect(await post(`/api/v1/attention/${other.id}/resolve`)).toMatchObject({ status: 200, body: { resolved: true } });
    expect((await get('/api/v1/attention')).body.items).toEqual([]);
    expect((await get('/api/v1/attention?open=false')).body.items!.map((item) => item.id).sort()).toEqual([retried.id, other.id].sort());
    expect(await post(`/api/v1/attention/${other.id}/resolve`)).toMatchObject({ status: 404, body: { error: { code: 'attention_not_found' } } });
    expect(await post('/api/v1/attention/x/retry')).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
  });

  it('answers 502 with the reason when a retry fails again, and keeps the item open', async () => {
    const item = await recordAttention(service.database.pool, { pipeline: 'update', itemKey: 'https://gone.test/simple|beta', errorCode: 'INDEX_CONNECTION', errorMessage: 'refused', attempts: 5 });
    const failed = await post(`/api/v1/attention/${item.id}/retry`);
    expect(failed).toMatchObject({ status: 502, body: { error: { code: 'retry_failed' } } });
    expect((failed.body.error as { message: string }).message).toContain('no index registered at https://gone.test/simple');
    expect((await get('/api/v1/attention')).body.items!.map((open) => open.id)).toContain(item.id);
  });
});

describe('GET /api/v1/pipelines', () => {
  it('shows each pipeline state and its current pass from the metrics registry', async () => {
    service.metrics.pipelineUp.set({ pipeline: 'update' }, 1);
    service.metrics.scanRowsDue.set({ pipeline: 'update' }, 40);
    service.metrics.scanRowsDone.set({ pipeline: 'update' }, 10);
    service.metrics.lastSuccessfulPass.set({ pipeline: 'update' }, 1_700_000_000);
    const { status, body } = await get('/api/v1/pipelines');
    expect(status).toBe(200);
    expect(body.items).toEqual(expect.arrayContaining([
      { name: 'update', state: 'running', currentPass: { rowsDone: 10, rowsDue: 40, rate: null, etaSeconds: null }, lastSuccessfulPassAt: '2023-11-14T22:13:20.000Z' },
      { name: 'dispatch', state: 'not started', currentPass: null, lastSuccessfulPassAt: null },
    ]));
  });
});

describe('POST /api/v1/projects/{name}', () => {
  it('registers a project as seen on the named index (what package add does), with the token only', async () => {
    const index = encodeURIComponent(service.simpleUrl);
    expect(await post(`/api/v1/projects/Seen_Here?index=${index}`)).toMatchObject({ status: 200, body: { project: 'seen-here', added: true } });
    expect(await post(`/api/v1/projects/seen-here?index=${index}`)).toMatchObject({ status: 200, body: { added: false } });
    expect(await post('/api/v1/projects/seen-here')).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    expect(await post('/api/v1/projects/seen-here?index=http%3A%2F%2F127.0.0.1%3A9%2Fsimple')).toMatchObject({ status: 404, body: { error: { code: 'index_not_found' } } });
    expect((await fetch(`${service.base}/api/v1/projects/other?index=${index}`, { method: 'POST' })).status).toBe(401);
  });
});

describe('POST /api/v1/projects/{name}/check', () => {
  it('processes one project now; a dry run returns the events and writes nothing', async () => {
    service.index.addRelease('alpha', '2.0');
    const dry = await post('/api/v1/projects/alpha/check?dry_run=true');
    expect(dry).toMatchObject({ status: 200, body: { dryRun: true, events: [expect.objectContaining({ kind: 'package-released', version: '2.0' })] } });
    expect(((await get('/api/v1/projects/alpha')).body.releases as unknown[]).length).toBe(2);
    expect((await post('/api/v1/projects/alpha/check')).body).toMatchObject({ dryRun: false, events: [expect.objectContaining({ version: '2.0' })] });
    expect(((await get('/api/v1/projects/alpha')).body.releases as unknown[]).length).toBe(3);
    expect(await post('/api/v1/projects/Not%20Valid!/check')).toMatchObject({ status: 400, body: { error: { code: 'bad_input' } } });
  });
});

describe('auth', () => {
  it('refuses a write with no token (401) or a wrong token (403), and compares tokens in constant time', async () => {
    const none = await fetch(`${service.base}/api/v1/projects/alpha/check`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toEqual({ error: { code: 'unauthorized', message: 'this needs Authorization: Bearer <PKGSTREAM_ADMIN_TOKEN>' } });
    expect(await post('/api/v1/projects/alpha/check', { authorization: `Bearer ${ADMIN_TOKEN}x` })).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(tokensEqual(ADMIN_TOKEN, ADMIN_TOKEN)).toBe(true);
    // Different lengths compare as digests: no early exit on length, no throw.
    expect(tokensEqual('short', ADMIN_TOKEN)).toBe(false);
  });

  it('answers 404 in the error shape for an unknown API route', async () => {
    expect(await get('/api/v1/nope')).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no route GET /api/v1/nope' } } });
  });
});

describe('a service without an admin token, or with PKGSTREAM_API_AUTH=all', () => {
  it('answers every write 403 saying why when no token is configured', async () => {
    const open = await startTestService({});
    try {
      const response = await fetch(`${open.base}/api/v1/attention/1/resolve`, { method: 'POST', headers: auth });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: { code: 'no_admin_token', message: 'writes are disabled: no PKGSTREAM_ADMIN_TOKEN is configured on the service' } });
      expect((await fetch(`${open.base}/api/v1/indexes`)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });

  it('needs the token for reads too with PKGSTREAM_API_AUTH=all', async () => {
    const closed = await startTestService({ PKGSTREAM_ADMIN_TOKEN: ADMIN_TOKEN, PKGSTREAM_API_AUTH: 'all' });
    try {
      expect((await fetch(`${closed.base}/api/v1/indexes`)).status).toBe(401);
      expect((await fetch(`${closed.base}/api/v1/indexes`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${closed.base}/`)).status).toBe(401);
      expect((await fetch(`${closed.base}/livez`)).status).toBe(200);
    } finally {
      await closed.stop();
    }
  });
});
