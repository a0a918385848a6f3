/**
 * The update pipeline's ports, and the pass's thin edge over them. The adapters answer with
 * Promises (and the project fetcher and `checkProject` await them inside); the pass only
 * ever calls its edge through `defer`, each call answering with an ObservableInput, so a
 * marble spec can answer with cold observables and sync iterables in virtual time.
 */
import type { Observable, ObservableInput, SchedulerLike } from 'rxjs';
import type { AttentionFailure, IndexClient, PackageStore, PageValidatorStore, ProjectClaims } from '../../domain/ports.js';
import type { PackageIndex, ProjectRef, StoredRelease } from '../../domain/types.js';
import type { RetryOutcome } from '../../operators/retry-backoff.js';
import { createProjectFetcher, type CheckedPage, type ProjectRequest } from '../project-fetcher.js';
import { checkProject, type ProjectCheckInput, type ProjectCheckResult } from '../update-project.js';
import type { UpdateOptions } from './options.js';

export interface UpdatePorts {
  readonly store: PackageStore;
  readonly index: Pick<IndexClient, 'fetchProject'>;
  readonly scheduler: SchedulerLike;
  /** When given, page requests are conditional and a 304 is an unchanged check. */
  readonly validators?: PageValidatorStore;
  /**
   * Where the re-checks a serial sync queued (the index said the project changed) ask, when
   * not `index`: outside the verification share of the rate (PKGSTREAM_VERIFY_SHARE).
   */
  readonly changes?: Pick<IndexClient, 'fetchProject'>;
  /** Replicas sharing the database: each project of a pass is checked by the one that claims it. */
  readonly claims?: ProjectClaims;
}

type Rows<T> = AsyncIterable<T> | Iterable<T>;

/** What a pass asks of the store itself (`PackageStore` is one). */
export interface PassStore {
  listIndexes(): ObservableInput<readonly PackageIndex[]>;
  countDue(scan: { readonly now: Date; readonly all?: boolean }): ObservableInput<number>;
  unrecordedProjects(options: { readonly pageSize: number }): Rows<ProjectRef>;
  scanQueued?(options: { readonly pageSize: number }): Rows<StoredRelease>;
  scanDue(options: { readonly now: Date; readonly pageSize: number; readonly all?: boolean }): Rows<StoredRelease>;
  deferCheck(releaseId: number, until: Date): ObservableInput<void>;
  recordAttention(failure: AttentionFailure): ObservableInput<unknown>;
}

/** One project's work: its page (retries included), and its re-check once the page is read. */
export interface ProjectWork {
  /** `queued`: a serial sync queued the project; it is fetched outside the verification share. */
  fetch(request: ProjectRequest, queued: boolean): Observable<RetryOutcome<ProjectRequest, CheckedPage>>;
  check(input: ProjectCheckInput): ObservableInput<ProjectCheckResult>;
  /** Index requests made so far (attempts included). */
  requests(): number;
}

export interface PassPorts {
  readonly store: PassStore;
  readonly work: ProjectWork;
  readonly scheduler: SchedulerLike;
  readonly claims?: ProjectClaims | undefined;
}

/** The edge over the adapters: made once per pipeline, so its passes share the fetchers' rate limits. */
export function passPortsOf(ports: UpdatePorts, options: UpdateOptions): PassPorts {
  const { store, scheduler, validators } = ports;
  const fetcherOptions = { retry: options.retry, scheduler, ...(options.random ? { random: options.random } : {}) };
  const verify = createProjectFetcher(ports.index, fetcherOptions, validators);
  const changes = ports.changes ? createProjectFetcher(ports.changes, fetcherOptions, validators) : verify;
  const work: ProjectWork = {
    fetch: (request, queued) => (queued ? changes : verify).fetch(request),
    check: (input) => checkProject({ store, validators }, input),
    requests: () => verify.requests() + (changes === verify ? 0 : changes.requests()),
  };
  return { store, work, scheduler, claims: ports.claims };
}
