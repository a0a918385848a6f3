/**
 * The kubectl scenario (kubectl.test.ts) through @kubernetes/client-node, the project's own
 * client, against the same kind of peer and the kubeconfig file it writes, loaded as is.
 */
import { ApiException, AuthorizationV1Api, BatchV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions, type V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApi } from '../support/kube-api/index.js';
import { NAMESPACE, VIEWER_TOKEN, expectedDefaults, jobManifest, startConformancePeer, storedDefaults } from './kubectl-scenario.js';

const namespace = NAMESPACE;

/** A Job the peer's controller leaves alone (suspended), so that only the test changes it. */
function suspended(name: string) {
  const manifest = jobManifest(name);
  return { ...manifest, spec: { ...manifest.spec, suspend: true } };
}

/** The refusal's code and Status body (client-node keeps no body for a 401: its generated code drops it). */
async function refusal(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiException);
    const e = error as ApiException<unknown>;
    return { code: e.code, body: typeof e.body === 'string' ? (JSON.parse(e.body) as Record<string, unknown>) : {} };
  }
  throw new Error('expected the request to be refused');
}

function clientsOf(file: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return { kc, batch: kc.makeApiClient(BatchV1Api), auth: kc.makeApiClient(AuthorizationV1Api) };
}

/** Watches one Job until `done` holds for an event's object; resolves with the event types seen. */
async function watchUntil(kc: KubeConfig, name: string, done: (job: V1Job) => boolean, started: () => Promise<unknown> = async () => undefined): Promise<string[]> {
  const seen: string[] = [];
  let controller: AbortController | null = null;
  let resolved = false;
  return new Promise<string[]>((resolve, reject) => {
    new Watch(kc)
      .watch(`/apis/batch/v1/namespaces/${namespace}/jobs`, { fieldSelector: `metadata.name=${name}` }, (type, object: V1Job) => {
        seen.push(type);
        if (seen.length === 1) started().catch(reject);
        if (!resolved && done(object)) {
          resolved = true;
          resolve(seen);
          controller?.abort(); // the done callback then reports the abort: not an error here
        }
      }, (error: unknown) => (error && !resolved ? reject(error as Error) : undefined))
      .then((c) => (controller = c), reject);
  });
}

