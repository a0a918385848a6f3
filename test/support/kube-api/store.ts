/**
 * The object store: one resourceVersion counter for every type (as etcd's revision), the
 * objects by type/namespace/name, a bounded history of changes for watches to resume from,
 * and listeners that open watches subscribe with.
 */
import { clone, type KubeObject } from './objects.js';
import type { ResourceType } from './resources.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly rv: number;
  readonly resource: ResourceType;
  readonly type: WatchEventType;
  readonly object: KubeObject;
  /** The object before a MODIFIED, so a filtered watch can tell an object leaving its filter. */
  readonly previous: KubeObject | null;
}

export interface Store {
  get(resource: ResourceType, namespace: string, name: string): KubeObject | undefined;
  /** Sorted by namespace then name, as etcd's keys list. */
  list(resource: ResourceType, namespace: string | null): KubeObject[];
  /** In creation order (for the test controls). */
  created(resource: ResourceType, namespace: string | null): KubeObject[];
  /** Stores a copy under a new resourceVersion and records ADDED or MODIFIED; returns the stored copy. */
  save(resource: ResourceType, object: KubeObject): KubeObject;
  remove(resource: ResourceType, namespace: string, name: string): KubeObject | undefined;
  resourceVersion(): number;
  /** Watches and continue tokens from a resourceVersion below this answer 410. */
  compactedVersion(): number;
  compact(): void;
  eventsAfter(rv: number): readonly StoreEvent[];
  subscribe(listener: (event: StoreEvent) => void): () => void;
}

export function createStore(historyLimit?: number): Store {
  const objects = new Map<string, KubeObject>(); // key: `${plural}.${group}/${namespace}/${name}`
  const history: StoreEvent[] = [];
  const listeners = new Set<(event: StoreEvent) => void>();
  let rv = 1;
  let compacted = 0;
  const prefixOf = (resource: ResourceType, namespace: string | null) => `${resource.plural}.${resource.group}/${namespace === null ? '' : `${namespace}/`}`;
  const keyOf = (resource: ResourceType, namespace: string, name: string) => `${prefixOf(resource, namespace)}${name}`;

  function record(resource: ResourceType, type: WatchEventType, object: KubeObject, previous: KubeObject | null): void {
    const event: StoreEvent = { rv, resource, type, object: clone(object), previous };
    history.push(event);
    if (historyLimit !== undefined && history.length > historyLimit) {
      const dropped = history.splice(0, history.length - historyLimit);
      compacted = Math.max(compacted, dropped.at(-1)?.rv ?? 0);
    }
    for (const listener of listeners) listener(event);
  }

  return {
    get: (resource, namespace, name) => objects.get(keyOf(resource, namespace, name)),
    list(resource, namespace) {
      const prefix = prefixOf(resource, namespace);
      return [...objects.entries()]
        .filter(([key]) => key.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, object]) => object);
    },
    created(resource, namespace) {
      const prefix = prefixOf(resource, namespace);
      return [...objects.entries()].filter(([key]) => key.startsWith(prefix)).map(([, object]) => object);
    },
    save(resource, object) {
      const key = keyOf(resource, object.metadata.namespace, object.metadata.name);
      const previous = objects.get(key) ?? null;
      rv += 1;
      const stored = clone(object);
      stored.metadata.resourceVersion = String(rv);
      objects.set(key, stored);
      record(resource, previous ? 'MODIFIED' : 'ADDED', stored, previous);
      return stored;
    },
    remove(resource, namespace, name) {
      const key = keyOf(resource, namespace, name);
      const object = objects.get(key);
      if (!object) return undefined;
      objects.delete(key);
      rv += 1;
      object.metadata.resourceVersion = String(rv);
      record(resource, 'DELETED', object, null);
      return object;
    },
    resourceVersion: () => rv,
    compactedVersion: () => compacted,
    compact() {
      compacted = rv;
      history.length = 0;
    },
    eventsAfter: (from) => history.filter((event) => event.rv > from),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
