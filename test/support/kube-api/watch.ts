/**
 * Watch streams: newline-delimited JSON events in a chunked 200 answer, from a
 * resourceVersion (replayed from the history) or from now (ADDED for each current object),
 * filtered by selectors (an object that stops matching is DELETED for the watcher, one that
 * starts matching ADDED), BOOKMARKs for clients that allow them, `timeoutSeconds`, and a
 * too-old resourceVersion answered 410 Gone (an ERROR event, or HTTP 410).
 */
import type { ServerResponse } from 'node:http';
import { sendStatus } from './http.js';
import { clone, type KubeObject } from './objects.js';
import type { FieldSelector } from './field-selector.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { failure } from './status.js';
import type { Store, StoreEvent } from './store.js';
import { toTable } from './table.js';

export interface WatchRequest {
  readonly resource: ResourceType;
  readonly namespace: string | null;
  readonly selector: FieldSelector;
  readonly params: URLSearchParams;
  readonly table: boolean;
  readonly goneMode: 'event' | 'http';
  /** How often a watch that allows bookmarks gets one; the apiserver's is about a minute. */
  readonly bookmarkIntervalMs: number;
}

export interface OpenWatch {
  readonly bookmarks: boolean;
  bookmark(): void;
  close(abrupt: boolean): void;
}

/** Answers a watch request; returns the open watch, or null when it was refused or ended at once. */
export function startWatch(store: Store, res: ServerResponse, request: WatchRequest, onClose: (watch: OpenWatch) => void): OpenWatch | null {
  const { resource, namespace, selector, params } = request;
  const fromParam = params.get('resourceVersion');
  const from = fromParam === null || fromParam === '' || fromParam === '0' ? null : Number(fromParam);
  if (from !== null && !Number.isFinite(from)) {
    sendStatus(res, failure(400, `invalid resourceVersion: ${JSON.stringify(fromParam)}`));
    return null;
  }
  const compacted = store.compactedVersion();
  const gone = from !== null && from < compacted;
  const goneStatus = failure(410, `too old resource version: ${from} (${compacted})`, { reason: 'Expired' });
  if (gone && request.goneMode === 'http') {
    sendStatus(res, goneStatus);
    return null;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache, private' });
  res.flushHeaders();
  if (gone) {
    res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus })}\n`);
    return null;
  }
  const write = (type: string, object: unknown) => {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const visible = (object: KubeObject | null) => object !== null && (namespace === null || object.metadata.namespace === namespace) && selector(object);
  const send = (type: string, object: KubeObject) => write(type, request.table ? toTable(resource, [object], { resourceVersion: object.metadata.resourceVersion }, params) : clone(object));
  const deliver = (event: StoreEvent) => {
    if (event.resource !== resource) return;
    const now = visible(event.object);
    const before = event.type === 'MODIFIED' ? visible(event.previous) : now;
    if (now && before) send(event.type, event.object);
    else if (now) send('ADDED', event.object);
    else if (before) send('DELETED', event.object);
  };
  const bookmarks = params.get('allowWatchBookmarks') === 'true';
  const bookmarkObject = (annotations?: Record<string, string>) => ({
    apiVersion: apiVersionOf(resource),
    kind: resource.kind,
    metadata: { resourceVersion: String(store.resourceVersion()), ...(annotations ? { annotations } : {}) },
  });
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = () => {};
  const watch: OpenWatch = {
    bookmarks,
    bookmark: () => {
      if (bookmarks) write('BOOKMARK', bookmarkObject());
    },
    close(abrupt) {
      if (abrupt) res.socket?.destroy();
      else res.end();
    },
  };
  // Not req 'close': an IncomingMessage closes once its (empty) body has been read.
  res.on('close', () => {
    for (const timer of timers) clearTimeout(timer);
    unsubscribe();
    onClose(watch);
  });
  const timeoutSeconds = Number(params.get('timeoutSeconds') ?? '0');
  if (timeoutSeconds > 0) timers.push(setTimeout(() => res.end(), timeoutSeconds * 1000));
  if (bookmarks && request.bookmarkIntervalMs > 0) timers.push(setInterval(() => watch.bookmark(), request.bookmarkIntervalMs));
  if (from === null) {
    for (const object of store.list(resource, namespace)) if (visible(object)) send('ADDED', object);
    if (params.get('sendInitialEvents') === 'true' && bookmarks) write('BOOKMARK', bookmarkObject({ 'k8s.io/initial-events-end': 'true' }));
  } else {
    for (const event of store.eventsAfter(from)) deliver(event);
  }
  unsubscribe = store.subscribe(deliver);
  return watch;
}
