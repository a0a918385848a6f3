/**
 * The index client's HTTP layer on undici: one Pool per index origin (keep-alive, bounded
 * connections), timeouts, a response-size cap enforced on the declared length and on the
 * bytes streamed, conditional GET, redirects, metrics, and typed errors.
 */
import { Pool, type Dispatcher } from 'undici';
import type { Metrics } from '../../runtime/metrics.js';
import { DEFAULT_MAX_BACKOFF_MS, parseRetryAfter } from '../../domain/retry-after.js';
import type { Validators } from '../../domain/types.js';
import { IndexError } from './errors.js';
import { errorMessage } from '../../domain/errors.js';

export type IndexRoute = 'feed' | 'project' | 'json' | 'listing';

export interface HttpOptions {
  /** pkgstream's version, for the User-Agent. */
  readonly version: string;
  readonly metrics?: Metrics;
  /** Connections per index origin (default 8). */
  readonly connections?: number;
  readonly keepAliveTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Time to the response headers (default 30 s); undici checks it on a ~0.5 s tick. */
  readonly headersTimeoutMs?: number;
  /** Longest pause between two body chunks (default 30 s); undici checks it on a ~0.5 s tick. */
  readonly bodyTimeoutMs?: number;
  /** Whole request, redirects and body included (default 120 s): a slow-drip body ends here. */
  readonly requestTimeoutMs?: number;
  /** Largest body read (default 20 MB); a larger one is aborted with INDEX_TOO_LARGE. */
  readonly maxBodyBytes?: number;
  readonly maxRedirects?: number;
  /**
   * Origins (`https://host:port`) a redirect may lead to besides the request's own; a
   * redirect anywhere else, or from https to http, is refused (INDEX_REDIRECT_REFUSED).
   */
  readonly redirectOrigins?: readonly string[];
  /** Longest wait a `Retry-After` may ask for (default 15 min). */
  readonly maxRetryAfterMs?: number;
}

export interface HttpRequest {
  readonly url: string;
  readonly route: IndexRoute;
  /** Index label for metrics (the index's host). */
  readonly indexLabel: string;
  readonly accept: string;
  readonly validators?: Validators | undefined;
  readonly verifyTls: boolean;
}

export type HttpResult<B = Buffer> =
  | { readonly notModified: true }
  | {
      readonly notModified: false;
      readonly url: string;
      readonly contentType: string;
      readonly body: B;
      readonly validators: Validators;
      /** Warehouse's `X-PyPI-Last-Serial` as sent (unchecked), or null. */
      readonly lastSerial: string | null;
    };

/** What a 200 answer is, for the one who reads its body. */
export interface Answer {
  readonly url: string;
  readonly status: number;
  readonly contentType: string;
  /** Content-Length, when the index declared one. */
  readonly declaredLength: number | null;
}

/**
 * Reads a 200 body as it arrives (within the request's deadline): `get` collects it under
 * the size cap; `stream` hands it to a parser that never holds it whole (a root listing).
 */
export type BodyReader<B> = (body: AsyncIterable<Buffer>, answer: Answer) => Promise<B>;

export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The status label: its class (`2xx`), but `304` on its own: a conditional request that saved a page. */
function statusLabel(status: number | 'error'): string {
  if (status === 'error') return 'error';
  return status === 304 ? '304' : `${Math.floor(status / 100)}xx`;
}

/**
 * A Last-Modified less than a second before the answer's Date (or, without one, now) is not
 * kept: a change later in that same second would carry the same Last-Modified, and a 304 to it
 * would hide the change (RFC 9110 8.8.2.2).
 */
function safeLastModified(lastModified: string | undefined, date: string | undefined): string | null {
  if (lastModified === undefined) return null;
  const modifiedAt = Date.parse(lastModified);
  const answeredAt = date === undefined ? Date.now() : Date.parse(date);
  return Number.isFinite(modifiedAt) && Number.isFinite(answeredAt) && answeredAt - modifiedAt >= 1000 ? lastModified : null;
}

/** Connections per index origin (the polite client lets as many requests be in flight per host). */
export const DEFAULT_CONNECTIONS = 8;

