/**
 * Shared pieces of the fault suite: polling with generous deadlines, an event sink that
 * counts what was announced by key, a timestamped request log of the local index, and a
 * store wrapper that counts the checks applied per release.
 */
import type pg from 'pg';
import type { EventSink, IndexClient, PackageStore } from '../../src/domain/ports.js';
import type { PackageEvent, StoredRelease } from '../../src/domain/types.js';
import type { IndexServer, RecordedRequest } from '../support/index-server/index.js';
import { decodeEvent } from '../support/outbox.js';

/** Waits until `condition` holds, checking every `everyMs`; fails with `what` after `timeoutMs`. */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 45_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The key events carry on Kafka: `index_url|project|version`. */
export function eventKey(event: Pick<PackageEvent, 'indexUrl' | 'project' | 'version'>): string {
  return `${event.indexUrl}|${event.project}|${event.version}`;
}

/** Occurrences of each value. */
export function tally(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Keys seen more than once, with their counts. */
export function repeated(values: Iterable<string>): [string, number][] {
  return [...tally(values)].filter(([, n]) => n > 1);
}

export interface CollectingSink extends EventSink {
  readonly events: PackageEvent[];
  /** Keys of the events of one kind, in publish order (repeats kept). */
  keys(kind: PackageEvent['kind']): string[];
}

/** An EventSink that keeps every event the relay published (durable once publish resolves). */
export function collectingSink(): CollectingSink {
  const events: PackageEvent[] = [];
  return {
    events,
    keys: (kind) => events.filter((event) => event.kind === kind).map(eventKey),
    publish(list) {
      events.push(...list.map(decodeEvent));
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

export interface TimedRequest extends RecordedRequest {
  /** Date.now() when the index server logged the request (on arrival). */
  readonly at: number;
}

/**
 * The index server's request log with arrival times: the log itself has none, so every
 * entry the server pushes from now on is copied here with Date.now().
 */
export function timeRequests(index: IndexServer): TimedRequest[] {
  const timed: TimedRequest[] = [];
  const log = index.requests as RecordedRequest[];
  const push = log.push.bind(log);
  log.push = (...items: RecordedRequest[]) => {
    const at = Date.now();
    for (const item of items) timed.push({ ...item, at });
    return push(...items);
  };
  return timed;
}

export interface ErrorTally {
  /** Index call failures by error code. */
  readonly codes: Map<string, number>;
  total(): number;
}

/** Wraps an index client so that every failed call is counted by its error code. */
export function countingErrors<C extends IndexClient>(client: C): { client: C; errors: ErrorTally } {
  const codes = new Map<string, number>();
  const count = (error: unknown): never => {
    const code = (error as { code?: unknown } | null)?.code;
    const key = typeof code === 'string' ? code : 'UNKNOWN';
    codes.set(key, (codes.get(key) ?? 0) + 1);
    throw error;
  };
  const wrapped = Object.create(client) as C;
  Object.assign(wrapped, {
    fetchFeed: (...args: Parameters<IndexClient['fetchFeed']>) => client.fetchFeed(...args).catch(count),
    fetchProject: (...args: Parameters<IndexClient['fetchProject']>) => client.fetchProject(...args).catch(count),
    fetchProjectList: (...args: Parameters<IndexClient['fetchProjectList']>) => client.fetchProjectList(...args).catch(count),
  });
  return { client: wrapped, errors: { codes, total: () => [...codes.values()].reduce((a, b) => a + b, 0) } };
}

/** Wraps a store so that every successful check (one or a project's batch) is counted by release id. */
export function countingChecks(store: PackageStore): { store: PackageStore; checks: Map<number, number> } {
  const checks = new Map<number, number>();
  const count = (release: StoredRelease | number): void => {
    const id = typeof release === 'number' ? release : release.id;
    checks.set(id, (checks.get(id) ?? 0) + 1);
  };
  return {
    checks,
    store: {
      ...store,
      async applyCheck(release, check) {
        const applied = await store.applyCheck(release, check);
        count(release);
        return applied;
      },
      async applyChecks(batch) {
        const applied = await store.applyChecks(batch);
        for (const { release } of batch) count(release);
        return applied;
      },
    },
  };
}

export async function rowCount(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) AS q`, params);
  return rows[0]?.n ?? 0;
}
