/**
 * This process as one replica among those sharing the database (issue 17): it heartbeats
 * its row every third of the lease TTL, shows the live count in `pkgstream_replicas_live`,
 * and hands out the `Leases` the pipelines take their exclusive work with (an index's
 * feeds, dispatch). Each beat's live count goes to `onLive` (the index rate is shared by
 * it); a replica joining others returns only once each of them has counted it (their
 * next beat, within a third of the TTL), so that the shares never add up to more than
 * the limit while it joins. On a clean stop it leaves at once, giving its leases up, so that another replica
 * takes over without waiting for the TTL; after a crash that takes the TTL.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { takeLease } from '../db/leases.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { heartbeatReplica, leaveReplica, replicasNotYetCounting, type ReplicaIdentity } from '../db/replicas.js';
import type { Queryable } from '../db/sql.js';
import { projectClaims } from '../db/claims.js';
import type { Leases, ProjectClaims } from '../domain/ports.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface Membership {
  readonly id: string;
  readonly leases: Leases;
  /** How this replica takes its share of an update pass. */
  readonly claims: ProjectClaims;
  /** Stops heartbeating and leaves (its row and leases deleted). */
  close(): Promise<void>;
}

export async function joinReplicas(options: {
  readonly db: Queryable;
  readonly ttlMs: number;
  readonly metrics: Pick<Metrics, 'replicasLive'>;
  readonly logger: Logger;
  /** Called with the live count (this replica included) on every heartbeat. */
  readonly onLive?: (live: number) => void;
  /** Ends the wait for the others to count this replica. */
  readonly signal?: AbortSignal;
}): Promise<Membership> {
  const { db, ttlMs, metrics, logger, onLive, signal } = options;
  // The pod name in Kubernetes; pid and a random part keep two processes of one host apart.
  const me: ReplicaIdentity = { id: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`, host: hostname(), pid: process.pid };
  const beat = async () => {
    const live = await heartbeatReplica(db, me, ttlMs);
    metrics.replicasLive.set(live);
    onLive?.(live);
  };
  await beat();
  await untilCountedByOthers(db, me.id, ttlMs, signal);
  logger.info({ replica: me.id, leaseTtlMs: ttlMs }, 'joined the replicas of this database');
  // A missed beat is the database being down, which its dependency check already shows.
  const timer = setInterval(() => void beat().catch((error: unknown) => logger.warn({ err: error, replica: me.id }, 'replica heartbeat failed')), ttlMs / 3);
  return {
    id: me.id,
    leases: { ttlMs, take: (name) => takeLease(db, name, me.id, ttlMs) },
    claims: projectClaims(db, me.id, ttlMs),
    async close() {
      clearInterval(timer);
      await leaveReplica(db, me.id).catch((error: unknown) => logger.warn({ err: error, replica: me.id }, 'leaving the replicas failed: its leases expire after the TTL'));
    },
  };
}

/** Polls until no live replica still counts without `id` (at most a third of the TTL, one beat of theirs). */
async function untilCountedByOthers(db: Queryable, id: string, ttlMs: number, signal?: AbortSignal): Promise<void> {
  const every = Math.min(1000, ttlMs / 10);
  while (!signal?.aborted && (await replicasNotYetCounting(db, id, ttlMs)) > 0) await sleep(every, undefined, { signal }).catch(() => undefined);
}
