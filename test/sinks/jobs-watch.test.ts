import { Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobsWatchEvent, SolverJobRequest } from '../../src/domain/index.js';
import { createMetrics, silentLogger, type Metrics } from '../../src/runtime/index.js';
import { createKubeJobScheduler, type KubeJobScheduler } from '../../src/sinks/job-sink.js';
import { jobStatusOf, watchSolverJobs, type JobsWatchOptions } from '../../src/sinks/jobs-watch.js';
import { startKubeApi, type KubeApi } from '../support/kube-api/index.js';

const NS = 'pkgstream';
const release = (version: string, solver = 'solver-fedora-38-py311'): SolverJobRequest => ({ indexUrl: 'https://pypi.org/simple', project: 'flask', version, solver });
const pkgstreamLabels = { 'app.kubernetes.io/name': 'pkgstream', 'app.kubernetes.io/component': 'solver', 'pkgstream.dev/solver': 'solver-seeded' };

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function summary(events: readonly JobsWatchEvent[]): string[] {
  return events.map((e) => (e.type === 'active' ? `active ${e.count}` : `${e.job.phase} ${e.job.name}`));
}

function lastActive(events: readonly JobsWatchEvent[]): number | null {
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const event = events[i];
    if (event?.type === 'active') return event.count;
  }
  return null;
}

