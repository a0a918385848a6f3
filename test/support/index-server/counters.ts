/** What the local index was asked: requests by route and status, peak rate and peak concurrency. */
import type { RouteName } from './routes.js';

export interface CountersSnapshot {
  readonly total: number;
  /** `byRoute[route][status]`. */
  readonly byRoute: Readonly<Record<string, Readonly<Record<number, number>>>>;
  /** The most requests that arrived within any one-second (sliding) window. */
  readonly maxPerSecond: number;
  /** The most requests being answered at once. */
  readonly maxInFlight: number;
  readonly inFlight: number;
}

export class RequestCounters {
  private total = 0;
  private byRoute = new Map<RouteName, Map<number, number>>();
  private window: number[] = [];
  private maxPerSecond = 0;
  private inFlight = 0;
  private maxInFlight = 0;

  /** A request arrived. */
  started(now: number): void {
    this.total += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    while (this.window.length > 0 && (this.window[0] ?? 0) <= now - 1000) this.window.shift();
    this.window.push(now);
    this.maxPerSecond = Math.max(this.maxPerSecond, this.window.length);
  }

  /** The request's status is decided. */
  answered(route: RouteName, status: number): void {
    let statuses = this.byRoute.get(route);
    if (!statuses) this.byRoute.set(route, (statuses = new Map<number, number>()));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }

  /** The request's connection is done with it (answered, or dropped). */
  ended(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** Requests answered, optionally only on one route and/or with one status. */
  count(route?: RouteName, status?: number): number {
    let n = 0;
    for (const [r, statuses] of this.byRoute) {
      if (route !== undefined && r !== route) continue;
      for (const [s, c] of statuses) if (status === undefined || s === status) n += c;
    }
    return n;
  }

  snapshot(): CountersSnapshot {
    const byRoute: Record<string, Record<number, number>> = {};
    for (const [route, statuses] of this.byRoute) byRoute[route] = Object.fromEntries(statuses);
    return { total: this.total, byRoute, maxPerSecond: this.maxPerSecond, maxInFlight: this.maxInFlight, inFlight: this.inFlight };
  }

  /** Zeroes everything except the requests in flight right now. */
  reset(): void {
    this.total = 0;
    this.byRoute.clear();
    this.window = [];
    this.maxPerSecond = 0;
    this.maxInFlight = this.inFlight;
  }
}
