/**
 * `whileLeased(options, work)`: runs `work` only while this replica holds a lease.
 *
 * Contract:
 * - `take()` (take or renew the lease; true: held) is called at once and then every
 *   `renewEveryMs` in scheduler time, one call at a time (a tick that comes while a call
 *   runs is skipped). A call that fails counts as not held (`onChange` gets the error).
 * - `work()` is subscribed when the lease becomes held, and unsubscribed as soon as a
 *   renewal says it is not (another replica took it over): the holder's effects are
 *   idempotent, so work cut off mid-way is done again by the next holder.
 * - `onChange(held)` is called on every change, the first answer included.
 * - When `stop$` emits no lease is taken any more; the stream completes once the running
 *   `work` completes (work stops on the same signal), or at once when it is not running.
 */
import { EMPTY, NEVER, catchError, defer, distinctUntilChanged, exhaustMap, of, switchMap, takeUntil, tap, timer } from 'rxjs';
import type { Observable, ObservableInput, SchedulerLike } from 'rxjs';

export interface WhileLeasedOptions {
  readonly take: () => ObservableInput<boolean>;
  readonly renewEveryMs: number;
  readonly scheduler?: SchedulerLike;
  readonly stop$?: Observable<unknown>;
  readonly onChange?: (held: boolean, error?: unknown) => void;
}

export function whileLeased<T>(options: WhileLeasedOptions, work: () => Observable<T>): Observable<T> {
  return defer(() => {
    /** Why the last renewal failed, for `onChange` (per subscription). */
    let error: unknown;
    return timer(0, options.renewEveryMs, options.scheduler).pipe(
      takeUntil(options.stop$ ?? NEVER),
      exhaustMap(() =>
        defer(options.take).pipe(
          tap(() => (error = undefined)),
          catchError((failure: unknown) => {
            error = failure;
            return of(false);
          }),
        ),
      ),
      distinctUntilChanged(),
      tap((held) => options.onChange?.(held, error)),
      switchMap((held) => (held ? work() : EMPTY)),
    );
  });
}
