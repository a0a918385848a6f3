/**
 * `dispatch`: one solver Job per (release × solver) that has none yet, never more active
 * solver Jobs than the capacity, every Job's outcome recorded.
 *
 *   released messages ─┐
 *   unsolved scan ─────┴→ submit → dedupe → solverDispatch → schedule → record ─┐
 *   Jobs watch ──────────→ active count ↗                                       ├→ outcomes
 *              └─────────→ finished Jobs → record finish (→ re-run / attention) ┘
 *
 * Sources (dispatch-sources.ts): `released` messages (Kafka `package-released`), each
 * acked once every item it produced has a durable outcome; the unsolved scan every
 * `scanIntervalMs`, a pass never starting while the previous one runs (exhaustMap).
 * The step (dispatch-schedule.ts, dispatch-record.ts): `exists` (409) counts as scheduled,
 * `dry-run` writes nothing, a create call that fails for good goes to attention.
 * The Jobs watch is subscribed once and shared by the active count and the finished Jobs
 * (dispatch-finished.ts): a failed Job is re-run while attempts are left, then attention.
 *
 * Store writes (with the events they announce, in the same transaction) are retried
 * (dispatch-store-writes.ts); an attention write that fails for good errors the stream
 * (nothing is acked: the lifecycle restarts the pipeline and Kafka redelivers).
 */
import { connectable, EMPTY, exhaustMap, merge, Observable, Subject, tap, timer } from 'rxjs';
import type { JobsWatchEvent } from '../domain/ports.js';
import { requireInteger, requireNumber } from '../operators/option-range.js';
import { dispatchContext, type DispatchContext } from './dispatch-context.js';
import { handleFinished } from './dispatch-finished.js';
import type { DispatchOptions, DispatchPipelineOutcome, DispatchPorts } from './dispatch-ports.js';
import { activeCounts, dedupedWork, finishedJobs, recordFinishes, scheduleJobs } from './dispatch-schedule.js';
import { releasedMessages, scanPass } from './dispatch-sources.js';

export * from './dispatch-items.js';
export * from './dispatch-ports.js';

/** Runs until unsubscribed (or until a store write fails for good). */
export function dispatchPipeline(ports: DispatchPorts, options: DispatchOptions): Observable<DispatchPipelineOutcome> {
  return dispatchRun(ports, options, 'continuous');
}

/**
 * One pass of the unsolved scan (no messages); completes once every item of the pass has
 * its outcome and no re-run of a failed Job is under way. Capacity is respected (the Jobs
 * watch runs meanwhile), so it may wait for Jobs to finish. A failing scan errors it.
 */
export function dispatchOnce(ports: Omit<DispatchPorts, 'released'>, options: DispatchOptions): Observable<DispatchPipelineOutcome> {
  return dispatchRun(ports, options, 'once');
}

function checkOptions(options: DispatchOptions): void {
  const positive = { pageSize: options.pageSize, concurrency: options.concurrency, maxJobAttempts: options.maxJobAttempts, dedupeMax: options.dedupeMax };
  for (const [name, value] of Object.entries(positive)) requireInteger('dispatch', name, value);
  requireInteger('dispatch', 'capacity', options.capacity, 0);
  requireNumber('dispatch', 'scanIntervalMs', options.scanIntervalMs, 0, false);
}

function dispatchRun(ports: DispatchPorts, options: DispatchOptions, mode: 'continuous' | 'once'): Observable<DispatchPipelineOutcome> {
  checkOptions(options);
  return new Observable<DispatchPipelineOutcome>((subscriber) => {
    options.metrics?.jobsCapacity.set(options.capacity);
    // Only dispatchOnce drains to an end; the continuous pipeline runs until unsubscribed.
    const context = dispatchContext(ports, options, () => {
      if (mode === 'once') subscriber.complete();
    });
    const watch = connectable(ports.jobs.watch(), { connector: () => new Subject<JobsWatchEvent>(), resetOnDisconnect: false });
    const finished$ = merge(finishedJobs(watch), context.refinish);

    // Every consumer of the watch is subscribed before it connects; the merge never
    // completes on its own (dispatchOnce completes through its drain).
    subscriber.add(
      merge(
        dedupedWork(context).pipe(scheduleJobs(context, activeCounts(watch), finished$)),
        finished$.pipe(recordFinishes(context, (job) => handleFinished(context, job))),
        sources(context, ports, mode),
      ).subscribe({ next: (outcome) => subscriber.next(outcome), error: (error: unknown) => subscriber.error(error) }),
    );
    subscriber.add(watch.connect());
    return () => context.writes.stop();
  });
}

function sources(context: DispatchContext, ports: DispatchPorts, mode: 'continuous' | 'once'): Observable<DispatchPipelineOutcome> {
  if (mode === 'once') return scanPass(context, true).pipe(tap({ complete: () => context.drain.scanEnded() }));
  const scans = timer(0, context.options.scanIntervalMs, context.scheduler).pipe(exhaustMap(() => scanPass(context, false)));
  return merge(releasedMessages(context, ports.released ?? EMPTY), scans);
}
