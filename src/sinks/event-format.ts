/**
 * How a stored event looks on the wire, shared by every event sink: the topic
 * (`<prefix>.<kind>`), the key and the value (the outbox row's `record`, unchanged).
 */
import type { EventKind, OutboxEvent } from '../domain/index.js';

export interface FormattedEvent {
  readonly topic: string;
  readonly key: string;
  readonly value: OutboxEvent['record'];
}

export function eventTopic(topicPrefix: string, kind: EventKind): string {
  return topicPrefix === '' ? kind : `${topicPrefix}.${kind}`;
}

export function formatEvent(event: OutboxEvent, topicPrefix: string): FormattedEvent {
  return { topic: eventTopic(topicPrefix, event.kind), key: event.key, value: event.record };
}

/** Groups a batch by topic, keeping the input order within a topic. */
export function formatEventsByTopic(events: readonly OutboxEvent[], topicPrefix: string): Map<string, FormattedEvent[]> {
  const byTopic = new Map<string, FormattedEvent[]>();
  for (const event of events) {
    const formatted = formatEvent(event, topicPrefix);
    const list = byTopic.get(formatted.topic);
    if (list) list.push(formatted);
    else byTopic.set(formatted.topic, [formatted]);
  }
  return byTopic;
}
