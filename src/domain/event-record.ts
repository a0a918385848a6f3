/**
 * An event as it is stored in the outbox and published: its Kafka key and the JSON
 * envelope the replaced platform's consumers read. Built once, when the event is written
 * in the transaction of the change it announces; the relay publishes exactly this value.
 * Pure: the clock is a parameter.
 */
import type { EventKind, PackageEvent } from './types.js';

/** Every kind of event pkgstream publishes (README's event table lists each with its fields). */
export const EVENT_KINDS = [
  'package-released',
  'release-trigger',
  'missing-package',
  'missing-version',
  'hash-mismatch',
  'package-yanked',
  'package-unyanked',
  'package-reappeared',
  'project-status-changed',
  'solver-scheduled',
  'solver-finished',
] as const;

export const COMPONENT_NAME = 'pkgstream';
export const MESSAGE_VERSION = 'v1';

/** The envelope plus the kind's own fields, as serialized to JSON. */
export interface EventEnvelope {
  readonly component_name: string;
  readonly service_version: string;
  readonly version: string;
  readonly index_url: string;
  readonly package_name: string;
  /** Absent on kinds about a whole project (`missing-package`, `project-status-changed`). */
  readonly package_version?: string;
  readonly created_at: string;
  readonly [field: string]: unknown;
}

/** One outbox row as the relay hands it to an event sink. */
export interface OutboxEvent {
  readonly id: number;
  readonly kind: EventKind;
  readonly key: string;
  readonly record: EventEnvelope;
}

/** Envelope names an event's own fields cannot override. */
const RESERVED = new Set([
  'component_name',
  'service_version',
  'version',
  'index_url',
  'package_name',
  'package_version',
  'created_at',
]);

/**
 * `index_url|package_name|package_version`, plus `|solver` for solver events (one key per
 * solver, so a consumer dropping repeats by key keeps every solver's event); the version
 * part is empty for project-level events.
 */
export function eventKey(event: Pick<PackageEvent, 'indexUrl' | 'project' | 'version' | 'solver'>): string {
  const key = `${event.indexUrl}|${event.project}|${event.version ?? ''}`;
  return event.solver === undefined ? key : `${key}|${event.solver}`;
}

export function eventEnvelope(event: PackageEvent, serviceVersion: string, createdAt: Date): EventEnvelope {
  const envelope: Record<string, unknown> = {
    component_name: COMPONENT_NAME,
    service_version: serviceVersion,
    version: MESSAGE_VERSION,
    index_url: event.indexUrl,
    package_name: event.project,
  };
  if (event.version !== null) envelope.package_version = event.version;
  if (event.solver !== undefined) envelope.solver = event.solver;
  for (const [name, value] of Object.entries(event.fields ?? {})) {
    if (!RESERVED.has(name) && value !== undefined) envelope[name] = value;
  }
  envelope.created_at = createdAt.toISOString();
  return envelope as EventEnvelope;
}

/**
 * The envelope's fields in their published order, whatever order storage gave back (jsonb
 * keeps keys sorted by length): the envelope first, then the kind's own fields, then
 * `created_at`, as `eventEnvelope` builds it.
 */
export function inEnvelopeOrder(record: EventEnvelope): EventEnvelope {
  const head = ['component_name', 'service_version', 'version', 'index_url', 'package_name', 'package_version', 'solver'];
  const ordered: Record<string, unknown> = {};
  for (const name of head) if (name in record) ordered[name] = record[name];
  for (const [name, value] of Object.entries(record)) if (!(name in ordered) && name !== 'created_at') ordered[name] = value;
  ordered.created_at = record.created_at;
  return ordered as EventEnvelope;
}
