/**
 * What an answer of the Kubernetes API means for pkgstream: a stable error code, whether
 * trying again can help, and how long the server asked us to wait.
 */
import { ApiException } from '@kubernetes/client-node';
import { PkgstreamError, parseRetryAfter, type ErrorCodeIn } from '../domain/index.js';

/** The fields of a `meta/v1` Status body that decide what to do. */
export interface KubeStatus {
  readonly code: number;
  readonly reason: string | null;
  readonly message: string | null;
  readonly retryAfterSeconds: number | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseBody(body: unknown): Record<string, unknown> | null {
  if (isRecord(body)) return body;
  if (typeof body !== 'string' || body === '') return null;
  try {
    const parsed: unknown = JSON.parse(body);
    return isRecord(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** The status code and Status fields of a client error, or null for anything else. */
export function kubeStatusOf(error: unknown): KubeStatus | null {
  if (error instanceof ApiException) {
    const body = parseBody(error.body);
    const details = body && isRecord(body.details) ? body.details : null;
    const code = typeof error.code === 'number' ? error.code : Number(error.code);
    return {
      code,
      reason: typeof body?.reason === 'string' ? body.reason : null,
      message: typeof body?.message === 'string' ? body.message : null,
      retryAfterSeconds: typeof details?.retryAfterSeconds === 'number' ? details.retryAfterSeconds : null,
    };
  }
  // The Watch class's errors for a non-200 answer.
  if (error instanceof Error && typeof (error as Error & { statusCode?: unknown }).statusCode === 'number') {
    return { code: (error as Error & { statusCode: number }).statusCode, reason: null, message: error.message, retryAfterSeconds: null };
  }
  return null;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!isRecord(headers)) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

/** `Retry-After` (seconds or an HTTP date), else the Status's `details.retryAfterSeconds`, in ms, capped. */
export function retryAfterMsOf(error: unknown, now: number = Date.now()): number | undefined {
  const header = error instanceof ApiException ? headerValue(error.headers, 'retry-after') : undefined;
  const fromHeader = parseRetryAfter(header, now);
  if (fromHeader !== undefined) return fromHeader;
  const status = kubeStatusOf(error);
  return status?.retryAfterSeconds != null ? parseRetryAfter(String(Math.max(0, status.retryAfterSeconds)), now) : undefined;
}

export function isAlreadyExists(error: unknown): boolean {
  const status = kubeStatusOf(error);
  return status?.code === 409 && (status.reason === null || status.reason === 'AlreadyExists');
}

export function isGone(error: unknown): boolean {
  return kubeStatusOf(error)?.code === 410;
}

/**
 * Maps a failed API call to a PkgstreamError:
 * 403 exceeded quota → retriable `JOB_QUOTA`; other 403 → `JOB_FORBIDDEN`; 429 → retriable
 * `JOB_RATE_LIMITED`; 5xx → retriable `JOB_API_5XX`; 422 → `JOB_INVALID`; 409 → `JOB_CONFLICT`;
 * 401 → `JOB_UNAUTHORIZED`; 404 → `JOB_NOT_FOUND`; other 4xx → `JOB_REJECTED`; no answer at
 * all (refused, reset, timeout) → retriable `JOB_API_UNREACHABLE`.
 */
export function toJobError(error: unknown, what: string): PkgstreamError {
  if (error instanceof PkgstreamError) return error;
  const status = kubeStatusOf(error);
  const retryAfterMs = retryAfterMsOf(error);
  const detail = status?.message ?? (error instanceof Error ? error.message.split('\n')[0] : String(error));
  if (status === null) {
    return new PkgstreamError('JOB_API_UNREACHABLE', `${what}: Kubernetes API unreachable: ${detail}`, { cause: error });
  }
  const { code } = status;
  const make = (errorCode: ErrorCodeIn<'kube'>) =>
    new PkgstreamError(errorCode, `${what}: HTTP ${code}${status.reason ? ` ${status.reason}` : ''}: ${detail}`, {
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      cause: error,
    });
  if (code === 403) return /exceeded quota/i.test(status.message ?? '') ? make('JOB_QUOTA') : make('JOB_FORBIDDEN');
  if (code === 429) return make('JOB_RATE_LIMITED');
  if (code >= 500) return make('JOB_API_5XX');
  if (code === 422) return make('JOB_INVALID');
  if (code === 409) return make('JOB_CONFLICT');
  if (code === 401) return make('JOB_UNAUTHORIZED');
  if (code === 404) return make('JOB_NOT_FOUND');
  if (code === 410) return make('JOB_GONE');
  return make('JOB_REJECTED');
}
