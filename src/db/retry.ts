/**
 * Retrying a read after the connection under it went away (server restart, failover,
 * `pg_terminate_backend`). Only reads that can simply be asked again use it.
 */
import { backoffDelay } from '../domain/backoff.js';

const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'Client was closed and is not queryable',
  'terminating connection',
];

/** True for errors that mean "the connection is gone, a new one may work". */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || CONNECTION_CODES.has(code))) return true;
  return CONNECTION_MESSAGES.some((text) => error.message.includes(text));
}

export interface RetryOptions {
  /** Attempts after the first (default 5). */
  readonly retries?: number;
  /** The backoff's first delay (default 100 ms; domain/backoff.ts, at most 5 s). */
  readonly delayMs?: number;
  readonly onRetry?: (error: unknown, attempt: number) => void;
}

export async function withConnectionRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 5;
  const backoff = { baseDelayMs: options.delayMs ?? 100, maxDelayMs: 5_000, random: Math.random };
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt > retries || !isConnectionError(error)) throw error;
      options.onRetry?.(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, error, backoff)));
    }
  }
}
