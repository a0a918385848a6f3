/**
 * The one polite face of every index host: each request of every pipeline and every kind
 * (feeds, project pages) takes a token from its host's single bucket (PKGSTREAM_RATE_LIMIT
 * per second, PKGSTREAM_RATE_BURST at once) before it goes, and a 429's Retry-After pauses
 * that host for everyone. A request holds one of the host's connections (host-slots.ts)
 * before its token, so it goes out when granted, and a granted request still waits while its
 * host had rate + burst sends in the last 1.1 s (send-window.ts), so that what arrives at the
 * index within a second stays within that bound although its way there varies. Replicas on one database share the limit: `shareAmong(n)` gives
 * each bucket rate / n and burst / n (at least one), so n replicas together stay within
 * the limit + burst at the index. A process makes one of these over its one index client; each
 * pipeline gets a view (`forPipeline`) that only labels its waits.
 */
import { BehaviorSubject, distinctUntilChanged, map, Subject, type SchedulerLike, asyncScheduler } from 'rxjs';
import { hasCode } from '../../domain/errors.js';
import type { IndexClient } from '../../domain/ports.js';
import { indexHost } from '../../domain/index-host.js';
import type { PackageIndex } from '../../domain/types.js';
import { rateLimit, type RateLimitPenalty } from '../../operators/rate-limit.js';
import { retryAfterOf } from '../../domain/backoff.js';
import type { Metrics } from '../../runtime/metrics.js';
import { hostSlots } from './host-slots.js';
import { DEFAULT_CONNECTIONS } from './http.js';
import { hostSendWindows } from './send-window.js';

export interface PoliteIndexOptions {
  /** Requests per second per index host, and how many may go at once above it. */
  readonly rate: number;
  readonly burst: number;
  /**
   * Pipelines held to a fraction of the rate (e.g. `{ update: 0.2 }`: the verification
   * re-checks), so the rest stays free for the others: their requests first take a token of
   * a bucket of their own at that fraction, then one of the host's.
   */
  readonly shares?: Readonly<Record<string, number>>;
  /** Requests in flight per host at most: the transport's connections per origin (default the same 8). */
  readonly connections?: number;
  readonly scheduler?: SchedulerLike;
  readonly metrics?: Pick<Metrics, 'rateLimiterWait'>;
}

export interface PoliteIndexClient {
  /** The shared client, its waits labelled with `pipeline`. */
  forPipeline(pipeline: string): IndexClient;
  /** From now on this process has 1/`replicas` of the rate and the burst (the live replica count). */
  shareAmong(replicas: number): void;
  /** Requests sent to the index (tokens granted), for tests and benchmarks. */
  readonly requests: () => number;
  /** Stops the buckets and closes the underlying client. */
  close(): Promise<void>;
}

interface Ticket {
  readonly host: string;
  readonly pipeline: string;
  readonly grant: () => void;
}

export function politeIndexClient(client: IndexClient, options: PoliteIndexOptions): PoliteIndexClient {
  const scheduler = options.scheduler ?? asyncScheduler;
  const penalties = new Subject<RateLimitPenalty<string>>();
  const replicas = new BehaviorSubject(1);
  /** One token bucket per host at `fraction` of the rate and burst, this replica's share of it. */
  const lane = (fraction: number, paused?: Subject<RateLimitPenalty<string>>) => {
    const tickets = new Subject<Ticket>();
    // Among others (n > 1), a bucket made now starts empty: they may have spent their bursts already.
    const shareOf = (n: number) => ({ rate: (options.rate * fraction) / n, burst: Math.max(1, (options.burst * fraction) / n), startEmpty: n > 1 });
    const limits = replicas.pipe(distinctUntilChanged(), map(shareOf));
    const subscription = tickets
      .pipe(rateLimit<Ticket, string>({ ...shareOf(1), key: (ticket) => ticket.host, limits, scheduler, ...(paused ? { penalties: paused } : {}) }))
      .subscribe((ticket) => ticket.grant());
    const take = (host: string, pipeline: string) => new Promise<void>((grant) => tickets.next({ host, pipeline, grant }));
    return { take, subscription };
  };
  const hostLane = lane(1, penalties);
  const shared = new Map(Object.entries(options.shares ?? {}).map(([pipeline, fraction]) => [pipeline, lane(fraction)]));
  const slots = hostSlots(options.connections ?? DEFAULT_CONNECTIONS);
  const windows = hostSendWindows(options.rate, options.burst, scheduler);
  const subscription = replicas.pipe(distinctUntilChanged()).subscribe((n) => windows.shareAmong(n));
  let requests = 0;

  // The pipeline's share first (holding no connection while it waits), then a connection, then the host's token: sent at once.
  const politely = async <T>(pipeline: string, index: PackageIndex, request: () => Promise<T>): Promise<T> => {
    const host = indexHost(index);
    const asked = scheduler.now();
    await shared.get(pipeline)?.take(host, pipeline);
    const release = await slots.take(host);
    try {
      await hostLane.take(host, pipeline);
      await windows.untilFree(host);
      const waitedMs = scheduler.now() - asked;
      options.metrics?.rateLimiterWait.observe({ pipeline, index: host }, waitedMs / 1000);
      requests += 1;
      return await request();
    } catch (error) {
      const retryAfterMs = retryAfterOf(error);
      if (hasCode(error, 'INDEX_RATE_LIMITED') && retryAfterMs !== undefined) penalties.next({ key: host, ms: retryAfterMs });
      throw error;
    } finally {
      release();
    }
  };

  return {
    forPipeline: (pipeline) => ({
      fetchFeed: (index, feed, validators) => politely(pipeline, index, () => client.fetchFeed(index, feed, validators)),
      fetchProject: (index, project, validators) => politely(pipeline, index, () => client.fetchProject(index, project, validators)),
      fetchProjectList: (index, keep) => politely(pipeline, index, () => client.fetchProjectList(index, keep)),
      // The views share the client: closing it is the owner's (`close` below).
      close: () => Promise.resolve(),
    }),
    shareAmong: (n) => replicas.next(Math.max(1, Math.floor(n))),
    requests: () => requests,
    async close() {
      hostLane.subscription.unsubscribe();
      subscription.unsubscribe();
      for (const { subscription } of shared.values()) subscription.unsubscribe();
      await client.close();
    },
  };
}
