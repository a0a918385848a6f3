/** The index client's typed errors: stable codes of the catalogue's `index` area, `retriable` decided by the code. */
import { PkgstreamError, type ErrorCodeIn } from '../../domain/errors.js';

export type IndexErrorCode = ErrorCodeIn<'index'>;

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
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = 'IndexError';
    this.url = options.url;
    this.status = options.status;
  }
}
