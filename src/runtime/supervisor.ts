/**
 * Keeps one long-running pipeline alive: subscribes to it, and when it errors or completes
 * unexpectedly restarts it after the service's backoff (domain/backoff.ts), counting restarts and showing
 * the pipeline as not ready meanwhile. A failing pipeline never takes the others down.
 */
import { Subject, timer, type Observable, type Subscription } from 'rxjs';
import { backoffDelay } from '../domain/backoff.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface SupervisorOptions {
  readonly name: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** In [0, 1): the backoff's jitter (default Math.random). */
  readonly random?: () => number;
}

export interface Supervised {
  /**
   * Signals the pipeline's sources to stop taking new work and resolves when the work in
   * flight has finished (the pipeline completed); the caller bounds it by the grace period.
   */
  drain(): Promise<void>;
  /** Stops at once: unsubscribes, cancelling what is in flight (effects are idempotent). */
  stop(): void;
}

/**
 * @param start builds the pipeline; it should stop its sources when `stop$` emits and
 *   then complete once its in-flight work is done.
 */
export function supervise(start: (stop$: Observable<void>) => Observable<unknown>, options: SupervisorOptions): Supervised {
  const { name, logger, metrics, readiness } = options;
  const backoff = { baseDelayMs: options.initialBackoffMs ?? 1_000, maxDelayMs: options.maxBackoffMs ?? 60_000, random: options.random ?? Math.random };
  let failures = 0;
  let running: Subscription | undefined;
  let restart: Subscription | undefined;
  let stopped = false;
  const stop$ = new Subject<void>();
  let drained: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (drained = resolve));
  readiness.setPipeline(name, 'starting');
  // Until a first pass completes, a stall is measured from here (PkgstreamPipelineStalled).
  metrics.pipelineStarted.set({ pipeline: name }, Date.now() / 1000);
  // A restart counter of 0 from the start, so increase() has a series before the first failure.
  metrics.pipelineRestarts.inc({ pipeline: name }, 0);

  const fail = (reason: string, error?: unknown) => {
    failures += 1;
    const delay = Math.round(backoffDelay(failures, error, backoff));
    readiness.setPipeline(name, 'restarting', `${reason}; restarting in ${delay} ms`);
    metrics.pipelineUp.set({ pipeline: name }, 0);
    metrics.pipelineRestarts.inc({ pipeline: name });
    logger.error({ err: error, pipeline: name, delayMs: delay, failures }, `pipeline ${reason}`);
    restart = timer(delay).subscribe(run);
  };

  function run(): void {
    if (stopped) return;
    readiness.setPipeline(name, 'running');
    metrics.pipelineUp.set({ pipeline: name }, 1);
    logger.info({ pipeline: name }, 'pipeline started');
    running = start(stop$).subscribe({
      // An outcome means the pipeline works: the next failure backs off from the start.
      next: () => (failures = 0),
      error: (error: unknown) => (stopped ? drained() : fail('failed', error)),
      complete: () => (stopped ? drained() : fail('completed unexpectedly')),
    });
  }

  run();
  return {
    drain() {
      stopped = true;
      restart?.unsubscribe();
      if (!running || running.closed) drained();
      stop$.next();
      stop$.complete();
      return done;
    },
    stop() {
      stopped = true;
      restart?.unsubscribe();
      running?.unsubscribe();
      drained();
      metrics.pipelineUp.set({ pipeline: name }, 0);
      readiness.setPipeline(name, 'stopped');
    },
  };
}
