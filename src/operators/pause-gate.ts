/**
 * `createPauseGate`: backpressure for push sources (Kafka, RSS) that cannot be pulled.
 *
 * Contract:
 * - `gate.through(project, { concurrency })` is a `mergeMap` that counts an item in flight
 *   from the moment it arrives (also while it waits for one of `concurrency` slots) until
 *   its projection completes or errors. The count is the gate's, shared by every
 *   subscription of every `through` of the gate.
 * - `paused` (replays the current value, then only changes) turns `true` when the count
 *   reaches `highWater` and `false` when it falls to `lowWater` or below: hysteresis, so a
 *   consumer following it (kafkajs `pause()`/`resume()`) does not flap.
 * - The gate never drops and never buffers beyond what arrives: a source that ignores
 *   `paused` is still served, the count just passes `highWater`.
 * - Unsubscription gives back every item the subscription still held (running or waiting),
 *   so a torn-down pipeline never leaves the gate paused.
 * - `onInflight(n)` is called with the gate's count whenever it changes.
 */
import {
  BehaviorSubject,
  defer,
  distinctUntilChanged,
  finalize,
  mergeMap,
  Observable,
  type ObservableInput,
  type OperatorFunction,
  tap,
} from 'rxjs';
import { PkgstreamError } from '../domain/errors.js';
import { requireInteger } from './option-range.js';

export interface PauseGateOptions {
  /** Pause when this many items are in flight; an integer >= 1. */
  readonly highWater: number;
  /** Resume when in-flight falls to this many; `0 <= lowWater < highWater`. */
  readonly lowWater: number;
  readonly onInflight?: (inflight: number) => void;
}

export interface PauseGate {
  /** `true` while the source should be paused; replays the current value. */
  readonly paused: Observable<boolean>;
  /** The in-flight count now. */
  readonly inflight: () => number;
  /** A `mergeMap` whose items are counted by the gate from arrival until done. */
  through<T, R>(
    project: (item: T, index: number) => ObservableInput<R>,
    options?: { readonly concurrency?: number },
  ): OperatorFunction<T, R>;
}

export function createPauseGate(options: PauseGateOptions): PauseGate {
  const { highWater, lowWater, onInflight } = options;
  requireInteger('pause gate', 'highWater', highWater);
  requireInteger('pause gate', 'lowWater', lowWater, 0);
  if (lowWater >= highWater) throw new PkgstreamError('OPTION_RANGE', `pause gate: lowWater must be below highWater, got ${lowWater}, ${highWater}`);
  let count = 0;
  const paused = new BehaviorSubject(false);

  const add = (delta: number): void => {
    count += delta;
    onInflight?.(count);
    if (!paused.value && count >= highWater) paused.next(true);
    else if (paused.value && count <= lowWater) paused.next(false);
  };

  return {
    paused: paused.pipe(distinctUntilChanged()),
    inflight: () => count,
    through<T, R>(
      project: (item: T, index: number) => ObservableInput<R>,
      throughOptions: { readonly concurrency?: number } = {},
    ): OperatorFunction<T, R> {
      const concurrency = throughOptions.concurrency ?? Infinity;
      return (source) =>
        new Observable<R>((subscriber) => {
          let held = 0; // this subscription's share of the count
          const hold = (delta: number): void => {
            if (held + delta < 0) return; // an item finalized after teardown gave back its share
            held += delta;
            add(delta);
          };
          const subscription = source
            .pipe(
              tap(() => hold(1)), // counted on arrival, also while waiting for a slot
              mergeMap((item, index) => defer(() => project(item, index)).pipe(finalize(() => hold(-1))), concurrency),
            )
            .subscribe(subscriber);
          return () => {
            subscription.unsubscribe();
            if (held !== 0) hold(-held);
          };
        });
    },
  };
}