describe('solver Jobs watch', () => {
  let api: KubeApi;
  let metrics: Metrics;
  let jobs: KubeJobScheduler;
  let subscription: Subscription | null;
  let events: JobsWatchEvent[];
  let errors: unknown[];

  const fast: Partial<JobsWatchOptions> = { initialBackoffMs: 50, maxBackoffMs: 200 };

  function start(options: Partial<JobsWatchOptions> = {}): void {
    subscription = watchSolverJobs({ kubeConfig: api.kubeConfig(), namespace: NS, logger: silentLogger(), metrics, ...fast, ...options }).subscribe({
      next: (event) => events.push(event),
      error: (error: unknown) => errors.push(error),
    });
  }

  const finished = () => summary(events).filter((line) => !line.startsWith('active'));

  beforeEach(async () => {
    api = await startKubeApi();
    metrics = createMetrics(new Registry(), { defaultMetrics: false });
    jobs = createKubeJobScheduler({ kubeConfig: api.kubeConfig(), namespace: NS, logger: silentLogger(), metrics, watch: fast });
    subscription = null;
    events = [];
    errors = [];
  });
  afterEach(async () => {
    subscription?.unsubscribe();
    await jobs.close();
    await api.stop();
  });

  it('reads status like the Job controller writes it', () => {
    const status = jobStatusOf({
      metadata: { name: 'j', labels: { a: 'b' }, annotations: { c: 'd' }, creationTimestamp: '2024-01-01T00:00:00Z' },
      status: { startTime: '2024-01-01T00:00:05Z', conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: '2024-01-01T00:01:00Z' }] },
    });
    expect(status).toEqual({ name: 'j', phase: 'failed', labels: { a: 'b' }, annotations: { c: 'd' }, startedAt: new Date('2024-01-01T00:00:05Z'), finishedAt: new Date('2024-01-01T00:01:00Z') });
    expect(jobStatusOf({ metadata: { name: 'k' }, status: { conditions: [{ type: 'Complete', status: 'False' }] } }).phase).toBe('active');
  });

  it('follows the active count through create, succeed and fail, reporting each finish once with metrics', async () => {
    api.seedJob(NS, { metadata: { name: 'old-done', labels: pkgstreamLabels } });
    api.succeedJob(NS, 'old-done');
    api.seedJob(NS, { metadata: { name: 'old-running', labels: pkgstreamLabels } });
    api.seedJob(NS, { metadata: { name: 'not-ours', labels: { app: 'other' } } });

    subscription = jobs.watch().subscribe((event) => events.push(event));
    await until(() => lastActive(events) === 1, 'the initial list');
    expect(summary(events)).toEqual(['succeeded old-done', 'active 1']);

    const a = await jobs.schedule(release('1.0'));
    const b = await jobs.schedule(release('2.0', 'solver-ubi-9-py312'));
    await until(() => lastActive(events) === 3, 'two created Jobs');
    api.startJob(NS, a.jobName);
    api.succeedJob(NS, a.jobName);
    await until(() => lastActive(events) === 2, 'a success');
    api.failJob(NS, b.jobName);
    await until(() => lastActive(events) === 1, 'a failure');
    api.failJob(NS, 'not-ours');
    api.deleteJob(NS, 'old-running');
    await until(() => lastActive(events) === 0, 'a deletion');

    expect(summary(events)).toEqual([
      'succeeded old-done',
      'active 1',
      'active 2',
      'active 3',
      `succeeded ${a.jobName}`,
      'active 2',
      `failed ${b.jobName}`,
      'active 1',
      'active 0',
    ]);
    const done = events.find((e) => e.type === 'finished' && e.job.name === a.jobName);
    expect(done).toMatchObject({ job: { annotations: { 'pkgstream.dev/version': '1.0', 'pkgstream.dev/project': 'flask' } } });
    expect(done?.type === 'finished' && done.job.finishedAt).toBeInstanceOf(Date);

    expect((await metrics.jobsActive.get()).values[0]?.value).toBe(0);
    const outcomes = Object.fromEntries((await metrics.jobOutcomes.get()).values.map((v) => [`${String(v.labels.solver)}/${String(v.labels.outcome)}`, v.value]));
    expect(outcomes).toEqual({ 'solver-seeded/succeeded': 1, 'solver-fedora-38-py311/succeeded': 1, 'solver-ubi-9-py312/failed': 1 });
    const durations = (await metrics.jobDuration.get()).values.filter((v) => v.metricName === 'pkgstream_job_duration_seconds_count');
    expect(durations.reduce((sum, v) => sum + v.value, 0)).toBe(3);
    expect(api.requestCount('list')).toBe(1);
  });

  it('re-lists after 410 Gone (history compacted while disconnected) without repeating finishes already reported', async () => {
    const a = await jobs.schedule(release('1.0'));
    const b = await jobs.schedule(release('2.0'));
    const c = await jobs.schedule(release('3.0'));
    api.succeedJob(NS, a.jobName);
    // A long enough first backoff that the changes below land while the watch is down.
    start({ initialBackoffMs: 600, random: () => 1 });
    await until(() => lastActive(events) === 2, 'the initial list');

    // Drop the stream and make the reconnect fail once, so that the watch is down while
    // Jobs change and history is compacted: its resourceVersion is then too old.
    const watchesBefore = api.requestCount('watch');
    api.failNext(1, { status: 500, verbs: ['watch'] });
    api.closeWatches({ abrupt: true });
    await until(() => api.requestCount('watch') > watchesBefore && api.pendingFailures() === 0, 'the failed reconnect');
    // Synchronously, so that all of it lands before the next reconnect however slow the
    // machine: an awaited create call could outlast the backoff and let a watch see it.
    api.succeedJob(NS, b.jobName);
    api.deleteJob(NS, c.jobName);
    const built = jobs.buildJob(release('4.0'));
    const d = { jobName: built.metadata?.name ?? '' };
    api.seedJob(NS, { metadata: { name: d.jobName, labels: built.metadata?.labels ?? {}, annotations: built.metadata?.annotations ?? {} } });
    api.compact();

    await until(() => finished().length === 2 && lastActive(events) === 1, 'the re-list');
    expect(finished()).toEqual([`succeeded ${a.jobName}`, `succeeded ${b.jobName}`]);
    expect(api.requestCount('list')).toBe(2);

    // Watching continues from the new list.
    api.failJob(NS, d.jobName);
    await until(() => lastActive(events) === 0, 'a failure after the re-list');
    expect(finished()).toEqual([`succeeded ${a.jobName}`, `succeeded ${b.jobName}`, `failed ${d.jobName}`]);
    expect(errors).toEqual([]);
  });

  it('re-lists after an HTTP 410 answer to the watch request', async () => {
    api.setGoneMode('http');
    const a = await jobs.schedule(release('1.0'));
    start({ initialBackoffMs: 600, random: () => 1 });
    await until(() => lastActive(events) === 1, 'the initial list');
    const watchesBefore = api.requestCount('watch');
    api.failNext(1, { status: 503, verbs: ['watch'] });
    api.closeWatches();
    await until(() => api.requestCount('watch') > watchesBefore && api.pendingFailures() === 0, 'the failed reconnect');
    api.succeedJob(NS, a.jobName);
    api.compact();
    await until(() => lastActive(events) === 0, 'the re-list');
    expect(finished()).toEqual([`succeeded ${a.jobName}`]);
    expect(api.requestCount('list')).toBe(2);
  });

  it('resumes from its resourceVersion after a server-side close, missing nothing and not re-listing', async () => {
    const a = await jobs.schedule(release('1.0'));
    start();
    await until(() => lastActive(events) === 1 && api.watchCount() === 1, 'the watch');
    api.closeWatches();
    api.succeedJob(NS, a.jobName); // happens while no watch is open
    const b = await jobs.schedule(release('2.0'));
    await until(() => finished().length === 1 && lastActive(events) === 1, 'the resumed watch');
    expect(summary(events)).toEqual(['active 1', `succeeded ${a.jobName}`, 'active 0', 'active 1']);
    expect(api.requestCount('list')).toBe(1);
    expect(api.requestCount('watch')).toBe(2);
    expect(b.outcome).toBe('created');
  });

  it('reconnects with backoff after injected 500s on list and watch and after an abrupt stream drop', async () => {
    const a = await jobs.schedule(release('1.0'));
    api.failNext(2, { status: 500, verbs: ['list'] });
    start();
    await until(() => lastActive(events) === 1, 'the list after two 500s');
    expect(api.requestCount('list')).toBe(3);

    await until(() => api.watchCount() === 1, 'the watch');
    api.failNext(3, { status: 500, verbs: ['watch'] });
    api.closeWatches({ abrupt: true });
    await until(() => api.watchCount() === 1 && api.pendingFailures() === 0, 'the watch after three 500s');
    expect(api.requestCount('watch')).toBe(5);
    api.succeedJob(NS, a.jobName);
    await until(() => lastActive(events) === 0, 'the finish after reconnecting');
    expect(summary(events)).toEqual(['active 1', `succeeded ${a.jobName}`, 'active 0']);
    expect(errors).toEqual([]);
  });

  it('drops and resumes a watch that stays silent past the idle timeout', async () => {
    start({ idleTimeoutMs: 150 });
    await until(() => api.requestCount('watch') >= 3, 'idle reconnects');
    expect(api.requestCount('list')).toBe(1);
    expect(errors).toEqual([]);
  });

  it('reports a Job again when it is re-created under the same name (new uid)', async () => {
    const a = await jobs.schedule(release('1.0'));
    start();
    await until(() => lastActive(events) === 1, 'the initial list');
    api.failJob(NS, a.jobName);
    await until(() => finished().length === 1, 'the failure');
    api.deleteJob(NS, a.jobName); // as the TTL controller does
    expect((await jobs.schedule(release('1.0'))).outcome).toBe('created');
    api.succeedJob(NS, a.jobName);
    await until(() => finished().length === 2, 'the second run');
    expect(finished()).toEqual([`failed ${a.jobName}`, `succeeded ${a.jobName}`]);
  });

  it('fails with a non-retriable error when the API refuses access (403 on list)', async () => {
    api.failNext(1, { status: 403, verbs: ['list'] });
    start();
    await until(() => errors.length === 1, 'the error');
    expect(errors[0]).toMatchObject({ code: 'JOB_FORBIDDEN', retriable: false });
    expect(api.requestCount('list')).toBe(1);
  });

  it('stops watching when the scheduler closes', async () => {
    let completed = false;
    subscription = jobs.watch().subscribe({ next: (event) => events.push(event), complete: () => (completed = true) });
    await until(() => api.watchCount() === 1, 'the watch');
    await jobs.close();
    expect(completed).toBe(true);
    await until(() => api.watchCount() === 0, 'the stream to close');
  });
});
