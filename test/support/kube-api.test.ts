import { ApiException, BatchV1Api, Watch, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLabelSelector, startKubeApi, type KubeApi } from './kube-api/index.js';

const NS = 'solvers';

function jobBody(name: string, labels: Record<string, string> = { app: 'test' }): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } },
  };
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiException);
    const e = error as ApiException<unknown>;
    return { code: e.code, body: JSON.parse(String(e.body)) as Record<string, unknown> };
  }
  throw new Error('expected the request to fail');
}

interface Seen {
  type: string;
  object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string };
}

/** Opens a watch through the client's Watch class; resolves `done` with the error the client reports. */
async function openWatch(kc: KubeConfig, params: Record<string, string>) {
  const events: Seen[] = [];
  let resolveDone!: (error: unknown) => void;
  const done = new Promise<unknown>((resolve) => (resolveDone = resolve));
  const controller = await new Watch(kc).watch(
    `/apis/batch/v1/namespaces/${NS}/jobs`,
    params,
    (type, object) => events.push({ type, object: object as Seen['object'] }),
    (error) => resolveDone(error),
  );
  return { events, done, controller };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('label selectors', () => {
  it('matches equality, inequality, set and existence requirements', () => {
    const labels = { app: 'pkgstream', tier: 'solver', 'pkgstream.dev/solver': 'fedora-38' };
    expect(parseLabelSelector('app=pkgstream')(labels)).toBe(true);
    expect(parseLabelSelector('app==pkgstream,tier=solver')(labels)).toBe(true);
    expect(parseLabelSelector('app=other')(labels)).toBe(false);
    expect(parseLabelSelector('app!=other')(labels)).toBe(true);
    expect(parseLabelSelector('pkgstream.dev/solver in (fedora-38, ubi-9)')(labels)).toBe(true);
    expect(parseLabelSelector('pkgstream.dev/solver notin (fedora-38)')(labels)).toBe(false);
    expect(parseLabelSelector('tier,!missing')(labels)).toBe(true);
    expect(parseLabelSelector('missing')(labels)).toBe(false);
    expect(parseLabelSelector('')(labels)).toBe(true);
  });
});

describe('local Kubernetes API server', () => {
  let api: KubeApi;
  let batch: BatchV1Api;

  beforeEach(async () => {
    api = await startKubeApi({ namespace: NS });
    batch = api.kubeConfig().makeApiClient(BatchV1Api);
  });
  afterEach(async () => {
    await api.stop();
  });

  it('creates a Job with server-set metadata and answers 409 AlreadyExists for the same name', async () => {
    const created = await batch.createNamespacedJob({ namespace: NS, body: jobBody('solver-a') });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.namespace).toBe(NS);
    expect(created.spec?.backoffLimit).toBe(6);

    const { code, body } = await apiError(batch.createNamespacedJob({ namespace: NS, body: jobBody('solver-a') }));
    expect(code).toBe(409);
    expect(body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'AlreadyExists', code: 409, details: { name: 'solver-a', group: 'batch', kind: 'jobs' } });
    expect(api.jobs(NS)).toHaveLength(1);
    expect(api.requestCount('create')).toBe(2);
  });

  it('refuses with 403 exceeded quota once the active-Job limit is reached, and accepts again after a Job finishes', async () => {
    api.setQuota(NS, 2);
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('a') });
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('b') });
    const { code, body } = await apiError(batch.createNamespacedJob({ namespace: NS, body: jobBody('c') }));
    expect(code).toBe(403);
    expect(body).toMatchObject({ reason: 'Forbidden', code: 403 });
    expect(String(body.message)).toContain('exceeded quota');
    // A finished Job no longer counts; another namespace has no quota.
    api.succeedJob(NS, 'a');
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('c') });
    await batch.createNamespacedJob({ namespace: 'other', body: jobBody('c') });
    expect(api.activeJobs(NS)).toBe(2);
  });

  it('answers 422 Invalid for a name that is not a DNS-1123 label and for bad label values', async () => {
    for (const name of ['Upper', 'a'.repeat(64), 'under_score', '-lead']) {
      const { code, body } = await apiError(batch.createNamespacedJob({ namespace: NS, body: jobBody(name) }));
      expect(code).toBe(422);
      expect(body).toMatchObject({ reason: 'Invalid', code: 422 });
      expect((body.details as { causes: { field: string }[] }).causes[0]?.field).toBe('metadata.name');
    }
    const bad = await apiError(batch.createNamespacedJob({ namespace: NS, body: jobBody('ok', { solver: 'has space' }) }));
    expect(bad.code).toBe(422);
    expect(api.jobs()).toHaveLength(0);
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('a'.repeat(63)) });
  });

  it('gets, lists by label selector with a list resourceVersion, and deletes', async () => {
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('one', { app: 'pkgstream', solver: 's1' }) });
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('two', { app: 'pkgstream', solver: 's2' }) });
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('three', { app: 'other' }) });

    const got = await batch.readNamespacedJob({ namespace: NS, name: 'two' });
    expect(got.metadata?.labels).toMatchObject({ solver: 's2' });
    expect((await apiError(batch.readNamespacedJob({ namespace: NS, name: 'nope' }))).code).toBe(404);

    const all = await batch.listNamespacedJob({ namespace: NS });
    // Sorted by key (namespace/name), as etcd lists them, not in creation order.
    expect(all.items.map((j) => j.metadata?.name)).toEqual(['one', 'three', 'two']);
    expect(all.metadata?.resourceVersion).toBe(String(api.resourceVersion()));
    const eq = await batch.listNamespacedJob({ namespace: NS, labelSelector: 'app=pkgstream' });
    expect(eq.items.map((j) => j.metadata?.name)).toEqual(['one', 'two']);
    const setIn = await batch.listNamespacedJob({ namespace: NS, labelSelector: 'solver in (s2,s3)' });
    expect(setIn.items.map((j) => j.metadata?.name)).toEqual(['two']);
    const exists = await batch.listNamespacedJob({ namespace: NS, labelSelector: '!solver' });
    expect(exists.items.map((j) => j.metadata?.name)).toEqual(['three']);

    const status = await batch.deleteNamespacedJob({ namespace: NS, name: 'one', propagationPolicy: 'Background' });
    expect(status.status).toBe('Success');
    expect((await apiError(batch.deleteNamespacedJob({ namespace: NS, name: 'one' }))).code).toBe(404);
    expect(api.jobs(NS).map((j) => j.metadata.name)).toEqual(['two', 'three']);
    expect(api.requestCounts()).toMatchObject({ create: 3, get: 2, list: 4, delete: 2 });
  });

  it('sets status like the Job controller when a Job succeeds or fails', async () => {
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('ok') });
    await batch.createNamespacedJob({ namespace: NS, body: { ...jobBody('bad'), spec: { ...jobBody('bad').spec!, backoffLimit: 1 } } });
    api.startJob(NS, 'ok');
    expect((await batch.readNamespacedJob({ namespace: NS, name: 'ok' })).status).toMatchObject({ active: 1 });
    api.succeedJob(NS, 'ok');
    api.failJob(NS, 'bad');
    const ok = await batch.readNamespacedJob({ namespace: NS, name: 'ok' });
    expect(ok.status).toMatchObject({ active: 0, succeeded: 1 });
    expect(ok.status?.startTime).toBeInstanceOf(Date);
    expect(ok.status?.completionTime).toBeInstanceOf(Date);
    expect(ok.status?.conditions?.find((c) => c.type === 'Complete')).toMatchObject({ status: 'True' });
    const bad = await batch.readNamespacedJob({ namespace: NS, name: 'bad' });
    expect(bad.status).toMatchObject({ active: 0, failed: 2 });
    expect(bad.status?.completionTime).toBeUndefined();
    expect(bad.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
  });

  it('injects 5xx and 429 for the next N requests', async () => {
    api.failNext(2);
    expect((await apiError(batch.listNamespacedJob({ namespace: NS }))).code).toBe(500);
    expect((await apiError(batch.createNamespacedJob({ namespace: NS, body: jobBody('x') }))).code).toBe(500);
    await batch.listNamespacedJob({ namespace: NS });
    api.failNext(1, { status: 429, retryAfterSeconds: 3, verbs: ['create'] });
    await batch.listNamespacedJob({ namespace: NS });
    try {
      await batch.createNamespacedJob({ namespace: NS, body: jobBody('x') });
      throw new Error('expected 429');
    } catch (error) {
      const e = error as ApiException<string>;
      expect(e.code).toBe(429);
      expect(e.headers['retry-after']).toBe('3');
    }
    expect(api.pendingFailures()).toBe(0);
    expect(api.jobs()).toHaveLength(0);
  });

  it('streams ADDED/MODIFIED/DELETED watch events with increasing resourceVersions from a list resourceVersion', async () => {
    const kc = api.kubeConfig();
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('before', { app: 'pkgstream' }) });
    const list = await batch.listNamespacedJob({ namespace: NS, labelSelector: 'app=pkgstream' });
    const watch = await openWatch(kc, { resourceVersion: list.metadata!.resourceVersion!, labelSelector: 'app=pkgstream' });
    await until(() => api.watchCount() === 1);
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('after', { app: 'pkgstream' }) });
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('unrelated', { app: 'other' }) });
    api.succeedJob(NS, 'after');
    await batch.deleteNamespacedJob({ namespace: NS, name: 'after' });
    await until(() => watch.events.length === 3);
    expect(watch.events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED after', 'MODIFIED after', 'DELETED after']);
    const rvs = watch.events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    expect(new Set(rvs).size).toBe(3);
    expect(rvs[0]).toBeGreaterThan(Number(list.metadata!.resourceVersion));

    // A watch from an older resourceVersion replays what happened since.
    const replay = await openWatch(kc, { resourceVersion: list.metadata!.resourceVersion!, labelSelector: 'app=pkgstream' });
    await until(() => replay.events.length === 3);
    // Server-side close ends the stream: the client's done callback fires without an error.
    expect(api.closeWatches()).toBe(2);
    expect(await watch.done).toBeNull();
    expect(await replay.done).toBeNull();
    expect(api.requestCount('watch')).toBe(2);
  });

  it('answers a watch from a compacted resourceVersion with 410 Gone (ERROR event, or HTTP 410)', async () => {
    const kc = api.kubeConfig();
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('a') });
    const old = (await batch.listNamespacedJob({ namespace: NS })).metadata!.resourceVersion!;
    await batch.createNamespacedJob({ namespace: NS, body: jobBody('b') });
    api.compact();

    const asEvent = await openWatch(kc, { resourceVersion: old });
    expect(await asEvent.done).toBeNull();
    expect(asEvent.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) as unknown }]);

    api.setGoneMode('http');
    const asHttp = await openWatch(kc, { resourceVersion: old });
    expect(await asHttp.done).toMatchObject({ statusCode: 410 });

    // The current resourceVersion is still watchable.
    const current = await openWatch(kc, { resourceVersion: String(api.resourceVersion()) });
    await until(() => api.watchCount() === 1);
    api.succeedJob(NS, 'b');
    await until(() => current.events.length === 1);
    current.controller.abort();
    await until(() => api.watchCount() === 0);
  });

  it('compacts automatically with historyLimit and sends bookmarks to watches that allow them', async () => {
    await api.stop();
    api = await startKubeApi({ historyLimit: 2 });
    batch = api.kubeConfig().makeApiClient(BatchV1Api);
    const start = String(api.resourceVersion());
    for (const name of ['a', 'b', 'c']) await batch.createNamespacedJob({ namespace: NS, body: jobBody(name) });
    const gone = await openWatch(api.kubeConfig(), { resourceVersion: start });
    await gone.done;
    expect(gone.events[0]?.object.code).toBe(410);

    const fresh = await openWatch(api.kubeConfig(), { allowWatchBookmarks: 'true' });
    await until(() => fresh.events.length === 3);
    expect(fresh.events.map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'ADDED']);
    api.bookmark();
    await until(() => fresh.events.length === 4);
    expect(fresh.events[3]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(api.resourceVersion()) } } });
    api.closeWatches({ abrupt: true });
    await fresh.done;
  });
});
