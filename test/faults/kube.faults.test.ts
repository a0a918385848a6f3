/**
 * Faults of the Kubernetes API under the dispatch pipeline (real store, real Job sink and
 * Jobs watch on @kubernetes/client-node, the local API server playing the cluster and a
 * small controller finishing the Jobs): 500s, 409 on a replay, 403 exceeded quota. Each
 * (release, solver) gets exactly one Job name created, the capacity is never exceeded,
 * every pair ends recorded as solved, nothing goes to attention.
 */
import { asyncScheduler, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addIndex } from '../../src/db/indexes.js';
import type { JobScheduler } from '../../src/domain/ports.js';
import type { PackageIndex } from '../../src/domain/types.js';
import { dispatchPipeline, type DispatchPipelineOutcome } from '../../src/pipelines/dispatch.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createMetrics, type Metrics } from '../../src/runtime/metrics.js';
import { createKubeJobScheduler, type KubeJobScheduler } from '../../src/sinks/job-sink.js';
import { createPackageStore } from '../../src/sinks/store-sink.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startKubeApi, type KubeApi } from '../support/kube-api/index.js';
import { repeated, rowCount, until } from './helpers.js';

const NAMESPACE = 'default';
const SOLVERS = ['solver-fedora-38-py311', 'solver-ubi-9-py312'];

let db: TestDatabase;
let kube: KubeApi;
let indexCount = 0;
const cleanups: (() => Promise<void> | void)[] = [];

// Each test its own database: the dispatch scan reads every unsolved release, so a test
// that shared one saw the releases an earlier test left unsolved (31 instead of its own 12).
beforeEach(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await db?.close();
});

async function counter(metrics: Metrics, name: 'jobs', outcome: string): Promise<number> {
  const { values } = await metrics[name].get();
  return values.filter((value) => value.labels.outcome === outcome).reduce((sum, value) => sum + value.value, 0);
}

interface Setup {
  readonly index: PackageIndex;
  readonly pairs: { project: string; version: string; solver: string; name: string }[];
  readonly jobs: KubeJobScheduler;
  /** The Job sink's and the pipeline's metrics. */
  readonly metrics: Metrics;
}

/** A fresh index with `releases` stored releases, a fresh API server, and the names their Jobs must get. */
async function setup(releases: number): Promise<Setup> {
  indexCount += 1;
  kube = await startKubeApi({ namespace: NAMESPACE });
  cleanups.push(() => kube.stop());
  const index = await addIndex(db.pool, { simpleUrl: `https://kube-faults-${indexCount}.example.test/simple` });
  const store = createPackageStore(db.pool);
  for (let n = 0; n < releases; n++) await store.recordReleases(index, `pkg-${n}`, [{ version: '1.0', files: [] }]);
  const metrics = createMetrics();
  const jobs = createKubeJobScheduler({ kubeConfig: kube.kubeConfig(), namespace: NAMESPACE, logger: silentLogger(), metrics, watch: { initialBackoffMs: 100, maxBackoffMs: 1_000 } });
  cleanups.push(() => jobs.close());
  const pairs = [];
  for (let n = 0; n < releases; n++) {
    for (const solver of SOLVERS) {
      const request = { indexUrl: index.simpleUrl, project: `pkg-${n}`, version: '1.0', solver, template: 'solver' as const };
      pairs.push({ project: request.project, version: '1.0', solver, name: jobs.buildJob(request).metadata?.name ?? '' });
    }
  }
  return { index, pairs, jobs, metrics };
}

/**
 * Plays the Job controller: every active Job succeeds some time after it was created. The
 * creation time has whole seconds, so a Job may finish right after it was created, even
 * before the create call's answer reached the pipeline: part of the fault. With `seen`,
 * the time counts from when the controller first saw the Job. It starts once `startWhen`
 * resolves true.
 */
