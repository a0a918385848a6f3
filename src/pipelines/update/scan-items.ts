/**
 * What a pass works on, in order: the registered projects of feedless indexes without a
 * release (their page read, their releases recorded), the rows a serial sync queued (a
 * queued row is due too; checked first, it is no longer due when the due scan reaches it),
 * then the due rows. Among replicas each item says whether this replica claimed its project.
 */
import type { SchedulerLike } from 'rxjs';
import type { ProjectClaims } from '../../domain/ports.js';
import type { ProjectRef, StoredRelease } from '../../domain/types.js';
import type { Logger } from '../../runtime/logger.js';
import { claimedScan, type Claimed, type ClaimedScan } from '../claimed-scan.js';
import { UPDATE_PIPELINE, type UpdateOptions } from './options.js';
import type { PassStore } from './ports.js';
import { concatRows, mapRows, type Rows } from './rows.js';

export type DueItem = { readonly project: ProjectRef } | { readonly release: StoredRelease; readonly queued: boolean };

const refOfItem = (item: DueItem): ProjectRef => ('project' in item ? item.project : item.release);

export function dueItems(store: PassStore, options: Pick<UpdateOptions, 'pageSize' | 'all'>, now: Date): Rows<DueItem> {
  const { pageSize, all } = options;
  const queued = all ? null : (store.scanQueued?.({ pageSize }) ?? null);
  return concatRows<DueItem>([
    mapRows(store.unrecordedProjects({ pageSize }), (project) => ({ project })),
    ...(queued ? [mapRows(queued, (release) => ({ release, queued: true }))] : []),
    mapRows(store.scanDue({ now, pageSize, ...(all ? { all: true } : {}) }), (release) => ({ release, queued: false })),
  ]);
}

/** Alone on the database, every item is this replica's. */
export const unclaimed = (items: Rows<DueItem>): Rows<Claimed<DueItem>> => mapRows(items, (item) => ({ item, claimed: true }));

/** Among replicas, a pass claims its projects a batch (twice the concurrency) at a time. */
export function claimedItems(
  claims: ProjectClaims,
  items: Rows<DueItem>,
  context: { readonly concurrency: number; readonly since: Date; readonly scheduler: SchedulerLike; readonly logger?: Logger | undefined },
): ClaimedScan<DueItem> {
  return claimedScan(asAsync(items), refOfItem, claims, {
    batch: context.concurrency * 2,
    since: context.since,
    renewEveryMs: claims.ttlMs / 3,
    scheduler: context.scheduler,
    onError: (error, what) => context.logger?.warn({ err: error, pipeline: UPDATE_PIPELINE }, `update: could not ${what} project claims (they run out at their expiry)`),
  });
}

async function* asAsync<T>(rows: Rows<T>): AsyncGenerator<T> {
  yield* rows;
}
