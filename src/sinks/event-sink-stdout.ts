/**
 * EventSink on a stream (stdout by default, the embedded mode without Kafka): each outbox
 * row is one JSON line `{"topic","key","value"}` with the same topic, key and value as on Kafka.
 * publish resolves once the stream has taken the lines (the write callback).
 */
import type { Writable } from 'node:stream';
import { PkgstreamError, type EventSink } from '../domain/index.js';
import type { Metrics } from '../runtime/index.js';
import { formatEvent } from './event-format.js';

export interface StdoutEventSinkOptions {
  /** Default `pkgstream`. */
  readonly topicPrefix?: string;
  readonly metrics?: Metrics;
}

export function createStdoutEventSink(stream: Writable = process.stdout, options: StdoutEventSinkOptions = {}): EventSink {
  const topicPrefix = options.topicPrefix ?? 'pkgstream';
  let pending: Promise<void> = Promise.resolve();
  let closed = false;

  return {
    publish(events) {
      if (closed) return Promise.reject(new PkgstreamError('SINK_CLOSED', 'the stdout event sink is closed'));
      if (events.length === 0) return Promise.resolve();
      // Lines in input order (grouping by topic is only for Kafka's request).
      const lines = events.map((event) => `${JSON.stringify(formatEvent(event, topicPrefix))}\n`).join('');
      const written = new Promise<void>((resolve, reject) => {
        stream.write(lines, (error) => {
          if (error) reject(new PkgstreamError('STDOUT_WRITE_FAILED', `writing events failed: ${error.message}`, { cause: error }));
          else resolve();
        });
      });
      pending = written.catch(() => undefined);
      return written.then(() => {
        for (const event of events) options.metrics?.events.inc({ kind: event.kind });
      });
    },
    async close() {
      closed = true;
      await pending;
    },
  };
}
