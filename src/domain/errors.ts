/**
 * Every error pkgstream raises on purpose carries a stable `code` from the catalogue
 * (src/domain/error-codes.ts, like undici's codes), a `retriable` flag that the retry
 * operator reads, and, where the peer said so, how long to wait before trying again.
 */
import { errorCodeEntry, type ErrorCode, type ErrorCodeIn, type FixedRetriableCode, type PerInstanceCode } from './error-codes.js';

export { ERROR_CODES, type ErrorArea, type ErrorCode, type ErrorCodeIn } from './error-codes.js';

interface ErrorOptions {
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

export class PkgstreamError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  /** A code whose catalogue entry says whether it is retriable. */
  constructor(code: FixedRetriableCode, message: string, options?: ErrorOptions);
  /** A code whose errors each say whether they are. */
  constructor(code: PerInstanceCode, message: string, options: ErrorOptions & { readonly retriable: boolean });
  constructor(code: ErrorCode, message: string, options: ErrorOptions & { readonly retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PkgstreamError';
    this.code = code;
    this.retriable = options.retriable ?? errorCodeEntry(code).retriable === true;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Input from outside that cannot be read: never retried, counted and reported with the item. */
export class BadInputError extends PkgstreamError {
  declare readonly code: ErrorCodeIn<'input'>;

  constructor(code: ErrorCodeIn<'input'>, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'BadInputError';
  }
}

/**
 * The code to log, count and record for attention: a PkgstreamError's catalogued code, else
 * a foreign error's own `code` passed through (a Postgres SQLSTATE like `40001`, a Node errno
 * like `ECONNRESET`, undici's `UND_ERR_*`), else `UNKNOWN`. Logs, metrics labels and the
 * attention table rely on the pass-through. The retry operator decides by the error's
 * `retriable`, not by this string.
 */
export function errorCode(error: unknown): string {
  if (error instanceof PkgstreamError) return error.code;
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** Whether `error`'s code (as `errorCode` reads it) is one of `codes`, which the compiler checks against the catalogue. */
export function hasCode(error: unknown, ...codes: readonly ErrorCode[]): boolean {
  return (codes as readonly string[]).includes(errorCode(error));
}

/** The message to log or record: an Error's own, else the thrown value as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
