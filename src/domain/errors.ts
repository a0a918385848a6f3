/**
 * Every error pkgstream raises on purpose carries a stable `code` (like undici's), a
 * `retriable` flag that the retry operator reads, and, where the peer said so, how long
 * to wait before trying again.
 */
export class PkgstreamError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    code: string,
    message: string,
    options: { retriable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PkgstreamError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Input from outside that cannot be read: never retried, counted and reported with the item. */
export class BadInputError extends PkgstreamError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, retriable: false });
    this.name = 'BadInputError';
  }
}

export function errorCode(error: unknown): string {
  if (error instanceof PkgstreamError) return error.code;
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
