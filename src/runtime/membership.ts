/**
 * This process as one replica among those sharing the database (issue 17): it heartbeats
 * its row every third of the lease TTL, shows the live count in `pkgstream_replicas_live`,
 * and hands out the `Leases` the pipelines take their exclusive work with (an index's
 * feeds). On a clean stop it leaves at once, giving its leases up, so that another replica
 * takes over without waiting for the TTL; after a crash that takes the TTL.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { takeLease } from '../db/leases.js';
import { heartbeatReplica, leaveReplica, type ReplicaIdentity } from '../db/replicas.js';
import type { Queryable } from '../db/sql.js';
import type { Leases } from '../domain/ports.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface Membership {
  readonly id: string;
  readonly leases: Leases;
  /** Stops heartbeating and leaves (its row and leases deleted). */
  close(): Promise<void>;
}

export async function joinReplicas(options: {
  readonly db: Queryable;
  readonly ttlMs: number;
  readonly metrics: Pick<Metrics, 'replicasLive'>;
  readonly logger: Logger;
}): Promise<Membership> {
  const { db, ttlMs, metrics, logger } = options;
  // The pod name in Kubernetes; pid and a random part keep two processes of one host apart.
  const me: ReplicaIdentity = { id: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`, host: hostname(), pid: process.pid };
  const beat = async () => metrics.replicasLive.set(await heartbeatReplica(db, me, ttlMs));
  await beat();
  logger.info({ replica: me.id, leaseTtlMs: ttlMs }, 'joined the replicas of this database');
  // A missed beat is the database being down, which its dependency check already shows.
  const timer = setInterval(() => void beat().catch((error: unknown) => logger.warn({ err: error, replica: me.id }, 'replica heartbeat failed')), ttlMs / 3);
  return {
    id: me.id,
    leases: { ttlMs, take: (name) => takeLease(db, name, me.id, ttlMs) },
    async close() {
      clearInterval(timer);
      await leaveReplica(db, me.id).catch((error: unknown) => logger.warn({ err: error, replica: me.id }, 'leaving the replicas failed: its leases expire after the TTL'));
    },
  };
}