function controller(afterMs: number, from: 'created' | 'seen' = 'created', startWhen: () => Promise<boolean> = async () => true): void {
  const seen = new Map<string, number>();
  let started = false;
  const timer = setInterval(() => {
    void (async () => {
      started ||= await startWhen();
      if (!started) return;
      const now = Date.now();
      for (const job of kube.jobs(NAMESPACE)) {
        const finished = (job.status.conditions ?? []).some((c) => c.status === 'True');
        if (!seen.has(job.metadata.name)) seen.set(job.metadata.name, now);
        const since = from === 'created' ? Date.parse(job.metadata.creationTimestamp) : (seen.get(job.metadata.name) ?? now);
        if (!finished && now - since >= afterMs) kube.succeedJob(NAMESPACE, job.metadata.name);
      }
    })();
  }, 100);
  cleanups.push(() => clearInterval(timer));
}

interface Run {
  readonly outcomes: DispatchPipelineOutcome[];
  /** Most active Jobs the API server held right after any create call answered. */
  maxActive(): number;
  failure(): unknown;
}

function run(setup: Setup, options: { capacity: number; scheduleMaxAttempts?: number }): Run & { stop(): void } {
  const { metrics } = setup;
  const store = createPackageStore(db.pool);
  let maxActive = 0;
  const jobs: JobScheduler = {
    ...setup.jobs,
    async schedule(request) {
      try {
        return await setup.jobs.schedule(request);
      } finally {
        maxActive = Math.max(maxActive, kube.activeJobs(NAMESPACE));
      }
    },
  };
  const outcomes: DispatchPipelineOutcome[] = [];
  let failure: unknown = null;
  const subscription: Subscription = dispatchPipeline(
    { store, jobs, scheduler: asyncScheduler },
    {
      solvers: SOLVERS,
      capacity: options.capacity,
      scanIntervalMs: 300,
      pageSize: 50,
      concurrency: 4,
      maxJobAttempts: 3,
      reverse: false,
      dedupeMax: 10_000,
      ...(options.scheduleMaxAttempts ? { scheduleMaxAttempts: options.scheduleMaxAttempts } : {}),
      storeMaxAttempts: 5,
      metrics,
      logger: silentLogger(),
    },
  ).subscribe({ next: (outcome) => outcomes.push(outcome), error: (error: unknown) => (failure = error) });
  cleanups.push(() => subscription.unsubscribe());
  return { outcomes, maxActive: () => maxActive, failure: () => failure, stop: () => subscription.unsubscribe() };
}

async function solved(setup: Setup, target: Run): Promise<void> {
  try {
    await until(`${setup.pairs.length} solver runs succeeded`, async () => {
      if (target.failure()) throw target.failure() as Error;
      const done = await rowCount(
        db.pool,
        `SELECT 1 FROM solver_run r JOIN package_version v ON v.id = r.package_version_id WHERE v.index_id = $1 AND r.state = 'succeeded'`,
        [setup.index.id],
      );
      return done === setup.pairs.length;
    }, 100_000);
  } catch (error) {
    // What a stall looked like (11.19 is seen only on a loaded machine): runs by state, the
    // cluster's Jobs, and the pipeline's last outcomes.
    const { rows } = await db.pool.query<{ state: string; n: number }>(
      `SELECT r.state, count(*)::int AS n FROM solver_run r JOIN package_version v ON v.id = r.package_version_id WHERE v.index_id = $1 GROUP BY r.state`,
      [setup.index.id],
    );
    const jobs = kube.jobs(NAMESPACE).map((job) => `${job.metadata.name}:${(job.status.conditions ?? []).some((c) => c.status === 'True') ? 'finished' : 'active'}`);
    const last = target.outcomes.slice(-10).map((outcome) => JSON.stringify(outcome).slice(0, 160));
    throw new Error(`${(error as Error).message}\nsolver runs: ${JSON.stringify(rows)}\nJobs (${jobs.length}): ${jobs.join(' ')}\nlast outcomes:\n${last.join('\n')}`, { cause: error });
  }
}

/** Exactly the expected Job names, one each; one solver run per pair; nothing in attention. */
async function verify(setup: Setup): Promise<void> {
  const names = kube.jobs(NAMESPACE).map((job) => job.metadata.name);
  expect(repeated(names)).toEqual([]);
  expect([...names].sort()).toEqual(setup.pairs.map((pair) => pair.name).sort());
  const { rows } = await db.pool.query<{ job_name: string; attempts: number }>(
    `SELECT r.job_name, r.attempts FROM solver_run r JOIN package_version v ON v.id = r.package_version_id WHERE v.index_id = $1`,
    [setup.index.id],
  );
  expect(rows.map((row) => row.job_name).sort()).toEqual(setup.pairs.map((pair) => pair.name).sort());
  expect(rows.every((row) => row.attempts === 1)).toBe(true);
  expect(await rowCount(db.pool, `SELECT 1 FROM attention WHERE pipeline = 'dispatch' AND item_key LIKE $1 || '%'`, [setup.index.simpleUrl])).toBe(0);
}

