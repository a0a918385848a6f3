/**
 * Work leases (`work_lease`): a named piece of work (an index's feeds, the dispatch leader)
 * held by one replica until its lease expires. Taking is one statement: it succeeds when
 * nobody holds the lease, the lease has expired, or the taker already holds it (a renewal),
 * so two replicas racing for it cannot both win. Expiry is the database's clock.
 */
import type { Queryable } from './sql.js';

/** Takes or renews `name` for `holder` for `ttlMs`; true when `holder` now holds it. */
export async function takeLease(db: Queryable, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const { rows } = await db.query<{ holder: string }>(
    `INSERT INTO work_lease (name, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE work_lease.holder = excluded.holder OR work_lease.expires_at < now()
     RETURNING holder`,
    [name, holder, ttlMs / 1000],
  );
  return rows[0]?.holder === holder;
}
