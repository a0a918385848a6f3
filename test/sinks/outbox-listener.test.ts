/**
 * The relay's LISTEN connection against the Postgres server (TEST_DATABASE_URL): a NOTIFY
 * on the outbox channel calls back; a server it cannot reach is logged, not thrown.
 */
import pg from 'pg';
import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EVENT_CHANNEL } from '../../src/db/events.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { OutboxListener } from '../../src/sinks/outbox-listener.js';
import { TEST_DATABASE_URL } from '../support/database.js';

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!TEST_DATABASE_URL)('OutboxListener', () => {
  it('calls back on a NOTIFY of the outbox channel, until it is ended', async () => {
    let notified = 0;
    const listener = new OutboxListener(silentLogger(), () => (notified += 1));
    listener.start(TEST_DATABASE_URL!);
    const writer = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await writer.connect();
    try {
      // Until the LISTEN is in place, a NOTIFY reaches nobody: repeat it.
      await until(() => {
        void writer.query(`NOTIFY ${EVENT_CHANNEL}`);
        return notified > 0;
      });
      await listener.end();
      const before = notified;
      await writer.query(`NOTIFY ${EVENT_CHANNEL}`);
      await new Promise((r) => setTimeout(r, 200));
      expect(notified).toBe(before);
    } finally {
      await writer.end();
    }
  });

  it('logs a server it cannot reach (the relay polls), and ends without one', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const listener = new OutboxListener(pino({ level: 'warn' }, stream), () => undefined);
    listener.start('postgres://postgres@127.0.0.1:1/none');
    await until(() => lines.length > 0);
    expect(lines[0]).toContain('cannot LISTEN for events');
    await expect(listener.end()).resolves.toBeUndefined();
  });
});
