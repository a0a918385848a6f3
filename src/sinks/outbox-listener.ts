/**
 * LISTEN for the outbox's NOTIFY (`insertEvents` of another process commits events): each
 * notification calls `onNotify`. A lost connection is logged and not reopened: the relay's
 * poll still finds the events, at most `pollMs` later.
 */
import pg from 'pg';
import { EVENT_CHANNEL } from '../db/events.js';
import type { Logger } from '../runtime/logger.js';

export class OutboxListener {
  private client: pg.Client | null = null;

  constructor(
    private readonly log: Logger,
    private readonly onNotify: () => void,
  ) {}

  /** Connects and listens; a failure is logged (the relay polls). */
  start(url: string): void {
    void this.listen(url).catch((error: unknown) => this.log.warn({ err: error }, 'cannot LISTEN for events: polling every second'));
  }

  async end(): Promise<void> {
    await this.client?.end().catch(() => undefined);
  }

  private async listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url, application_name: 'pkgstream-relay' });
    client.on('error', (error) => {
      this.log.warn({ err: error }, 'event LISTEN connection lost: polling every second');
      this.client = null;
    });
    client.on('notification', () => this.onNotify());
    await client.connect();
    await client.query(`LISTEN ${EVENT_CHANNEL}`);
    this.client = client;
  }
}