describe('Kubernetes API faults under the dispatch pipeline', () => {
  it('500s on create and on the watch list: retried, capacity respected, one Job per (release, solver)', async () => {
    const s = await setup(10);
    controller(200);
    kube.failNext(2, { status: 500, verbs: ['list'] });
    // A burst of 500s: each pauses every create for a backoff (1 s doubling), so keep it short.
    kube.failNext(3, { status: 500, verbs: ['create'] });
    const capacity = 4;
    const r = run(s, { capacity });
    await solved(s, r);
    await verify(s);
    expect(kube.pendingFailures()).toBe(0);
    const created = await counter(s.metrics, 'jobs', 'created');
    const creates = kube.requestCount('create');
    expect(created).toBe(s.pairs.length);
    expect(r.maxActive()).toBeLessThanOrEqual(capacity);
    console.info(`[faults/kube] 500: ${creates} create calls (3 answered 500), ${created} Jobs created for ${s.pairs.length} pairs, most active ${r.maxActive()} of ${capacity}`);
  }, 120_000);

  it('409 on replay: Jobs already on the cluster (a crash before recording) read as exists, none created twice', async () => {
    const s = await setup(6);
    controller(200);
    // A previous process created these Jobs and died before recording them.
    const earlier = s.pairs.slice(0, 3);
    for (const pair of earlier) {
      const job = s.jobs.buildJob({ indexUrl: s.index.simpleUrl, project: pair.project, version: pair.version, solver: pair.solver, template: 'solver' });
      kube.seedJob(NAMESPACE, { metadata: { name: pair.name, labels: job.metadata?.labels ?? {}, annotations: job.metadata?.annotations ?? {} } });
    }
    const first = run(s, { capacity: 8 });
    await solved(s, first);
    first.stop();
    // Lose some records again (as a crash would): the next process's scan replays their creates.
    const replayed = s.pairs.slice(4, 8).map((pair) => pair.name);
    await db.pool.query('DELETE FROM solver_run WHERE job_name = ANY($1)', [replayed]);
    const r = run(s, { capacity: 8 });
    await solved(s, r);
    await verify(s);
    const created = await counter(s.metrics, 'jobs', 'created');
    const exists = await counter(s.metrics, 'jobs', 'exists');
    expect(created).toBe(s.pairs.length - earlier.length);
    expect(exists).toBeGreaterThanOrEqual(earlier.length + replayed.length);
    console.info(`[faults/kube] 409: ${kube.requestCount('create')} create calls, ${created} created, ${exists} answered 409 (exists) for ${s.pairs.length} pairs`);
  }, 120_000);

  it('403 exceeded quota below the capacity: refused creates wait and retry, nothing scheduled twice', async () => {
    // Each refusal pauses every create for a backoff (1 s doubling): a few pairs, Jobs done fast.
    const s = await setup(4);
    // No Job finishes before the quota has refused a create: on a slow machine they could
    // otherwise all be done before the pipeline fills the quota, and nothing be refused.
    controller(300, 'seen', async () => (await counter(s.metrics, 'jobs', 'refused')) > 0);
    const quota = 3;
    kube.setQuota(NAMESPACE, quota);
    const r = run(s, { capacity: 6, scheduleMaxAttempts: 50 });
    await solved(s, r);
    await verify(s);
    const created = await counter(s.metrics, 'jobs', 'created');
    const refused = await counter(s.metrics, 'jobs', 'refused');
    expect(created).toBe(s.pairs.length);
    expect(refused).toBeGreaterThan(0);
    expect(r.maxActive()).toBeLessThanOrEqual(quota);
    console.info(`[faults/kube] 403: ${refused} creates refused by the quota of ${quota}, ${created} created for ${s.pairs.length} pairs, most active ${r.maxActive()}`);
  }, 120_000);
});
