/**
 * What the parts of one dispatch run share: its ports and options, its store writes, its
 * bookkeeping (launched Jobs, outcome waiters, the drain of `dispatchOnce`) and the three
 * inner streams the parts feed: fresh items, re-runs of failed Jobs, finishes to handle again.
 */
import { Observable, Subject, type SchedulerLike } from 'rxjs';
import type { JobStatus } from '../domain/types.js';
import type { Logger } from '../runtime/index.js';
import { dispatchItemKey, dispatchSolvers, type DispatchItem } from './dispatch-items.js';
import type { DispatchJobs, DispatchMetrics, DispatchOptions, DispatchPorts, DispatchStore } from './dispatch-ports.js';
import { StoreWrites } from './dispatch-store-writes.js';
import { LaunchedJobs } from './launched-jobs.js';
import { OnceDrain } from './once-drain.js';
import { OutcomeWaiters } from './outcome-waiters.js';
import { stageMeter } from './stage-meter.js';

export const PIPELINE = 'dispatch' as const;

export interface Work {
  readonly item: DispatchItem;
  /** Called once the item has a durable outcome (or was dropped as a repeat of one). */
  readonly settled: () => void;
  /** The failed Job this item re-runs. */
  readonly retryOf?: string;
}

export interface DispatchContext {
  readonly store: DispatchStore;
  readonly jobs: DispatchJobs;
  readonly scheduler: SchedulerLike;
  readonly options: DispatchOptions;
  readonly solvers: readonly string[];
  readonly metrics: DispatchMetrics | undefined;
  readonly log: Logger | undefined;
  readonly gauge: (stage: string, n: number) => void;
  readonly stage: ReturnType<typeof stageMeter<'dispatch'>>;
  readonly writes: StoreWrites;
  readonly launched: LaunchedJobs;
  readonly waiters: OutcomeWaiters;
  readonly drain: OnceDrain;
  readonly fresh: Subject<Work>;
  readonly retries: Subject<Work>;
  readonly refinish: Subject<JobStatus>;
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}

/** `done`: what `dispatchOnce` does once drained. */
export function dispatchContext(ports: DispatchPorts, options: DispatchOptions, done: () => void): DispatchContext {
  const { store, jobs, scheduler } = ports;
  const { metrics, logger: log } = options;
  const random = options.random ?? Math.random;
  return {
    store,
    jobs,
    scheduler,
    options,
    solvers: dispatchSolvers(options),
    metrics,
    log,
    gauge: (stage, n) => metrics?.stageInflight.set({ pipeline: PIPELINE, stage }, n),
    stage: stageMeter(PIPELINE, metrics, scheduler),
    writes: new StoreWrites(store, { maxAttempts: options.storeMaxAttempts ?? 5, random, scheduler, metrics, logger: log }),
    launched: new LaunchedJobs(options.dedupeMax),
    waiters: new OutcomeWaiters(),
    drain: new OnceDrain(done),
    fresh: new Subject<Work>(),
    retries: new Subject<Work>(),
    refinish: new Subject<JobStatus>(),
  };
}

/** Completes (without a value) once the item has its outcome. */
export function submit(context: DispatchContext, item: DispatchItem): Observable<never> {
  return new Observable<never>((waiter) => {
    context.fresh.next({ item, settled: once(() => waiter.complete()) });
  });
}

/** Runs the failed Job `retryOf` again as `item` (its attempt raised). */
export function rerun(context: DispatchContext, item: DispatchItem, retryOf: string): void {
  context.drain.started();
  context.retries.next({ item, retryOf, settled: once(() => context.drain.ended()) });
}

export function holdWork(context: DispatchContext, work: Work): void {
  context.waiters.hold(dispatchItemKey(work.item), work.settled);
}
