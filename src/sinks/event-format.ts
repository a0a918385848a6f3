/**
 * How a PackageEvent looks on the wire, shared by every event sink: the topic
 * (`<prefix>.<kind>`), the key (`index_url|package_name|package_version`) and the JSON
 * envelope the replaced platform's consumers read. Pure: the clock is a parameter.
 */
import type { EventKind, PackageEvent } from '../domain/index.js';

export const COMPONENT_NAME = 'pkgstream';
export const MESSAGE_VERSION = 'v1';

export interface EventFormatOptions {
  /** Topic prefix; an empty prefix gives bare kind names. */
  readonly topicPrefix: string;
  readonly serviceVersion: string;
}

/** The envelope plus the kind's own fields, as serialized to JSON. */
export interface EventEnvelope {
  readonly component_name: string;
  readonly service_version: string;
  readonly version: string;
  readonly index_url: string;
  readonly package_name: string;
  /** Absent on kinds about a whole project (`missing-package`). */
  readonly package_version?: string;
  readonly created_at: string;
  readonly [field: string]: unknown;
}

export interface FormattedEvent {
  readonly topic: string;
  readonly key: string;
  readonly value: EventEnvelope;
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

export function eventTopic(topicPrefix: string, kind: EventKind): string {
  return topicPrefix === '' ? kind : `${topicPrefix}.${kind}`;
}

/** `index_url|package_name|package_version`; the version part is empty for project-level events. */
export function eventKey(event: Pick<PackageEvent, 'indexUrl' | 'project' | 'version'>): string {
  return `${event.indexUrl}|${event.project}|${event.version ?? ''}`;
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
  for (const [name, value] of Object.entries(event.fields ?? {})) {
    if (!RESERVED.has(name) && value !== undefined) envelope[name] = value;
  }
  envelope.created_at = createdAt.toISOString();
  return envelope as EventEnvelope;
}

export function formatEvent(event: PackageEvent, options: EventFormatOptions, createdAt: Date): FormattedEvent {
  return {
    topic: eventTopic(options.topicPrefix, event.kind),
    key: eventKey(event),
    value: eventEnvelope(event, options.serviceVersion, createdAt),
  };
}

/** Formats a batch with one timestamp and groups it by topic, keeping the input order within a topic. */
export function formatEventsByTopic(
  events: readonly PackageEvent[],
  options: EventFormatOptions,
  createdAt: Date,
): Map<string, FormattedEvent[]> {
  const byTopic = new Map<string, FormattedEvent[]>();
  for (const event of events) {
    const formatted = formatEvent(event, options, createdAt);
    const list = byTopic.get(formatted.topic);
    if (list) list.push(formatted);
    else byTopic.set(formatted.topic, [formatted]);
  }
  return byTopic;
}
