/**
 * The progress of a pass over the due rows: the rows due are counted once at the start
 * (so `pkgstream_scan_rows_due` is the pass's total, not the rows taken so far), and every
 * `intervalMs` of scheduler time the rate and ETA are set as gauges and reported.
 */
import { catchError, defer, EMPTY, from, ignoreElements, interval, of, tap, type Observable, type ObservableInput, type SchedulerLike } from 'rxjs';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import { progressOf, type PassProgress } from '../runtime/progress-reporter.js';

export interface ProgressOptions {
  readonly intervalMs: number;
  readonly report: (progress: PassProgress) => void;
}

export interface PassTracker {
  /** Counts the rows due (sets the gauge); completes without a value, also when counting fails. */
  countDue(): Observable<never>;
  /** Reports every interval until unsubscribed (nothing without progress options). */
  ticks(): Observable<never>;
  /** The last report, at the end of the pass. */
  finish(): void;
}

export function passTracker(
  context: {
    readonly pipeline: string;
    /** A `PackageStore` is one; called through `defer`, so a marble spec may answer with an Observable. */
    readonly store: { countDue(scan: { readonly now: Date; readonly all?: boolean }): ObservableInput<number> };
    readonly scheduler: SchedulerLike;
    readonly metrics?: Metrics | undefined;
    readonly logger?: Logger | undefined;
    readonly progress?: ProgressOptions | undefined;
  },
  scan: { readonly now: Date; readonly all?: boolean },
  done: () => number,
): PassTracker {
  const { pipeline, store, scheduler, metrics, logger, progress } = context;
  const started = scheduler.now();
  let due: number | null = null;
  const current = (final: boolean): PassProgress => {
    const value = progressOf(pipeline, due, done(), (scheduler.now() - started) / 1000, final);
    metrics?.scanRate.set({ pipeline }, value.ratePerSecond);
    if (value.etaSeconds !== null) metrics?.scanEta.set({ pipeline }, value.etaSeconds);
    return value;
  };
  return {
    countDue: () =>
      defer(() => from(store.countDue(scan))).pipe(
        tap((count) => {
          due = count;
          metrics?.scanRowsDue.set({ pipeline }, count);
        }),
        catchError((error: unknown) => {
          logger?.warn({ pipeline, err: error }, `${pipeline}: could not count the rows due; the pass goes on without an ETA`);
          return of(null);
        }),
        ignoreElements(),
      ),
    ticks: () => (progress ? interval(progress.intervalMs, scheduler).pipe(tap(() => progress.report(current(false))), ignoreElements()) : EMPTY),
    finish: () => {
      const last = current(true);
      progress?.report(last);
    },
  };
}
