/**
 * `metered`: a `mergeMap` that measures a pipeline stage into prom-client metrics.
 *
 * Contract (labels `pipeline`, `stage` and, where it applies, `outcome`):
 * - `items{outcome="in"}` +1 when an item arrives; `items{outcome="ok"|"failed"}` +1 when
 *   its projection completes (`failed` when it errors, or when `isFailure(value)` holds for a
 *   value it emitted, e.g. a `retryEach` failure outcome).
 * - `duration{outcome}` observes, in seconds of scheduler time, from the start of the
 *   projection to its completion or error.
 * - `inflight` (optional gauge) counts items from arrival (also while waiting for one of
 *   `concurrency` slots) until they finish; unsubscription gives back what it still held.
 * - Values, completion and errors pass through unchanged; an item cut off by
 *   unsubscription gets no outcome.
 */
import {
  asyncScheduler,
  defer,
  finalize,
  from,
  mergeMap,
  Observable,
  tap,
  type ObservableInput,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';

type StageLabel = 'pipeline' | 'stage';
type OutcomeLabel = StageLabel | 'outcome';
type Labels<L extends string> = Partial<Record<L, string | number>>;

/** What `metered` uses of a prom-client Counter, Histogram and Gauge (the real ones fit). */
export interface CounterLike<L extends string> {
  inc(labels: Labels<L>, value?: number): void;
}
export interface HistogramLike<L extends string> {
  observe(labels: Labels<L>, value: number): void;
}
export interface GaugeLike<L extends string> {
  inc(labels: Labels<L>, value?: number): void;
  dec(labels: Labels<L>, value?: number): void;
}

export interface MeteredOptions<R> {
  readonly pipeline: string;
  readonly stage: string;
  /** e.g. `pkgstream_stage_items_total{pipeline,stage,outcome}`. */
  readonly items: CounterLike<OutcomeLabel>;
  /** e.g. `pkgstream_stage_duration_seconds{pipeline,stage,outcome}`. */
  readonly duration: HistogramLike<OutcomeLabel>;
  /** e.g. `pkgstream_stage_inflight{pipeline,stage}`. */
  readonly inflight?: GaugeLike<StageLabel>;
  readonly isFailure?: (value: R) => boolean;
  /** Projections at once (default unbounded, like `mergeMap`). */
  readonly concurrency?: number;
  readonly scheduler?: SchedulerLike;
}

export function metered<T, R>(
  project: (item: T, index: number) => ObservableInput<R>,
  options: MeteredOptions<R>,
): OperatorFunction<T, R> {
  const { pipeline, stage, items, duration, inflight, isFailure } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const labels = { pipeline, stage };

  return (source) =>
    new Observable<R>((subscriber) => {
      let held = 0;
      const hold = (delta: number): void => {
        if (held + delta < 0) return; // an item finalized after teardown gave back its share
        held += delta;
        if (delta > 0) inflight?.inc(labels, delta);
        else if (delta < 0) inflight?.dec(labels, -delta);
      };
      const subscription = source
        .pipe(
          tap(() => {
            items.inc({ ...labels, outcome: 'in' });
            hold(1);
          }),
          mergeMap(
            (item, index) =>
              defer(() => {
                const started = scheduler.now();
                let failed = false;
                const finish = (outcome: 'ok' | 'failed'): void => {
                  items.inc({ ...labels, outcome });
                  duration.observe({ ...labels, outcome }, (scheduler.now() - started) / 1000);
                };
                return from(project(item, index)).pipe(
                  tap({
                    next: (value) => {
                      if (isFailure?.(value)) failed = true;
                    },
                    complete: () => finish(failed ? 'failed' : 'ok'),
                    error: () => finish('failed'),
                  }),
                  finalize(() => hold(-1)),
                );
              }),
            options.concurrency ?? Infinity,
          ),
        )
        .subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        if (held !== 0) hold(-held);
      };
    });
}
