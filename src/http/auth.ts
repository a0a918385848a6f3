/**
 * Who may do what: writes need `Authorization: Bearer <PKGSTREAM_ADMIN_TOKEN>` (the UI's
 * forms send the same token from an HttpOnly cookie); reads are open unless
 * `PKGSTREAM_API_AUTH=all`. Without a configured token every write is refused with 403
 * saying why. Tokens are compared in constant time (equal-length digests).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-error.js';

export interface AuthSettings {
  readonly adminToken?: string | undefined;
  readonly apiAuth: 'writes' | 'all';
}

export const TOKEN_COOKIE = 'pkgstream_token';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time in the token's content: both sides are hashed to 32 bytes first. */
export function tokensEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** The value of one cookie of a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Throws the 401/403 to answer unless `presented` may do `access`. */
export function authorize(settings: AuthSettings, presented: string | undefined, access: 'read' | 'write'): void {
  if (access === 'read' && settings.apiAuth !== 'all') return;
  const expected = settings.adminToken;
  if (expected === undefined) {
    const what = access === 'write' ? 'writes are disabled' : 'reads need a token (PKGSTREAM_API_AUTH=all)';
    throw new ApiError(403, 'no_admin_token', `${what}: no PKGSTREAM_ADMIN_TOKEN is configured on the service`);
  }
  if (presented === undefined) {
    throw new ApiError(401, 'unauthorized', 'this needs Authorization: Bearer <PKGSTREAM_ADMIN_TOKEN>');
  }
  if (!tokensEqual(presented, expected)) throw new ApiError(403, 'forbidden', 'the token does not match PKGSTREAM_ADMIN_TOKEN');
}
