/**
 * The dispatch pipeline's sources. Each turns into work items submitted to the dispatch and
 * ends an item's part once every item it submitted has its outcome:
 * - a `released` message: the stored release gives one item per solver; the message is
 *   acked once they all have their outcome (a release not stored is logged and acked: the
 *   scan is the safety net);
 * - a pass of the unsolved scan, pulled one item at a time while at most `pageSize` of its
 *   items wait for their outcome (memory stays bounded).
 */
import { catchError, concat, defer, EMPTY, finalize, ignoreElements, map, merge, mergeMap, of, type Observable } from 'rxjs';
import { hasCode, PkgstreamError } from '../domain/errors.js';
import type { UnsolvedItem } from '../domain/ports.js';
import type { StoredRelease } from '../domain/types.js';
import { pullMap } from '../operators/pull-map.js';
import { PIPELINE, submit, type DispatchContext } from './dispatch-context.js';
import { itemFromUnsolved, itemsOfRelease, resolveRelease } from './dispatch-items.js';
import type { DispatchPipelineOutcome, ReleasedMessage } from './dispatch-ports.js';

/** Handles each message in turn of arrival; concurrency is bounded by the source (the Kafka source pauses past its high-water mark). */
export function releasedMessages(context: DispatchContext, released: Observable<ReleasedMessage>): Observable<DispatchPipelineOutcome> {
  let handling = 0;
  return released.pipe(
    mergeMap((message) =>
      context.stage('released', message, () =>
        defer(() => {
          context.gauge('released', ++handling);
          return storedRelease(context, message);
        }).pipe(
          mergeMap((stored) => dispatchRelease(context, message, stored)),
          finalize(() => context.gauge('released', --handling)),
        ),
      ),
    ),
  );
}

/** The message's stored release, or null (logged) when the store does not have it. */
function storedRelease(context: DispatchContext, message: ReleasedMessage): Observable<StoredRelease | null> {
  const { index_url: indexUrl, package_name: project, package_version: version } = message.value;
  const where = { pipeline: PIPELINE, indexUrl, project, version };
  return context.writes
    .retrying(() =>
      resolveRelease(context.store, indexUrl, project, version).pipe(
        map((stored) => {
          // Releases are announced before their row is written (at-least-once): give the
          // row a few backoff rounds to appear before leaving the release to the scan.
          if (!stored) throw new PkgstreamError('RELEASE_NOT_STORED', 'released message names no stored release yet');
          return stored;
        }),
      ),
    )
    .pipe(
      catchError((error: unknown) => {
        if (!hasCode(error, 'RELEASE_NOT_STORED', 'DISPATCH_STOPPED')) {
          context.log?.error({ ...where, err: error }, 'looking up a released package failed; the unsolved scan will catch it');
        }
        return of(null);
      }),
      map((stored) => {
        if (!stored) context.log?.warn(where, 'released message names no stored release; the unsolved scan will catch it');
        return stored;
      }),
    );
}

function dispatchRelease(context: DispatchContext, message: ReleasedMessage, stored: StoredRelease | null): Observable<DispatchPipelineOutcome> {
  const items = stored ? itemsOfRelease(stored, context.solvers) : [];
  return concat(
    merge(...items.map((item) => submit(context, item))),
    defer(() => message.ack()).pipe(
      ignoreElements(),
      catchError((error: unknown) => {
        context.log?.warn({ pipeline: PIPELINE, err: error }, 'acking a released message failed');
        return EMPTY;
      }),
    ),
    of<DispatchPipelineOutcome>({ type: 'released', message: message.value, items: items.length }),
  );
}

/** One pass of the unsolved scan; a failing scan is a `scan` outcome with its error, or (with `rethrow`) errors. */
export function scanPass(context: DispatchContext, rethrow: boolean): Observable<DispatchPipelineOutcome> {
  const { store, options, solvers, gauge, metrics, scheduler, log } = context;
  return defer(() => {
    let items = 0;
    const pass = pullMap(
      store.scanUnsolved({ solvers, pageSize: options.pageSize }),
      (unsolved: UnsolvedItem) => {
        items += 1;
        return submit(context, itemFromUnsolved(unsolved));
      },
      { concurrency: options.pageSize, onInflight: (n) => gauge('scan', n) },
    );
    const done = defer(() => {
      metrics?.lastSuccessfulPass.set({ pipeline: PIPELINE }, scheduler.now() / 1000);
      return of<DispatchPipelineOutcome>({ type: 'scan', items });
    });
    return concat(pass, done).pipe(
      catchError((error: unknown) => {
        gauge('scan', 0);
        log?.error({ pipeline: PIPELINE, err: error, items }, 'the unsolved scan failed');
        if (rethrow) throw error;
        return of<DispatchPipelineOutcome>({ type: 'scan', items, error });
      }),
    );
  });
}
