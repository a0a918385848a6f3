/**
 * Debian's kubectl against the local Kubernetes API server, with the kubeconfig the peer
 * writes: everything a user does with Jobs (get, create, apply twice, apply --server-side,
 * label, replace, delete --dry-run=server, wait, get -w, selectors, paging, auth can-i) and
 * the token check (401 without a known token, 403 for a token RBAC does not allow).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeApi } from '../support/kube-api/index.js';
import { runsWith } from '../support/tools.js';
import { kubectlFor, type Kubectl } from './kubectl-run.js';
import { NAMESPACE, VIEWER_TOKEN, expectedDefaults, jobManifest, startConformancePeer, storedDefaults, toYaml } from './kubectl-scenario.js';

describe.skipIf(!runsWith('kubectl'))('kubectl against the local Kubernetes API server', { timeout: 90_000 }, () => {
  let api: KubeApi;
  let kubectl: Kubectl;
  const create = async (name: string, labels?: Record<string, string>) => {
    const result = await kubectl.run(['create', '-f', '-'], { input: toYaml(jobManifest(name, labels)) });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(`job.batch/${name} created`);
  };

  beforeAll(async () => {
    api = await startConformancePeer();
    kubectl = kubectlFor(api.kubeConfigFile());
  });
  afterAll(async () => {
    kubectl?.close();
    await api?.stop();
  });

  it('gets Jobs as a Table: none at first, then the created one with its status columns', async () => {
    const empty = await kubectl.run(['get', 'jobs']);
    expect(empty).toMatchObject({ status: 0, stdout: '' });
    expect(empty.stderr.trim()).toBe(`No resources found in ${NAMESPACE} namespace.`);
    await create('listed');
    const listed = await kubectl.run(['get', 'jobs']);
    const [header, row] = listed.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    expect(row).toMatch(/^listed\s+(Running|Complete)\s+[01]\/1\s+/);
  });

  it('creates a Job from YAML with the defaults a real API server fills in', async () => {
    await create('created');
    expect(storedDefaults(api, 'created')).toEqual(expectedDefaults(api, 'created'));
    const again = await kubectl.run(['create', '-f', '-'], { input: toYaml(jobManifest('created')) });
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toBe('Error from server (AlreadyExists): error when creating "STDIN": jobs.batch "created" already exists');
  });

  it('applies a file twice (created, then unchanged), then a changed one (configured)', async () => {
    const manifest = jobManifest('applied');
    const outputs: string[] = [];
    for (const body of [manifest, manifest, jobManifest('applied', { app: 'conformance', tier: 'two' })]) {
      const result = await kubectl.run(['apply', '-f', '-'], { input: toYaml(body) });
      expect(result.stderr).toBe('');
      outputs.push(result.stdout.trim());
    }
    expect(outputs).toEqual(['job.batch/applied created', 'job.batch/applied unchanged', 'job.batch/applied configured']);
    expect(api.job(NAMESPACE, 'applied')?.metadata.labels).toEqual({ app: 'conformance', tier: 'two' });
    expect(api.job(NAMESPACE, 'applied')?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain('"tier":"two"');
  });

  it('applies server-side, refuses a conflict with another manager, and takes the field with --force-conflicts', async () => {
    const first = await kubectl.run(['apply', '--server-side', '-f', '-'], { input: toYaml(jobManifest('ssa')) });
    expect(first).toMatchObject({ status: 0, stdout: 'job.batch/ssa serverside-applied\n' });
    const managers = api.job(NAMESPACE, 'ssa')?.metadata.managedFields?.map((entry) => `${entry.manager}/${entry.operation}`);
    expect(managers).toEqual(['kubectl/Apply']);
    expect((await kubectl.run(['label', 'job', 'ssa', 'app=relabelled', '--overwrite'])).stdout.trim()).toBe('job.batch/ssa labeled');
    const conflict = await kubectl.run(['apply', '--server-side', '-f', '-'], { input: toYaml(jobManifest('ssa')) });
    expect(conflict.status).toBe(1);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl-label"');
    expect(conflict.stderr).toContain('.metadata.labels.app');
    const forced = await kubectl.run(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: toYaml(jobManifest('ssa')) });
    expect(forced).toMatchObject({ status: 0, stdout: 'job.batch/ssa serverside-applied\n' });
    expect(api.job(NAMESPACE, 'ssa')?.metadata.labels).toEqual({ app: 'conformance' });
  });

  it('labels a Job (a JSON merge patch)', async () => {
    await create('labelled');
    const result = await kubectl.run(['label', 'job', 'labelled', 'a=b']);
    expect(result).toMatchObject({ status: 0, stdout: 'job.batch/labelled labeled\n' });
    expect(api.job(NAMESPACE, 'labelled')?.metadata.labels).toEqual({ app: 'conformance', a: 'b' });
  });

  it('replaces a Job (PUT), and refuses to change its immutable pod template', async () => {
    await create('replaced');
    const replaced = await kubectl.run(['replace', '-f', '-'], { input: toYaml(jobManifest('replaced', { app: 'conformance', replaced: 'done' })) });
    expect(replaced).toMatchObject({ status: 0, stderr: '', stdout: 'job.batch/replaced replaced\n' });
    expect(api.job(NAMESPACE, 'replaced')?.metadata).toMatchObject({ labels: { replaced: 'done' }, generation: 1 });
    const immutable = await kubectl.run(['replace', '-f', '-'], { input: toYaml(jobManifest('replaced', undefined, 'busybox:1.37')) });
    expect(immutable.status).toBe(1);
    expect(immutable.stderr.trim()).toBe('The Job "replaced" is invalid: spec.template: field is immutable');
    expect(api.job(NAMESPACE, 'replaced')?.spec.template).toMatchObject({ spec: { containers: [{ image: 'busybox:1.36' }] } });
  });

  it('keeps a Job deleted with --dry-run=server, and deletes it without', async () => {
    await create('kept');
    const dry = await kubectl.run(['delete', 'job', 'kept', '--dry-run=server']);
    expect(dry).toMatchObject({ status: 0, stdout: 'job.batch "kept" deleted (server dry run)\n' });
    expect(api.job(NAMESPACE, 'kept')).toBeDefined();
    const real = await kubectl.run(['delete', 'job', 'kept']);
    expect(real).toMatchObject({ status: 0, stdout: 'job.batch "kept" deleted\n' });
    expect(api.job(NAMESPACE, 'kept')).toBeUndefined();
  });

  it('waits for condition=complete while the peer\'s Job controller runs the Job', async () => {
    await create('waited');
    const result = await kubectl.run(['wait', '--for=condition=complete', 'job/waited', '--timeout=30s']);
    expect(result).toMatchObject({ status: 0, stdout: 'job.batch/waited condition met\n' });
    expect(api.job(NAMESPACE, 'waited')?.status).toMatchObject({ succeeded: 1, active: 0 });
  });

  it('sees a change through get -w', async () => {
    await create('watched');
    const lines = await kubectl.untilLine(['get', 'job', 'watched', '-w', '--show-labels'], /seen=now/, async () => {
      const labelled = await kubectl.run(['label', 'job', 'watched', 'seen=now']);
      expect(labelled.stdout.trim()).toBe('job.batch/watched labeled');
    });
    expect(lines[0]?.split(/\s+/)).toEqual(['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE', 'LABELS']);
    expect(lines.at(-1)).toMatch(/^watched\s+.*seen=now/);
  });

  it('selects by field (metadata.name) and by label, and pages with --chunk-size', async () => {
    await create('fs-a', { app: 'conformance', tier: 'fs' });
    await create('fs-b', { app: 'conformance', tier: 'fs' });
    const byName = await kubectl.run(['get', 'jobs', '-o', 'name', '--field-selector', 'metadata.name=fs-a']);
    expect(byName).toMatchObject({ status: 0, stdout: 'job.batch/fs-a\n' });
    const byLabel = await kubectl.run(['get', 'jobs', '-o', 'name', '--selector', 'tier=fs']);
    expect(byLabel.stdout.trim().split('\n')).toEqual(['job.batch/fs-a', 'job.batch/fs-b']);
    const whole = await kubectl.run(['get', 'jobs', '-o', 'name']);
    const paged = await kubectl.run(['get', 'jobs', '-o', 'name', '--chunk-size', '1']);
    expect(paged.stdout).toBe(whole.stdout);
    expect(whole.stdout.trim().split('\n').length).toBeGreaterThan(3);
  });

  it('answers auth can-i from the token\'s RBAC rules', async () => {
    expect(await kubectl.run(['auth', 'can-i', 'create', 'jobs'])).toMatchObject({ status: 0, stdout: 'yes\n' });
    const viewer = api.kubeConfigFile({ token: VIEWER_TOKEN });
    expect(await kubectl.run(['auth', 'can-i', 'create', 'jobs'], { kubeconfig: viewer })).toMatchObject({ status: 1, stdout: 'no\n' });
    expect(await kubectl.run(['auth', 'can-i', 'list', 'jobs'], { kubeconfig: viewer })).toMatchObject({ status: 0, stdout: 'yes\n' });
  });

  it('is refused with 401 for an unknown token and 403 for a write the token may not do', async () => {
    const stranger = await kubectl.run(['get', 'jobs'], { kubeconfig: api.kubeConfigFile({ token: 'no-such-token' }) });
    expect(stranger.status).toBe(1);
    expect(stranger.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
    const viewer = api.kubeConfigFile({ token: VIEWER_TOKEN });
    expect((await kubectl.run(['get', 'jobs', '-o', 'name', '--field-selector', 'metadata.name=fs-a'], { kubeconfig: viewer })).stdout).toBe('job.batch/fs-a\n');
    const write = await kubectl.run(['create', '-f', '-'], { kubeconfig: viewer, input: toYaml(jobManifest('forbidden')) });
    expect(write.status).toBe(1);
    expect(write.stderr.trim()).toBe(`Error from server (Forbidden): error when creating "STDIN": jobs.batch is forbidden: User "viewer" cannot create resource "jobs" in API group "batch" in the namespace "${NAMESPACE}"`);
    expect(api.job(NAMESPACE, 'forbidden')).toBeUndefined();
  });
});
