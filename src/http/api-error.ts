/**
 * Errors the HTTP layer answers with: a status, a stable code and a one-line message, sent
 * as `{"error": {"code", "message"}}` by the API (and as a page by the UI).
 */
import { BadInputError } from '../domain/errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Any thrown value as the ApiError to answer with; an unexpected one is a 500 with no detail. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof BadInputError) return new ApiError(400, 'bad_input', error.message);
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // fastify's own (body parsing, content type): its message names the problem.
    return new ApiError(status, 'bad_request', (error as Error).message);
  }
  return new ApiError(500, 'internal', 'internal error (see the service log)');
}
