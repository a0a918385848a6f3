/**
 * The event outbox in tests: the real store writes its events to the `event` table and the
 * relay publishes them; `publishingStore` flushes the relay after every write, so what a
 * write announced has reached the sink by the time it resolves. `MemoryEventSink` keeps what
 * the relay published, also read back as the PackageEvents they were (for assertions).
 */
import type pg from 'pg';
import type { OutboxEvent } from '../../src/domain/event-record.js';
import type { EventSink, PackageStore } from '../../src/domain/ports.js';
import type { PackageEvent } from '../../src/domain/types.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createEventRelay, type EventRelay } from '../../src/sinks/event-relay.js';
import { createPackageStore, type PackageStoreOptions } from '../../src/sinks/store-sink.js';

const ENVELOPE = new Set(['component_name', 'service_version', 'version', 'index_url', 'package_name', 'package_version', 'solver', 'created_at']);

/** The PackageEvent a published record announces (its kind's own fields, without the envelope). */
export function decodeEvent(event: OutboxEvent): PackageEvent {
  const { record } = event;
  const fields = Object.fromEntries(Object.entries(record).filter(([name]) => !ENVELOPE.has(name)));
  return {
    kind: event.kind,
    indexUrl: record.index_url,
    project: record.package_name,
    version: record.package_version ?? null,
    ...(typeof record.solver === 'string' ? { solver: record.solver } : {}),
    ...(Object.keys(fields).length > 0 ? { fields } : {}),
  };
}

export class MemoryEventSink implements EventSink {
  readonly published: OutboxEvent[] = [];
  readonly events: PackageEvent[] = [];
  async publish(events: readonly OutboxEvent[]): Promise<void> {
    this.published.push(...events);
    this.events.push(...events.map(decodeEvent));
  }
  async close(): Promise<void> {}
}

const WRITES = ['recordRelease', 'recordReleases', 'applyCheck', 'applyChecks', 'recordScheduled', 'recordFinished'] as const;

/** The real store on `pool`, each write published through the relay before it resolves. */
export function publishingStore(pool: pg.Pool, sink: EventSink, options: PackageStoreOptions = {}): PackageStore & { readonly relay: EventRelay } {
  const relay = createEventRelay({ pool, sink, logger: silentLogger(), lockRows: false, retentionMs: 90 * 86_400_000 });
  const store = createPackageStore(pool, options);
  const published: Record<string, unknown> = {};
  for (const name of WRITES) {
    published[name] = async (...args: unknown[]) => {
      const result = await (store[name] as (...args: unknown[]) => Promise<unknown>).apply(store, args);
      await relay.flush();
      return result;
    };
  }
  return { ...store, ...(published as Partial<PackageStore>), relay };
}

/** The relay as `run` starts it (publishing in the background), polling every `pollMs`. */
export function startRelay(pool: pg.Pool, sink: EventSink, pollMs = 100): EventRelay {
  const relay = createEventRelay({ pool, sink, logger: silentLogger(), lockRows: false, retentionMs: 90 * 86_400_000, pollMs });
  relay.start();
  return relay;
}
