/**
 * The `update` pipeline: re-checks every known `(index, project, version)` against its
 * index, most due first, and turns each change of state into one event and a database
 * update (it replaces the integrity-checker batch job).
 *
 * One pass (`updatePass`, update/pass.ts):
 * - Reads `store.listIndexes()` once (again once for an index id it does not know:
 *   IndexLookup), then pulls the scan with `pullMap`: a row is taken only when one of
 *   `concurrency` slots is free, so at most `concurrency` rows plus the store's page are
 *   held, whatever the size of the table.
 * - First, every registered project of an index without feeds that has no release
 *   recorded yet (a `package add` there) has its page read and its releases recorded, so
 *   an index without feeds is watched too; then the rows a serial sync queued, then the
 *   due rows (update/scan-items.ts).
 * - ONE index request per project, not per version (ProjectLedger): the first row of a
 *   project in the pass fetches the project page (rate-limited per index host, retried on
 *   retriable errors, a 429's Retry-After pausing the host, a 404 read as `'not-found'`)
 *   and re-checks every known release of the project (`checkProject`: `applyChecks` on its
 *   releases with their events, then record the page's new versions). Every later row of
 *   that project in the pass is `skipped`. The projects done in the pass are remembered in
 *   a bounded LRU (`maxProjectsRemembered`).
 * - A project whose fetch, or whose store/sink work, still fails after its retries goes to
 *   the attention table, every due row of it seen in the pass is deferred to
 *   `now + deferOnFailureMs` (FailureRecorder), a `failed` outcome is emitted and the pass
 *   goes on: one item never errors the stream (a failed `listIndexes` fails the project
 *   that asked, and is read again by the next). Only the scan itself failing errors a pass.
 * - Ends with a `pass-complete` outcome (PassTally) and sets
 *   `pkgstream_last_successful_pass_...`.
 *
 * `updatePipeline` runs passes forever: the next starts `intervalMs` (scheduler time)
 * after the previous one completed; a pass that errors becomes a `pass-failed` outcome
 * (logged, counted as a restart) and the next pass still comes. The fetchers are shared by
 * all its passes.
 *
 * `stop` (both): once it emits, no new row is taken (the scan is closed), the projects in
 * flight finish, the pass completes, and no new pass starts.
 *
 * Both take the adapters (`UpdatePorts`), or the pass's edge over them (`PassPorts`, each
 * call an ObservableInput: what a marble spec drives in virtual time).
 */
import { catchError, defer, EMPTY, finalize, of, repeat, takeUntil, timer, type Observable, type ObservableInput } from 'rxjs';
import { errorCode } from '../domain/errors.js';
import { UPDATE_PIPELINE as pipeline, validate, type UpdateOptions, type UpdatePipelineOptions } from './update/options.js';
import type { UpdateOutcome } from './update/outcome.js';
import { runPass } from './update/pass.js';
import { passPortsOf, type PassPorts, type UpdatePorts } from './update/ports.js';
import { StopSignal } from './update/stop-signal.js';

export { UPDATE_PIPELINE, type UpdateOptions, type UpdatePipelineOptions } from './update/options.js';
export type { FailStage, SkipReason, UpdateOutcome } from './update/outcome.js';
export type { PassPorts, PassStore, ProjectWork, UpdatePorts } from './update/ports.js';

/** One pass over the due rows; completes after its `pass-complete` outcome. */
export function updatePass(ports: UpdatePorts | PassPorts, options: UpdateOptions): Observable<UpdateOutcome> {
  validate(options);
  return defer(() => {
    const stop = new StopSignal(options.stop);
    return runPass(edgeOf(ports, options), options, stop).pipe(finalize(() => stop.close()));
  });
}

/** Passes forever, `intervalMs` apart (from the end of one to the start of the next). */
export function updatePipeline(ports: UpdatePorts | PassPorts, options: UpdatePipelineOptions): Observable<UpdateOutcome> {
  validate(options);
  const { metrics } = options;
  return defer(() => {
    const edge = edgeOf(ports, options);
    const stop = new StopSignal(options.stop);
    metrics?.pipelineUp.set({ pipeline }, 1);
    return runPass(edge, options, stop).pipe(
      catchError((error: unknown) => of(passFailed(options, error))),
      repeat({ delay: () => pauseAfterPass(edge, options, stop) }),
      finalize(() => {
        stop.close();
        metrics?.pipelineUp.set({ pipeline }, 0);
      }),
    );
  });
}

const edgeOf = (ports: UpdatePorts | PassPorts, options: UpdateOptions): PassPorts => ('work' in ports ? ports : passPortsOf(ports, options));

/** A pass that errored (its scan failed): logged, counted as a restart, and the next pass still comes. */
function passFailed(options: UpdateOptions, error: unknown): UpdateOutcome {
  options.logger?.error({ err: error, pipeline }, 'update pass failed');
  options.metrics?.pipelineRestarts.inc({ pipeline });
  return { type: 'pass-failed', errorCode: errorCode(error), error };
}

/** The wait before the next pass; none comes once `stop` has emitted. */
function pauseAfterPass(edge: PassPorts, options: UpdatePipelineOptions, stop: StopSignal): ObservableInput<unknown> {
  if (stop.stopped) return EMPTY; // repeat completes
  const wait = timer(options.intervalMs, edge.scheduler);
  return options.stop ? wait.pipe(takeUntil(options.stop)) : wait;
}
