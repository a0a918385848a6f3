/**
 * Drives an Observable in an rxjs VirtualTimeScheduler when the code under test also awaits
 * promises (store and sink ports): let the promise callbacks settle, then run only the
 * earliest scheduled action(s), again and again. Time never jumps past work that a
 * settling promise would have scheduled.
 */
import type { Observable, VirtualTimeScheduler } from 'rxjs';

/** Lets pending promise callbacks (and the microtasks they queue) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Runs `source` until it completes, or until virtual time reaches `untilMs` (then it is
 * unsubscribed); resolves with its values. Throws if it errors or stalls.
 */
export async function drive<T>(
  scheduler: VirtualTimeScheduler,
  source: Observable<T>,
  options: { readonly untilMs?: number; readonly maxSteps?: number } = {},
): Promise<T[]> {
  const values: T[] = [];
  let finished = false;
  const failed: { error: Error | null } = { error: null };
  const subscription = source.subscribe({
    next: (value) => values.push(value),
    error: (error: unknown) => {
      failed.error = error instanceof Error ? error : new Error(`non-Error failure: ${JSON.stringify(error)}`);
      finished = true;
    },
    complete: () => (finished = true),
  });
  try {
    let idle = 0;
    for (let step = 0; step < (options.maxSteps ?? 50_000) && !finished; step += 1) {
      await settle();
      if (finished) break;
      const next = scheduler.actions[0];
      if (!next) {
        idle += 1;
        if (idle > 20) throw new Error('drive: nothing scheduled and not finished');
        continue;
      }
      if (options.untilMs !== undefined && next.delay > options.untilMs) break;
      idle = 0;
      scheduler.maxFrames = next.delay;
      scheduler.flush();
    }
    if (options.untilMs === undefined && !finished) throw new Error('drive: did not finish');
    if (failed.error) throw failed.error;
    return values;
  } finally {
    subscription.unsubscribe();
  }
}
