/**
 * How `pkgstream once` runs its pass: it counts the outcomes (it keeps none), says what it
 * is waiting for whenever nothing has moved for `reportEveryMs` (and again every
 * `reportEveryMs` while it waits, at least once a minute),
 * and on SIGTERM asks the pass to stop taking work and gives it the grace period to
 * finish what is in flight before cancelling it. `maxWaitMs` bounds how long it may go
 * without any outcome (`once dispatch --max-wait`): then it gives up with a message.
 */
import { Subject, type Observable } from 'rxjs';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { PipelineName } from '../runtime/settings.js';

const WAITING_LOG_AT_LEAST_EVERY_MS = 60_000;
const TICK_MS = 1_000;

export type PassEnd =
  | { readonly kind: 'complete'; readonly outcomes: number }
  | { readonly kind: 'stopped'; readonly outcomes: number; readonly drained: boolean }
  | { readonly kind: 'gave-up'; readonly outcomes: number; readonly waiting: string };

export interface PassOptions {
  readonly name: PipelineName;
  readonly signal: AbortSignal;
  readonly graceMs: number;
  /** Give up after this long without an outcome (undefined: wait as long as it takes). */
  readonly maxWaitMs?: number;
  /** How long without an outcome before saying what it waits for, and how often again (capped at a minute). */
  readonly reportEveryMs: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** What the pass is waiting for, from its own gauges: its stages in flight, and for dispatch the solver slots. */
async function waitingFor(name: PipelineName, metrics: Metrics): Promise<string> {
  const stages = (await metrics.stageInflight.get()).values
    .filter((sample) => sample.labels.pipeline === name && sample.value > 0)
    .map((sample) => `${String(sample.labels.stage)} ${sample.value}`);
  const parts = [stages.length > 0 ? `in flight: ${stages.join(', ')}` : 'nothing in flight'];
  if (name === 'dispatch') {
    const active = (await metrics.jobsActive.get()).values[0]?.value ?? 0;
    const capacity = (await metrics.jobsCapacity.get()).values[0]?.value ?? 0;
    parts.unshift(`solver capacity: ${active} of ${capacity} Jobs active`);
  }
  return parts.join('; ');
}

export function runOncePass(start: (stop$: Observable<void>) => Observable<unknown>, options: PassOptions): Promise<PassEnd> {
  const { name, signal, graceMs, maxWaitMs, metrics, logger } = options;
  const reportEveryMs = Math.min(options.reportEveryMs, WAITING_LOG_AT_LEAST_EVERY_MS);
  const stop$ = new Subject<void>();
  let outcomes = 0;
  let lastOutcomeAt = Date.now();
  let lastWaitingLogAt = -Infinity;
  return new Promise<PassEnd>((resolve, reject) => {
    let ended = false;
    let tickTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const clearTimers = () => {
      clearTimeout(tickTimer);
      clearTimeout(graceTimer);
    };
    const end = (result: PassEnd) => {
      if (ended) return;
      ended = true;
      clearTimers();
      subscription.unsubscribe();
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const subscription = start(stop$).subscribe({
      next: () => {
        outcomes += 1;
        lastOutcomeAt = Date.now();
      },
      error: (error: unknown) => {
        ended = true;
        clearTimers();
        signal.removeEventListener('abort', onAbort);
        // programming error: only a bug throws a non-Error; it is wrapped to be reported like one.
        reject(error instanceof Error ? error : new Error(String(error)));
      },
      complete: () => end(signal.aborted ? { kind: 'stopped', outcomes, drained: true } : { kind: 'complete', outcomes }),
    });
    const onAbort = () => {
      logger.info({ pipeline: name, graceMs }, `once ${name}: stopping: finishing the work in flight (up to ${graceMs / 1000} s)`);
      stop$.next();
      graceTimer = setTimeout(() => end({ kind: 'stopped', outcomes, drained: false }), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });

    const tick = async () => {
      const quietMs = Date.now() - lastOutcomeAt;
      if (quietMs >= reportEveryMs && Date.now() - lastWaitingLogAt >= reportEveryMs) {
        lastWaitingLogAt = Date.now();
        const waiting = await waitingFor(name, metrics);
        logger.info({ pipeline: name, outcomes, quietSeconds: Math.round(quietMs / 1000) }, `once ${name}: waiting (${waiting}); ${Math.round(quietMs / 1000)} s without progress`);
      }
      if (maxWaitMs !== undefined && quietMs >= maxWaitMs) {
        end({ kind: 'gave-up', outcomes, waiting: await waitingFor(name, metrics) });
        return;
      }
      if (!ended) tickTimer = setTimeout(() => void tick(), TICK_MS);
    };
    if (!ended) tickTimer = setTimeout(() => void tick(), TICK_MS);
  });
}
