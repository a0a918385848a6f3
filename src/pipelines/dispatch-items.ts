/**
 * The dispatch pipeline's plain data: work items (one per release × solver), their keys,
 * the Job request made of one, the events it publishes, and how a finished Job is traced
 * back to its release (from the annotations the Job sink writes).
 */
import { defer, mergeMap, of, type Observable, type ObservableInput } from 'rxjs';
import { canonicalizeName } from '../domain/pep503.js';
import type { UnsolvedItem } from '../domain/ports.js';
import type { JobStatus, PackageEvent, PackageIndex, SolverJobRequest, StoredRelease } from '../domain/types.js';

/** The solver name of the reverse-solver Job (and of its row in `solver_run`). */
export const REVERSE_SOLVER = 'reverse';

/** One solver Job to run: a stored release and a solver. */
export interface DispatchItem {
  readonly releaseId: number;
  readonly indexUrl: string;
  readonly project: string;
  readonly version: string;
  readonly solver: string;
  /**
   * Which Job of the pair this is: absent (or 1) for the first, n for the n-th after n-1
   * failed Jobs. A retry needs a Job name of its own, so the Job sink must name it.
   */
  readonly attempt?: number;
}

/** A `SolverJobRequest` with the attempt the Job sink must put into the Job's name. */
export type DispatchJobRequest = SolverJobRequest & { readonly attempt?: number };

/** `index_url|project|version|solver`: the dedupe key and the attention item key. */
export function dispatchItemKey(item: Pick<DispatchItem, 'indexUrl' | 'project' | 'version' | 'solver'>): string {
  return `${item.indexUrl}|${item.project}|${item.version}|${item.solver}`;
}

/** The configured solvers, plus the reverse solver in reverse mode; no repeats. */
export function dispatchSolvers(options: { readonly solvers: readonly string[]; readonly reverse: boolean }): string[] {
  const solvers = new Set(options.solvers);
  if (options.reverse) solvers.add(REVERSE_SOLVER);
  return [...solvers];
}

export function itemFromUnsolved(unsolved: UnsolvedItem): DispatchItem {
  const { releaseId, indexUrl, project, version, solver } = unsolved;
  return { releaseId, indexUrl, project, version, solver };
}

export function itemsOfRelease(release: StoredRelease, solvers: readonly string[]): DispatchItem[] {
  return solvers.map((solver) => ({
    releaseId: release.id,
    indexUrl: release.indexUrl,
    project: release.project,
    version: release.version,
    solver,
  }));
}

export function jobRequest(item: DispatchItem): DispatchJobRequest {
  const request: DispatchJobRequest = {
    indexUrl: item.indexUrl,
    project: item.project,
    version: item.version,
    solver: item.solver,
    template: item.solver === REVERSE_SOLVER ? 'reverse' : 'solver',
  };
  return item.attempt !== undefined && item.attempt > 1 ? { ...request, attempt: item.attempt } : request;
}

const sameIndex = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** The stored release an event or a Job names, or null when the store does not know it. */
export function resolveRelease(
  store: {
    listIndexes(): ObservableInput<readonly PackageIndex[]>;
    loadRelease(indexId: number, project: string, version: string): ObservableInput<StoredRelease | null>;
  },
  indexUrl: string,
  project: string,
  version: string,
): Observable<StoredRelease | null> {
  return defer(() => store.listIndexes()).pipe(
    mergeMap((indexes) => {
      const index = indexes.find((candidate) => sameIndex(candidate.simpleUrl, indexUrl));
      return index ? defer(() => store.loadRelease(index.id, canonicalizeName(project), version)) : of(null);
    }),
  );
}

// The keys src/sinks/job-naming.ts writes (read here by value: pipelines do not import sinks).
const ANNOTATION_INDEX_URL = 'pkgstream.dev/index-url';
const ANNOTATION_PROJECT = 'pkgstream.dev/project';
const ANNOTATION_VERSION = 'pkgstream.dev/version';
const ANNOTATION_SOLVER = 'pkgstream.dev/solver';
const LABEL_SOLVER = 'pkgstream.dev/solver';

/** What a Job's annotations say it solves; null when they do not name a release. */
export function describeJob(job: JobStatus): Omit<DispatchItem, 'releaseId' | 'attempt'> | null {
  const indexUrl = job.annotations[ANNOTATION_INDEX_URL];
  const project = job.annotations[ANNOTATION_PROJECT];
  const version = job.annotations[ANNOTATION_VERSION];
  const solver = job.annotations[ANNOTATION_SOLVER] ?? job.labels[LABEL_SOLVER];
  if (!indexUrl || !project || !version || !solver) return null;
  return { indexUrl, project, version, solver };
}

export function scheduledEvent(item: DispatchItem, jobName: string): PackageEvent {
  return {
    kind: 'solver-scheduled',
    indexUrl: item.indexUrl,
    project: item.project,
    version: item.version,
    solver: item.solver,
    fields: { job_name: jobName },
  };
}

export function finishedEvent(
  item: Omit<DispatchItem, 'releaseId' | 'attempt'>,
  job: JobStatus,
  outcome: 'succeeded' | 'failed',
): PackageEvent {
  const duration =
    job.startedAt && job.finishedAt ? Math.max(0, (job.finishedAt.getTime() - job.startedAt.getTime()) / 1000) : null;
  return {
    kind: 'solver-finished',
    indexUrl: item.indexUrl,
    project: item.project,
    version: item.version,
    solver: item.solver,
    fields: { job_name: job.name, outcome, duration_seconds: duration },
  };
}
