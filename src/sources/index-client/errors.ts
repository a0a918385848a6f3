/** The index client's typed errors: stable codes, `retriable` decided by the code. */
import { PkgstreamError } from '../../domain/errors.js';

export const INDEX_ERROR_CODES = {
  INDEX_TIMEOUT: true,
  INDEX_HTTP_5XX: true,
  INDEX_RATE_LIMITED: true,
  INDEX_CONNECTION: true,
  /** The client was closed on shutdown with the request in flight: retried on the next start, not an index fault. */
  INDEX_CLOSED: true,
  /** A project page below the serial the root listing gave it: a lagging cache, asked again later. */
  INDEX_STALE_PAGE: true,
  INDEX_NOT_FOUND: false,
  INDEX_BAD_BODY: false,
  INDEX_TOO_LARGE: false,
  /** Response headers over undici's size limit. */
  INDEX_BAD_HEADERS: false,
  /** A redirect to another origin (not allowed) or from https to http. */
  INDEX_REDIRECT_REFUSED: false,
  /** Any other unexpected status (400, 401, 403, 410, ...). */
  INDEX_HTTP_STATUS: false,
  /** The index has no such endpoint configured (no RSS, no JSON API). */
  INDEX_UNSUPPORTED: false,
} as const;

export type IndexErrorCode = keyof typeof INDEX_ERROR_CODES;

export class IndexError extends PkgstreamError {
  declare readonly code: IndexErrorCode;
  /** The URL asked (no credentials are ever put in index URLs). */
  readonly url: string;
  /** The HTTP status, when the index answered. */
  readonly status: number | undefined;

  constructor(
    code: IndexErrorCode,
    message: string,
    options: { url: string; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(code, message, {
      retriable: INDEX_ERROR_CODES[code],
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = 'IndexError';
    this.url = options.url;
    this.status = options.status;
  }
}