export class HttpTransport {
  private readonly pools = new Map<string, Pool>();
  private readonly userAgent: string;
  private readonly maxBodyBytes: number;
  private closed = false;

  constructor(private readonly options: HttpOptions) {
    this.userAgent = `pkgstream/${options.version} (+https://github.com/pkgstream/pkgstream)`;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  private pool(origin: string, verifyTls: boolean): Pool {
    const key = `${origin}|${verifyTls}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connections ?? DEFAULT_CONNECTIONS,
        keepAliveTimeout: this.options.keepAliveTimeoutMs ?? 30_000,
        headersTimeout: this.options.headersTimeoutMs ?? 30_000,
        bodyTimeout: this.options.bodyTimeoutMs ?? 30_000,
        connect: { timeout: this.options.connectTimeoutMs ?? 10_000, rejectUnauthorized: verifyTls },
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** GET with conditional headers; follows redirects; 200 body read under the size cap. */
  get(request: HttpRequest): Promise<HttpResult> {
    return this.stream(request, (body, answer) => this.collect(body, answer));
  }

  /** GET like `get`, the 200 body read by `read` as it arrives (no size cap: the reader bounds what it keeps). */
  async stream<B>(request: HttpRequest, read: BodyReader<B>): Promise<HttpResult<B>> {
    if (this.closed) throw new IndexError('INDEX_CLOSED', `index client is closed: ${request.url}`, { url: request.url });
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.requestTimeoutMs ?? 120_000);
    try {
      let url = request.url;
      for (let hop = 0; ; hop += 1) {
        const answer = await this.once(request, url, deadline.signal, read);
        if (answer.kind === 'redirect') {
          if (hop >= (this.options.maxRedirects ?? 5)) {
            throw new IndexError('INDEX_HTTP_STATUS', `too many redirects from ${request.url}`, { url, status: answer.status });
          }
          this.checkRedirect(request.url, url, answer.location);
          url = answer.location;
          continue;
        }
        return answer.result;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Only within the request's origin (or an allowed one), never down from https. */
  private checkRedirect(first: string, from: string, to: string): void {
    const target = new URL(to);
    const reason =
      new URL(from).protocol === 'https:' && target.protocol !== 'https:'
        ? 'from https to http'
        : target.origin !== new URL(first).origin && !(this.options.redirectOrigins ?? []).includes(target.origin)
          ? 'to another origin'
          : null;
    if (reason !== null) {
      throw new IndexError('INDEX_REDIRECT_REFUSED', `redirect refused (${reason}): ${from} -> ${to}`, { url: from });
    }
  }

  private async collect(body: AsyncIterable<Buffer>, { url, status, declaredLength }: Answer): Promise<Buffer> {
    if (declaredLength !== null && declaredLength > this.maxBodyBytes) {
      throw new IndexError('INDEX_TOO_LARGE', `${url}: body of ${declaredLength} bytes is over the cap of ${this.maxBodyBytes}`, { url, status });
    }
    const chunks: Buffer[] = [];
    let received = 0;
    for await (const chunk of body) {
      received += chunk.length;
      if (received > this.maxBodyBytes) {
        throw new IndexError('INDEX_TOO_LARGE', `${url}: body over the cap of ${this.maxBodyBytes} bytes`, { url, status });
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, received);
  }

  private async once<B>(
    request: HttpRequest,
    url: string,
    signal: AbortSignal,
    read: BodyReader<B>,
  ): Promise<{ kind: 'redirect'; status: number; location: string } | { kind: 'done'; result: HttpResult<B> }> {
    const { metrics } = this.options;
    const labels = { index: request.indexLabel, route: request.route };
    const started = performance.now();
    let status: number | 'error' = 'error';
    const target = new URL(url);
    try {
      const response = await this.pool(target.origin, request.verifyTls).request({
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers: this.headersOf(request),
        signal,
      });
      status = response.statusCode;
      const h = response.headers;
      if (status === 304) {
        await response.body.dump().catch(() => undefined);
        return { kind: 'done', result: { notModified: true } };
      }
      if ([301, 302, 303, 307, 308].includes(status)) {
        await response.body.dump().catch(() => undefined);
        const location = header(h, 'location');
        if (!location) throw new IndexError('INDEX_HTTP_STATUS', `redirect without Location from ${url}`, { url, status });
        return { kind: 'redirect', status, location: new URL(location, url).href };
      }
      if (status !== 200) {
        await response.body.dump().catch(() => undefined);
        throw this.statusError(status, url, header(h, 'retry-after'), request.indexLabel);
      }
      return { kind: 'done', result: await this.answered(response, url, read) };
    } catch (error) {
      throw this.classify(error, url, signal);
    } finally {
      metrics?.indexRequests.inc({ ...labels, status: statusLabel(status) });
      metrics?.indexRequestDuration.observe(labels, (performance.now() - started) / 1000);
    }
  }

  /** Conditional when the request has validators; the body as sent (no compression, so its size is what is capped). */
  private headersOf(request: HttpRequest): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: request.accept, 'accept-encoding': 'identity' };
    if (request.validators?.etag) headers['if-none-match'] = request.validators.etag;
    if (request.validators?.lastModified) headers['if-modified-since'] = request.validators.lastModified;
    return headers;
  }

  /** A 200: its body through the reader, its validators and serial. */
  private async answered<B>(response: Dispatcher.ResponseData, url: string, read: BodyReader<B>): Promise<HttpResult<B>> {
    const h = response.headers;
    const declared = Number(header(h, 'content-length'));
    const contentType = header(h, 'content-type') ?? '';
    let body: B;
    try {
      body = await read(response.body as AsyncIterable<Buffer>, { url, status: response.statusCode, contentType, declaredLength: Number.isFinite(declared) ? declared : null });
    } finally {
      // A reader that stopped early (over a cap, a parse error) leaves the rest unread: drop the connection's body.
      if (!response.body.readableEnded) response.body.destroy();
    }
    return {
      notModified: false,
      url,
      contentType,
      body,
      validators: { etag: header(h, 'etag') ?? null, lastModified: safeLastModified(header(h, 'last-modified'), header(h, 'date')) },
      lastSerial: header(h, 'x-pypi-last-serial') ?? null,
    };
  }

  private statusError(status: number, url: string, retryAfter: string | undefined, indexLabel: string): IndexError {
    if (status === 429) {
      this.options.metrics?.indexRateLimited.inc({ index: indexLabel });
      const retryAfterMs = parseRetryAfter(retryAfter, Date.now(), this.options.maxRetryAfterMs ?? DEFAULT_MAX_BACKOFF_MS);
      return new IndexError('INDEX_RATE_LIMITED', `${url}: 429 Too Many Requests`, {
        url,
        status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (status === 404 || status === 410) return new IndexError('INDEX_NOT_FOUND', `${url}: ${status}`, { url, status });
    if (status >= 500) return new IndexError('INDEX_HTTP_5XX', `${url}: ${status}`, { url, status });
    return new IndexError('INDEX_HTTP_STATUS', `${url}: unexpected status ${status}`, { url, status });
  }

  private classify(error: unknown, url: string, signal: AbortSignal): IndexError {
    if (error instanceof IndexError) return error;
    if (this.closed) return new IndexError('INDEX_CLOSED', `${url}: abandoned on shutdown`, { url, cause: error });
    if (signal.aborted) return new IndexError('INDEX_TIMEOUT', `${url}: no complete answer within the request timeout`, { url, cause: error });
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'UND_ERR_HEADERS_OVERFLOW') {
      return new IndexError('INDEX_BAD_HEADERS', `${url}: response headers over the size limit`, { url, cause: error });
    }
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
      return new IndexError('INDEX_TIMEOUT', `${url}: ${code}`, { url, cause: error });
    }
    const message = errorMessage(error);
    return new IndexError('INDEX_CONNECTION', `${url}: ${typeof code === 'string' ? `${code} ` : ''}${message}`, { url, cause: error });
  }

  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    // Destroy, not close (which waits for the requests in flight): closing comes after the
    // drain, so what is still in flight then is abandoned (retried on the next start).
    await Promise.all(pools.map((pool) => pool.destroy()));
  }
}
