/**
 * The replicas of the service that share this database (`replica`): each heartbeats its
 * row; a row not renewed within the lease TTL is a replica that is gone. Times are the
 * database's (now()), so every replica judges liveness by the same clock.
 */
import { releaseAllClaims } from './claims.js';
import type { Queryable } from './sql.js';

export interface ReplicaIdentity {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
}

/** Renews (or creates) the replica's row; returns how many replicas are live, itself included. */
export async function heartbeatReplica(db: Queryable, replica: ReplicaIdentity, ttlMs: number): Promise<number> {
  await db.query(
    `INSERT INTO replica (id, host, pid) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
    [replica.id, replica.host, replica.pid],
  );
  // Rows dead for ten TTLs are no one's any more: keep the table to the recent past.
  await db.query(`DELETE FROM replica WHERE heartbeat_at < now() - make_interval(secs => $1::float8 * 10)`, [ttlMs / 1000]);
  const { rows } = await db.query<{ live: string }>(
    `SELECT count(*) AS live FROM replica WHERE heartbeat_at >= now() - make_interval(secs => $1)`,
    [ttlMs / 1000],
  );
  return Number(rows[0]?.live ?? 0);
}

/**
 * Live replicas other than `id` whose last heartbeat is not later than `id` joined: they
 * have not counted it yet, so they still take a share of the rate that leaves it none.
 */
export async function replicasNotYetCounting(db: Queryable, id: string, ttlMs: number): Promise<number> {
  const { rows } = await db.query<{ unaware: string }>(
    `SELECT count(*) AS unaware FROM replica other JOIN replica me ON me.id = $1
     WHERE other.id <> me.id AND other.heartbeat_at >= now() - make_interval(secs => $2) AND other.heartbeat_at <= me.started_at`,
    [id, ttlMs / 1000],
  );
  return Number(rows[0]?.unaware ?? 0);
}

/** A replica that stops cleanly leaves at once, so that the others need not wait the TTL. */
export async function leaveReplica(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM replica WHERE id = $1', [id]);
  await db.query('DELETE FROM work_lease WHERE holder = $1', [id]);
  await releaseAllClaims(db, id);
}
