/**
 * `run`'s way to its database: open it and bring its schema up to date, and while the
 * server is not reachable (refused, not resolvable, starting up) retry with the project's
 * backoff (`backoffDelay`), logging one line that names the database (host, port, name,
 * user; never the password) at most every `LOG_EVERY_MS`. A database that answers but
 * refuses us (no such role, wrong password, no such database) is a configuration error:
 * no retry fixes it, so `run` exits 2 with one line, and Kubernetes shows the crash loop.
 */
import { backoffDelay } from '../domain/backoff.js';
import { ConfigError, type Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import { sleepUnlessAborted } from '../runtime/shutdown-signal.js';
import { openAdapters, type AdapterOptions, type Adapters } from './adapters.js';
import { errorMessage } from '../domain/errors.js';

const DATABASE_RETRY = { baseDelayMs: 1_000, maxDelayMs: 30_000 } as const;
const LOG_EVERY_MS = 10_000;

/** Node socket and pg codes of a server not (yet) reachable: worth a retry. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', '57P03', '53300', '57P01', '08000', '08001', '08006']);
/** pg codes of a server that answered and refused us: a configuration error. */
const REFUSED = new Set(['28000', '28P01', '3D000']);
const UNREACHABLE_MESSAGES = /connection terminated|timeout exceeded when trying to connect|connection timeout/i;

/** How the configured database is named in messages: never with its password. */
export function describeDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  if (!config.databaseUrl) return `embedded PGlite in ${config.dataDir}`;
  try {
    const url = new URL(config.databaseUrl);
    const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
    const user = url.username ? ` as ${decodeURIComponent(url.username)}` : '';
    return `postgres ${url.hostname}:${url.port || '5432'}/${name}${user}`;
  } catch {
    return 'postgres (DATABASE_URL unreadable)';
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  // An AggregateError (one per resolved address) carries the code of its first error.
  const first = (error as { errors?: unknown[] } | null)?.errors?.[0];
  return first === undefined ? undefined : codeOf(first);
}

function reasonOf(error: unknown): string {
  const message = errorMessage(error);
  return message || codeOf(error) || 'unknown error';
}

export type DatabaseFault = 'unreachable' | 'refused' | 'other';

export function databaseFault(error: unknown): DatabaseFault {
  const code = codeOf(error);
  if (code !== undefined && REFUSED.has(code)) return 'refused';
  if ((code !== undefined && UNREACHABLE.has(code)) || UNREACHABLE_MESSAGES.test(reasonOf(error))) return 'unreachable';
  return 'other';
}

/**
 * Opens the adapters (database first), retrying while the database is unreachable.
 * Resolves null when `signal` aborts first (a SIGTERM during start-up).
 */
export async function openAdaptersWithRetry(options: AdapterOptions, signal: AbortSignal, onRetry: (reason: string) => void): Promise<Adapters | null> {
  const { config, logger } = options;
  const database = describeDatabase(config);
  let lastLogAt = -Infinity;
  let suppressed = 0;
  for (let attempt = 1; !signal.aborted; attempt += 1) {
    try {
      const adapters = await openAdapters(options);
      if (attempt > 1) logger.info({ database, attempts: attempt }, `database ${database} reachable after ${attempt} attempts`);
      if (!signal.aborted) return adapters;
      await adapters.close();
      return null;
    } catch (error) {
      const fault = databaseFault(error);
      if (fault === 'refused') throw new ConfigError([`database ${database}: ${reasonOf(error)} (DATABASE_URL)`]);
      if (fault === 'other') throw error;
      const delayMs = Math.round(backoffDelay(attempt, error, { ...DATABASE_RETRY, random: Math.random }));
      const reason = `database ${database} is not reachable: ${reasonOf(error)}`;
      onRetry(reason);
      if (Date.now() - lastLogAt >= LOG_EVERY_MS) {
        logRetry(logger, { database, reason, attempt, delayMs, code: codeOf(error), suppressed });
        lastLogAt = Date.now();
        suppressed = 0;
      } else {
        suppressed += 1;
      }
      if (await sleepUnlessAborted(delayMs, signal)) break;
    }
  }
  return null;
}

function logRetry(logger: Logger, fields: { database: string; reason: string; attempt: number; delayMs: number; code: string | undefined; suppressed: number }): void {
  const { reason, delayMs, ...rest } = fields;
  logger.warn({ ...rest, delayMs }, `${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s`);
}
