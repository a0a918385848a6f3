/**
 * An index's projects read again, for a feed's gap or a serial sync: the plan's projects
 * (gap-backfill.ts says which), pulled as slots free up, each page checked whole
 * (backfill-project.ts: one request a changed project), then the known projects gone from
 * the listing; the plan is done (its serial stored) only once every page is read.
 */
import { concat, defer, mergeMap, of, type Observable } from 'rxjs';
import type { FeedKind, PackageIndex } from '../domain/types.js';
import { pullMap } from '../operators/pull-map.js';
import { backfillProject } from './backfill-project.js';
import { afterWrite, type ReleasesContext } from './releases-context.js';
import type { ReleasesOutcome } from './releases-ports.js';

/** Why the index's projects are read again: a feed's gap, or a scheduled (or `once sync`) serial sync. */
export type BackfillReason = { readonly kind: 'gap'; readonly feed: FeedKind; readonly since: Date; readonly until: Date } | { readonly kind: 'sync' };

export function backfill(context: ReleasesContext, index: PackageIndex, reason: BackfillReason): Observable<ReleasesOutcome> {
  const { ports, options } = context;
  const observe = { ...(options.logger ? { logger: options.logger } : {}), ...(options.metrics ? { metrics: options.metrics } : {}) };
  const where = reason.kind === 'gap' ? { feed: reason.feed, since: reason.since, until: reason.until } : {};
  return defer(() => ports.backfill.plan(index, reason.kind, observe)).pipe(
    mergeMap((plan) => {
      const what = reason.kind === 'gap' ? 'feed gap: backfilling' : 'serial sync: reading';
      options.logger?.[reason.kind === 'gap' ? 'warn' : 'info']({ index: index.simpleUrl, ...where, basis: plan.basis }, `${what} (${plan.basis})`);
      let projects = 0;
      const gone: string[] = [];
      const { concurrency } = options;
      const pages = pullMap(plan.projects, (project: string) => (projects++, backfillProject(context, index, project, plan, plan.listed)), { concurrency });
      const deleted = pullMap(plan.gone(), (project: string) => (gone.push(project), backfillProject(context, index, project, plan, false)), { concurrency });
      const done = afterWrite(
        () => plan.done(),
        () => {
          if (gone.length > 0) options.logger?.warn({ index: index.simpleUrl, projects: gone.length, first: gone.slice(0, 20) }, 'projects gone from the root listing: checked');
          options.logger?.info({ index: index.simpleUrl, ...where, basis: plan.basis, projects, gone: gone.length }, reason.kind === 'gap' ? 'feed gap backfilled' : 'serial sync done');
          return of({ type: 'synced', indexUrl: index.simpleUrl, basis: plan.basis, projects, gone: gone.length } as const);
        },
      );
      return concat(pages, deleted, done);
    }),
  );
}
