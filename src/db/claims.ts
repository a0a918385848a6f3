/**
 * Project claims (`package_project.claimed_by`, `claim_expires_at`): how replicas split an
 * update pass. A replica claims a batch of due projects in one statement; it gets those
 * nobody else holds (unclaimed, its own, or expired) and that no replica has checked since
 * `since` (its pass's start), skipping rows another replica is claiming at that moment
 * (SKIP LOCKED) instead of waiting for it. Claims are renewed while their checks run and
 * given up when they end; a dead replica's run out at their expiry.
 */
import type { ProjectClaims } from '../domain/ports.js';
import type { ProjectRef } from '../domain/types.js';
import { projectKey } from '../domain/project-key.js';
import type { Queryable } from './sql.js';

export function projectClaims(db: Queryable, holder: string, ttlMs: number): ProjectClaims {
  return {
    ttlMs,
    claim: (projects, since) => claimProjects(db, holder, projects, since, ttlMs),
    renew: (projects) => setClaims(db, holder, projects, ttlMs),
    release: (projects) => setClaims(db, holder, projects, null),
  };
}

async function claimProjects(db: Queryable, holder: string, projects: readonly ProjectRef[], since: Date, ttlMs: number): Promise<ProjectRef[]> {
  if (projects.length === 0) return [];
  const { rows } = await db.query<{ index_id: number; project: string }>(
    `WITH wanted AS (
       SELECT p.index_id, p.project
         FROM package_project p
         JOIN unnest($1::int[], $2::text[]) AS w(index_id, project) ON p.index_id = w.index_id AND p.project = w.project
        WHERE (p.claimed_by IS NULL OR p.claimed_by = $3 OR p.claim_expires_at < now())
          AND NOT EXISTS (SELECT 1 FROM package_version v
                           WHERE v.index_id = p.index_id AND v.project = p.project
                             AND (v.last_checked_at >= $4 OR v.first_seen_at >= $4))
        FOR UPDATE OF p SKIP LOCKED
     )
     UPDATE package_project p SET claimed_by = $3, claim_expires_at = now() + make_interval(secs => $5)
       FROM wanted WHERE p.index_id = wanted.index_id AND p.project = wanted.project
     RETURNING p.index_id, p.project`,
    [projects.map((ref) => ref.indexId), projects.map((ref) => ref.project), holder, since, ttlMs / 1000],
  );
  const claimed = new Set(rows.map((row) => projectKey({ indexId: row.index_id, project: row.project })));
  return projects.filter((ref) => claimed.has(projectKey(ref)));
}

/** Renews the holder's claims on `projects` for `ttlMs`, or gives them up when it is null. */
async function setClaims(db: Queryable, holder: string, projects: readonly ProjectRef[], ttlMs: number | null): Promise<void> {
  if (projects.length === 0) return;
  await db.query(
    `UPDATE package_project p
        SET claimed_by = CASE WHEN $4::float8 IS NULL THEN NULL ELSE p.claimed_by END,
            claim_expires_at = now() + make_interval(secs => $4::float8)
       FROM unnest($1::int[], $2::text[]) AS w(index_id, project)
      WHERE p.index_id = w.index_id AND p.project = w.project AND p.claimed_by = $3`,
    [projects.map((ref) => ref.indexId), projects.map((ref) => ref.project), holder, ttlMs === null ? null : ttlMs / 1000],
  );
}

/** A replica that leaves gives up every claim it holds. */
export async function releaseAllClaims(db: Queryable, holder: string): Promise<void> {
  await db.query('UPDATE package_project SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = $1', [holder]);
}