describe('client-node against the local Kubernetes API server (the kubectl scenario)', { timeout: 60_000 }, () => {
  let api: KubeApi;
  let clients: ReturnType<typeof clientsOf>;
  const create = (name: string, labels?: Record<string, string>) => clients.batch.createNamespacedJob({ namespace, body: jobManifest(name, labels) });
  const patch = (name: string, body: object, strategy: PatchStrategy, extra: { fieldManager?: string; force?: boolean } = {}) =>
    clients.batch.patchNamespacedJob({ name, namespace, body, ...extra }, setHeaderOptions('Content-Type', strategy));

  beforeAll(async () => {
    api = await startConformancePeer();
    clients = clientsOf(api.kubeConfigFile());
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('gets Jobs: none at first, then the created one', async () => {
    expect((await clients.batch.listNamespacedJob({ namespace })).items).toEqual([]);
    await create('listed');
    expect((await clients.batch.listNamespacedJob({ namespace })).items.map((job) => job.metadata?.name)).toEqual(['listed']);
  });

  it('creates a Job with the defaults a real API server fills in', async () => {
    const created = await create('created');
    expect(storedDefaults(api, 'created')).toEqual(expectedDefaults(api, 'created'));
    expect(created.spec?.backoffLimit).toBe(6);
    expect((await refusal(create('created'))).body).toMatchObject({ reason: 'AlreadyExists', code: 409 });
  });

  it('patches twice with the same strategic merge patch (the second changes nothing), then a changed one', async () => {
    await clients.batch.createNamespacedJob({ namespace, body: suspended('applied') });
    const body = { metadata: { labels: { tier: 'one' } } };
    const first = await patch('applied', body, PatchStrategy.StrategicMergePatch);
    const second = await patch('applied', body, PatchStrategy.StrategicMergePatch);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const third = await patch('applied', { metadata: { labels: { tier: 'two' } } }, PatchStrategy.StrategicMergePatch);
    expect(Number(third.metadata?.resourceVersion)).toBeGreaterThan(Number(first.metadata?.resourceVersion));
    expect(api.job(namespace, 'applied')?.metadata.labels).toEqual({ app: 'conformance', tier: 'two' });
  });

  it('applies server-side, refuses a conflict with another manager, and takes the field with force', async () => {
    const config = suspended('ssa');
    const first = await patch('ssa', config, PatchStrategy.ServerSideApply, { fieldManager: 'conformance' });
    expect(first.metadata?.managedFields?.map((entry) => `${entry.manager}/${entry.operation}`)).toEqual(['conformance/Apply']);
    const again = await patch('ssa', config, PatchStrategy.ServerSideApply, { fieldManager: 'conformance' });
    expect(again.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    await patch('ssa', { metadata: { labels: { app: 'relabelled' } } }, PatchStrategy.MergePatch, { fieldManager: 'other' });
    const conflict = await refusal(patch('ssa', config, PatchStrategy.ServerSideApply, { fieldManager: 'conformance' }));
    expect(conflict.code).toBe(409);
    expect(conflict.body).toMatchObject({ reason: 'Conflict', details: { causes: [{ reason: 'FieldManagerConflict', field: '.metadata.labels.app' }] } });
    await patch('ssa', config, PatchStrategy.ServerSideApply, { fieldManager: 'conformance', force: true });
    expect(api.job(namespace, 'ssa')?.metadata.labels).toEqual({ app: 'conformance' });
    expect(api.job(namespace, 'ssa')?.status).toEqual({});
  });

  it('labels a Job (a JSON merge patch)', async () => {
    await create('labelled');
    await patch('labelled', { metadata: { labels: { a: 'b' } } }, PatchStrategy.MergePatch);
    expect(api.job(namespace, 'labelled')?.metadata.labels).toEqual({ app: 'conformance', a: 'b' });
  });

  it('replaces a Job (PUT), and refuses to change its immutable pod template', async () => {
    await create('replaced');
    const current = await clients.batch.readNamespacedJob({ name: 'replaced', namespace });
    current.metadata = { ...current.metadata, labels: { ...current.metadata?.labels, replaced: 'done' } };
    await clients.batch.replaceNamespacedJob({ name: 'replaced', namespace, body: current });
    expect(api.job(namespace, 'replaced')?.metadata).toMatchObject({ labels: { replaced: 'done' }, generation: 1 });
    const stale = await refusal(clients.batch.replaceNamespacedJob({ name: 'replaced', namespace, body: current }));
    expect(stale.body).toMatchObject({ reason: 'Conflict', code: 409 });
    const changed = jobManifest('replaced', undefined, 'busybox:1.37') as V1Job;
    const immutable = await refusal(clients.batch.replaceNamespacedJob({ name: 'replaced', namespace, body: changed }));
    expect(immutable.body).toMatchObject({ reason: 'Invalid', code: 422, details: { causes: [{ field: 'spec.template', message: 'field is immutable' }] } });
  });

  it('keeps a Job deleted with dryRun=All, and deletes it without', async () => {
    await create('kept');
    const dry = await clients.batch.deleteNamespacedJob({ name: 'kept', namespace, dryRun: 'All', propagationPolicy: 'Background' });
    expect(dry.status).toBe('Success');
    expect(api.job(namespace, 'kept')).toBeDefined();
    await clients.batch.deleteNamespacedJob({ name: 'kept', namespace, propagationPolicy: 'Background' });
    expect(api.job(namespace, 'kept')).toBeUndefined();
  });

  it("waits for condition=complete while the peer's Job controller runs the Job", async () => {
    await create('waited');
    const complete = (job: V1Job) => job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false;
    const types = await watchUntil(clients.kc, 'waited', complete);
    expect(types[0]).toBe('ADDED');
    expect(types.at(-1)).toBe('MODIFIED');
    expect(api.job(namespace, 'waited')?.status).toMatchObject({ succeeded: 1, active: 0 });
  });

  it('sees a change through a watch', async () => {
    await create('watched');
    const types = await watchUntil(clients.kc, 'watched', (job) => job.metadata?.labels?.seen === 'now', () => patch('watched', { metadata: { labels: { seen: 'now' } } }, PatchStrategy.MergePatch));
    expect(types).toContain('MODIFIED');
  });

  it('selects by field (metadata.name) and by label, and pages with limit/continue', async () => {
    await create('fs-a', { app: 'conformance', tier: 'fs' });
    await create('fs-b', { app: 'conformance', tier: 'fs' });
    const names = async (params: Record<string, string | number>) => (await clients.batch.listNamespacedJob({ namespace, ...params })).items.map((job) => job.metadata?.name);
    expect(await names({ fieldSelector: 'metadata.name=fs-a' })).toEqual(['fs-a']);
    expect(await names({ labelSelector: 'tier=fs' })).toEqual(['fs-a', 'fs-b']);
    const paged: (string | undefined)[] = [];
    let token: string | undefined;
    do {
      const page = await clients.batch.listNamespacedJob({ namespace, limit: 2, ...(token ? { _continue: token } : {}) });
      paged.push(...page.items.map((job) => job.metadata?.name));
      token = page.metadata?._continue;
    } while (token);
    expect(paged).toEqual(await names({}));
    expect(paged.length).toBeGreaterThan(3);
  });

  it("answers SelfSubjectAccessReviews from the token's RBAC rules", async () => {
    const review = (auth: AuthorizationV1Api, verb: string) =>
      auth.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace, verb, group: 'batch', resource: 'jobs' } } } });
    expect((await review(clients.auth, 'create')).status?.allowed).toBe(true);
    const viewer = clientsOf(api.kubeConfigFile({ token: VIEWER_TOKEN }));
    expect((await review(viewer.auth, 'create')).status?.allowed).toBe(false);
    expect((await review(viewer.auth, 'list')).status?.allowed).toBe(true);
  });

  it('is refused with 401 for an unknown token and 403 for a write the token may not do', async () => {
    const stranger = clientsOf(api.kubeConfigFile({ token: 'no-such-token' }));
    expect((await refusal(stranger.batch.listNamespacedJob({ namespace }))).code).toBe(401);
    const viewer = clientsOf(api.kubeConfigFile({ token: VIEWER_TOKEN }));
    expect((await viewer.batch.listNamespacedJob({ namespace, fieldSelector: 'metadata.name=fs-a' })).items).toHaveLength(1);
    const write = await refusal(viewer.batch.createNamespacedJob({ namespace, body: jobManifest('forbidden') }));
    expect(write).toMatchObject({ code: 403, body: { kind: 'Status', reason: 'Forbidden' } });
    expect(write.body.message).toBe(`jobs.batch is forbidden: User "viewer" cannot create resource "jobs" in API group "batch" in the namespace "${namespace}"`);
  });
});
