/**
 * One watch connection to the Jobs API from a resourceVersion, as a promise of why it ended:
 * closed by the server (with how many events and how long it lasted), gone (410: the version
 * expired, re-list), failed (an ERROR event, a dropped stream, silence past `idleTimeoutMs`),
 * or stopped. Bookmarks only move the resourceVersion.
 */
import type { Watch } from '@kubernetes/client-node';
import type { SchedulerLike, Subscription } from 'rxjs';
import { PkgstreamError } from '../domain/errors.js';
import type { Logger } from '../runtime/index.js';
import { isGone } from './job-errors.js';
import { isRecord, metadataOf } from './job-status.js';

export type WatchEnd =
  | { readonly kind: 'closed'; readonly events: number; readonly lastedMs: number }
  | { readonly kind: 'gone' }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'stopped' };

export interface WatchConnectionOptions {
  readonly watcher: Watch;
  readonly path: string;
  readonly query: Record<string, string | number | boolean | undefined>;
  readonly idleTimeoutMs: number;
  readonly scheduler: SchedulerLike;
  readonly log: Logger;
  /** Every resourceVersion the stream names, bookmarks included. */
  readonly onVersion: (resourceVersion: string) => void;
  /** Every ADDED, MODIFIED or DELETED object. */
  readonly onChange: (type: string, object: Record<string, unknown>) => void;
}

export interface WatchConnection {
  readonly ended: Promise<WatchEnd>;
  /** Ends the connection (`stopped`). */
  readonly stop: () => void;
}

export function watchConnection(options: WatchConnectionOptions): WatchConnection {
  const { watcher, scheduler, idleTimeoutMs, log } = options;
  const started = scheduler.now();
  let events = 0;
  let gone = false;
  let errorEvent: unknown = null;
  let controller: AbortController | null = null;
  let idle: Subscription | null = null;
  let resolve: (end: WatchEnd) => void = () => undefined;
  let ended = false;
  const finish = (end: WatchEnd) => {
    if (ended) return;
    ended = true;
    idle?.unsubscribe();
    controller?.abort();
    resolve(end);
  };
  const armIdle = () => {
    idle?.unsubscribe();
    idle = scheduler.schedule(() => {
      log.warn({ idleTimeoutMs }, 'solver Jobs watch silent for too long; reconnecting');
      finish({ kind: 'failed', error: new PkgstreamError('JOB_WATCH_FAILED', `watch idle for ${idleTimeoutMs} ms`) });
    }, idleTimeoutMs);
  };
  const onEvent = (type: string, object: unknown) => {
    if (ended) return;
    armIdle();
    if (type === 'ERROR') {
      const status = isRecord(object) ? object : {};
      if (status.code === 410) gone = true;
      else errorEvent = new PkgstreamError('JOB_WATCH_FAILED', `watch ERROR event: ${String(status.code)} ${String(status.reason)} ${String(status.message)}`);
      controller?.abort();
      return;
    }
    if (!isRecord(object)) return;
    const rv = metadataOf(object).resourceVersion;
    if (typeof rv === 'string' && rv !== '') options.onVersion(rv);
    if (type === 'BOOKMARK') return;
    events += 1;
    options.onChange(type, object);
  };
  const onDone = (error: unknown) => {
    if (gone || isGone(error)) finish({ kind: 'gone' });
    else if (errorEvent !== null) finish({ kind: 'failed', error: errorEvent });
    else if (error) finish({ kind: ended ? 'stopped' : 'failed', error });
    else finish({ kind: 'closed', events, lastedMs: scheduler.now() - started });
  };
  const ended$ = new Promise<WatchEnd>((r) => (resolve = r));
  armIdle();
  watcher.watch(options.path, options.query, onEvent, onDone).then(
    (c) => {
      controller = c;
      if (ended) c.abort();
    },
    (error: unknown) => finish({ kind: 'failed', error }),
  );
  return { ended: ended$, stop: () => finish({ kind: 'stopped' }) };
}
