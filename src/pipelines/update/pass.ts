/**
 * One update pass as a diagram: the rows due counted, then the scan's items pulled
 * `concurrency` at a time (pullMap: a row is taken only when a slot is free) and each
 * handled (a project checked, or the row skipped) while the progress ticks, then the
 * `pass-complete` outcome once the claims are given up (a replica's next pass starts clean).
 */
import { concat, connect, defer, EMPTY, endWith, finalize, ignoreElements, map, merge, of, takeUntil, tap, type Observable } from 'rxjs';
import type { ProjectRef, StoredRelease } from '../../domain/types.js';
import { pullMap } from '../../operators/pull-map.js';
import type { Claimed } from '../claimed-scan.js';
import { UPDATE_PIPELINE as pipeline, type UpdateOptions } from './options.js';
import { skipped, type PassComplete, type UpdateOutcome } from './outcome.js';
import { startPass, type PassContext } from './pass-context.js';
import type { PassPorts } from './ports.js';
import { checkProjectOf } from './project-check.js';
import type { InFlight } from './project-ledger.js';
import type { DueItem } from './scan-items.js';
import type { StopSignal } from './stop-signal.js';

export function runPass(ports: PassPorts, options: UpdateOptions, stop: StopSignal): Observable<UpdateOutcome> {
  return defer(() => {
    const pass = startPass(ports, options, stop);
    const checks = pullMap(pass.scan, (item) => handled(pass, item), {
      concurrency: options.concurrency,
      onInflight: (n) => options.metrics?.stageInflight.set({ pipeline, stage: 'scan' }, n),
    });
    return concat(pass.tracker.countDue(), withProgress(checks, pass.tracker.ticks()), completed(pass)).pipe(
      finalize(() => {
        options.metrics?.stageInflight.set({ pipeline, stage: 'scan' }, 0);
        void pass.claimed?.close(); // a pass cut off before it completed gives its claims up too
      }),
    );
  });
}

/** The checks' outcomes, with the progress ticking until they end. */
function withProgress(checks: Observable<UpdateOutcome>, ticks: Observable<never>): Observable<UpdateOutcome> {
  return checks.pipe(connect((shared) => merge(shared, ticks.pipe(takeUntil(shared.pipe(ignoreElements(), endWith(null)))))));
}

/** An item of the scan: a project another replica claimed is skipped, any other handled. */
function handled(pass: PassContext, { item, claimed }: Claimed<DueItem>): Observable<UpdateOutcome> {
  if ('project' in item) return claimed ? checked(pass, item.project, pass.ledger.project(item.project)) : EMPTY;
  const outcomes = claimed ? rowHandled(pass, item.release, item.queued) : of(skipped(item.release, 'project-claimed'));
  return outcomes.pipe(finalize(() => pass.options.metrics?.scanRowsDone.set({ pipeline }, pass.tally.rowFinished())));
}

/** A due row: the first of its project in the pass checks the project, every later one is skipped. */
function rowHandled(pass: PassContext, row: StoredRelease, queued: boolean): Observable<UpdateOutcome> {
  pass.tally.rowTaken();
  const decision = pass.ledger.row(row, row.id, queued);
  if ('check' in decision) return checked(pass, row, decision.check);
  if (decision.skip === 'project-failed') return concat(pass.check.failures.deferRows([row.id]), of(skipped(row, decision.skip)));
  return of(skipped(row, decision.skip));
}

/** A project's check; once it ends, its claim is given up and the ledger and tally know how. */
function checked(pass: PassContext, ref: ProjectRef, project: InFlight): Observable<UpdateOutcome> {
  pass.tally.projectStarted();
  return checkProjectOf(pass.check, ref, project).pipe(
    tap((outcome) => {
      pass.claimed?.release(ref);
      pass.ledger.end(ref, outcome.type);
      pass.tally.ended(outcome);
    }),
  );
}

/** The `pass-complete` outcome, once the claims still held are given up. */
function completed(pass: PassContext): Observable<PassComplete> {
  const { ports, options, tally, startedAt, claimed } = pass;
  const claimsGivenUp = claimed ? defer(() => claimed.close()) : of(undefined);
  return claimsGivenUp.pipe(
    map(() => {
      pass.tracker.finish();
      const finishedAt = new Date(ports.scheduler.now());
      options.metrics?.lastSuccessfulPass.set({ pipeline }, finishedAt.getTime() / 1000);
      const outcome = tally.complete({ startedAt, finishedAt, requests: ports.work.requests() - pass.requestsBefore });
      options.logger?.info({ pipeline, ...outcome, durationMs: finishedAt.getTime() - startedAt.getTime() }, 'update pass complete');
      return outcome;
    }),
  );
}
