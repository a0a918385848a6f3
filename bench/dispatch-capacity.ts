/**
 * dispatch_capacity: N unsolved releases (one solver: N dispatches) in the store;
 * `dispatchOnce` with the real store and the real Kubernetes Job scheduler against the
 * local API server, capacity K. The bench's controller (bench/support/job-controller.ts)
 * marks every Job succeeded `--job-ms` after it appeared. No quota is set on the API
 * server, so nothing but the pipeline keeps the active count at or below K.
 *
 * max_active: the most active Jobs the API server held (sampled at every new Job and every
 * 5 ms). utilisation: mean active / K over 5 ms samples taken while work waited, i.e. from
 * the start until the N-th Job was created.
 */
import { Registry } from 'prom-client';
import { asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { addIndex } from '../src/db/indexes.js';
import { dispatchOnce } from '../src/pipelines/dispatch.js';
import { silentLogger } from '../src/runtime/logger.js';
import { createMetrics } from '../src/runtime/metrics.js';
import { createKubeJobScheduler } from '../src/sinks/job-sink.js';
import { createPackageStore } from '../src/sinks/store-sink.js';
import { startKubeApi } from '../test/support/kube-api/index.js';
import type { BenchOptions } from './support/args.js';
import { createBenchDatabase } from './support/database.js';
import { startJobController } from './support/job-controller.js';
import { seedReleases } from './support/seed.js';
import { now, progress, round } from './support/util.js';

export interface DispatchCapacityResult {
  readonly dispatches: number;
  readonly capacity: number;
  readonly max_active: number;
  readonly utilisation: number;
}

const NAMESPACE = 'default';

export async function dispatchCapacity(options: BenchOptions): Promise<DispatchCapacityResult & { readonly details: Record<string, unknown> }> {
  const { dispatches, capacity, jobMs } = options;
  const logger = silentLogger();
  const metrics = createMetrics(new Registry(), { defaultMetrics: false });
  const db = await createBenchDatabase();
  const kube = await startKubeApi({ namespace: NAMESPACE });
  const jobs = createKubeJobScheduler({ kubeConfig: kube.kubeConfig(), namespace: NAMESPACE, logger, metrics });
  let controller: ReturnType<typeof startJobController> | null = null;
  try {
    const registered = await addIndex(db.pool, { simpleUrl: 'https://dispatch.bench.invalid/simple', watchMode: 'all' });
    await seedReleases(db.pool, { indexId: registered.id, rows: dispatches, versionsPerProject: 5, prefix: 'disp' });
    progress(`dispatch_capacity: ${dispatches} dispatches, capacity ${capacity}, each Job succeeds ${jobMs} ms after it appears`);
    controller = startJobController(kube, NAMESPACE, jobMs);
    const started = now();
    const outcomes = await lastValueFrom(
      dispatchOnce(
        { store: createPackageStore(db.pool, { analyzeBeforeScan: db.embedded }), jobs, scheduler: asyncScheduler },
        {
          solvers: ['solver-bench'],
          capacity,
          scanIntervalMs: 60_000,
          pageSize: 500,
          concurrency: options.dispatchConcurrency,
          maxJobAttempts: 3,
          reverse: false,
          dedupeMax: 100_000,
        },
      ).pipe(toArray()),
    );
    const seconds = (now() - started) / 1000;
    const lastCreated = controller.createdAt(dispatches) ?? now();
    const waiting = controller.samples().filter((s) => s.at >= started && s.at <= lastCreated);
    const meanActive = waiting.reduce((sum, s) => sum + s.active, 0) / Math.max(1, waiting.length);
    const scheduled = outcomes.filter((o) => o.type === 'scheduled').length;
    const attention = outcomes.filter((o) => o.type === 'failed').length;
    const result = {
      dispatches,
      capacity,
      max_active: controller.maxActive(),
      utilisation: round(meanActive / capacity, 3),
    };
    progress(`dispatch_capacity: ${controller.created()} Jobs in ${round(seconds)} s; max active ${result.max_active} of ${capacity}; utilisation ${result.utilisation}`);
    return {
      ...result,
      details: {
        job_ms: jobMs,
        concurrency: options.dispatchConcurrency,
        jobs_created: controller.created(),
        scheduled,
        attention,
        seconds: round(seconds),
        jobs_per_s: round(controller.created() / seconds, 1),
        ideal_jobs_per_s: round(capacity / (jobMs / 1000), 1),
        mean_active_while_waiting: round(meanActive, 2),
        samples: waiting.length,
        creates_refused_or_failed: kube.requestCount('create') - controller.created(),
      },
    };
  } finally {
    controller?.stop();
    await jobs.close();
    await kube.stop();
    await db.close();
  }
}
