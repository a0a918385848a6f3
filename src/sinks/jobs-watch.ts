/**
 * List+watch of pkgstream's solver Jobs: the active count and each Job's transition to
 * succeeded/failed, as an Observable. Lists, then watches from the list's resourceVersion;
 * re-lists when the server says that version is gone (410); reconnects with backoff when
 * the stream drops or the API answers 5xx; never reports a Job's finish twice in a process
 * (a bounded memory of Job uids).
 */
import { BatchV1Api, Watch, type KubeConfig } from '@kubernetes/client-node';
import { Observable, asyncScheduler, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { backoffDelay, type BackoffPolicy } from '../domain/backoff.js';
import { PkgstreamError, type JobsWatchEvent } from '../domain/index.js';
import type { Logger, Metrics } from '../runtime/index.js';
import { toJobError } from './job-errors.js';
import { LABEL_SOLVER, SOLVER_JOB_SELECTOR } from './job-naming.js';
import { SolverJobsState } from './solver-jobs-state.js';
import { watchConnection, type WatchEnd } from './watch-connection.js';

export { jobStatusOf } from './job-status.js';

export interface JobsWatchOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** Default: every Job pkgstream creates (SOLVER_JOB_SELECTOR). */
  readonly labelSelector?: string;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'jobsActive' | 'jobOutcomes' | 'jobDuration'>;
  /** The reconnect backoff's first delay (domain/backoff.ts). Default 500 ms. */
  readonly initialBackoffMs?: number;
  /** Default 30 s. */
  readonly maxBackoffMs?: number;
  /** Asks the server to end each watch after this long (it is then resumed). Default 300 s. */
  readonly watchTimeoutSeconds?: number;
  /** A watch silent for this long (not even a bookmark) is dropped and resumed. Default: timeout + 60 s. */
  readonly idleTimeoutMs?: number;
  /** How many finished Job uids are remembered so that a re-list does not report them again. Default 10 000. */
  readonly maxRemembered?: number;
  /** In [0, 1): the backoff's jitter (default Math.random; tests fix it). */
  readonly random?: () => number;
  /** Time for the backoff and idle timers. */
  readonly scheduler?: SchedulerLike;
}

/** How one subscription lists, watches and waits: what the reconnect loop drives. */
interface Follower {
  readonly log: Logger;
  readonly backoffPolicy: BackoffPolicy;
  readonly stopped: () => boolean;
  /** Lists the Jobs (publishing what changed); resolves with the list's resourceVersion. */
  readonly list: () => Promise<string>;
  /** One watch connection from `from`, following resourceVersions with `onVersion`. */
  readonly watch: (from: string, onVersion: (rv: string) => void) => Promise<WatchEnd>;
  /** Resolves after `ms` of scheduler time, or at once when stopped. */
  readonly sleep: (ms: number) => Promise<void>;
}

export function watchSolverJobs(options: JobsWatchOptions): Observable<JobsWatchEvent> {
  const { kubeConfig, namespace, logger, metrics } = options;
  const labelSelector = options.labelSelector ?? SOLVER_JOB_SELECTOR;
  const backoffPolicy = { baseDelayMs: options.initialBackoffMs ?? 500, maxDelayMs: options.maxBackoffMs ?? 30_000, random: options.random ?? Math.random };
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
  const idleTimeoutMs = options.idleTimeoutMs ?? (watchTimeoutSeconds + 60) * 1000;
  const scheduler = options.scheduler ?? asyncScheduler;
  const log = logger.child({ component: 'jobs-watch', namespace });

  return new Observable<JobsWatchEvent>((subscriber) => {
    const batch = kubeConfig.makeApiClient(BatchV1Api);
    const watcher = new Watch(kubeConfig);
    const state = new SolverJobsState(options.maxRemembered ?? 10_000);
    const publish = publisher(subscriber, metrics);
    let stopped = false;
    const cancels = new Set<() => void>();
    const follower: Follower = {
      log,
      backoffPolicy,
      stopped: () => stopped,
      list: async () => {
        const result = await batch.listNamespacedJob({ namespace, labelSelector });
        publish(state.listed(result.items));
        log.debug({ resourceVersion: result.metadata?.resourceVersion, active: state.activeCount }, 'listed solver Jobs');
        return result.metadata?.resourceVersion ?? '';
      },
      watch: async (from, onVersion) => {
        const path = `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`;
        const query = { resourceVersion: from, labelSelector, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds };
        const connection = watchConnection({ watcher, path, query, idleTimeoutMs, scheduler, log, onVersion, onChange: (type, object) => publish(state.changed(type, object)) });
        cancels.add(connection.stop);
        const end = await connection.ended;
        cancels.delete(connection.stop);
        return end;
      },
      sleep: (ms) => cancellableSleep(scheduler, cancels, ms),
    };
    follow(follower).then(
      () => subscriber.complete(),
      (error: unknown) => {
        if (!stopped) subscriber.error(toJobError(error, 'watch solver Jobs'));
      },
    );
    return () => {
      stopped = true;
      for (const cancel of [...cancels]) cancel();
    };
  });
}

/** Emits the events, keeping the Job metrics: the active gauge, each finish's outcome and duration. */
function publisher(subscriber: Subscriber<JobsWatchEvent>, metrics: JobsWatchOptions['metrics']): (events: readonly JobsWatchEvent[]) => void {
  return (events) => {
    for (const event of events) {
      if (event.type === 'active') metrics.jobsActive.set(event.count);
      else {
        const { job } = event;
        const solver = job.labels[LABEL_SOLVER] ?? 'unknown';
        metrics.jobOutcomes.inc({ solver, outcome: job.phase });
        if (job.startedAt && job.finishedAt) {
          metrics.jobDuration.observe({ solver, outcome: job.phase }, Math.max(0, (job.finishedAt.getTime() - job.startedAt.getTime()) / 1000));
        }
      }
      subscriber.next(event);
    }
  };
}

/** Resolves after `ms` of scheduler time; a cancel (kept in `cancels` meanwhile) resolves it at once. */
function cancellableSleep(scheduler: SchedulerLike, cancels: Set<() => void>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let subscription: Subscription | null = null;
    const cancel = () => {
      subscription?.unsubscribe();
      cancels.delete(cancel);
      resolve();
    };
    cancels.add(cancel);
    subscription = scheduler.schedule(cancel, ms);
  });
}

/** List, then watch from the list's version until stopped: re-list on 410, back off on failures. */
async function follow(f: Follower): Promise<void> {
  let resourceVersion: string | null = null;
  let failures = 0;
  const backoff = async (error: unknown, what: string) => {
    const mapped = toJobError(error, what);
    if (!mapped.retriable) throw mapped;
    failures += 1;
    const delay = backoffDelay(failures, mapped, f.backoffPolicy);
    f.log.warn({ code: mapped.code, err: mapped.message, failures, delayMs: Math.round(delay) }, `${what} failed; retrying`);
    await f.sleep(delay);
  };
  while (!f.stopped()) {
    if (resourceVersion === null) {
      try {
        resourceVersion = await f.list();
      } catch (error) {
        if (f.stopped()) return;
        await backoff(error, 'list solver Jobs');
        continue;
      }
    }
    if (f.stopped()) return;
    const end = await f.watch(resourceVersion, (rv) => (resourceVersion = rv));
    if (f.stopped() || end.kind === 'stopped') return;
    if (end.kind === 'gone') {
      f.log.info({ resourceVersion }, 'solver Jobs watch expired (410 Gone); re-listing');
      resourceVersion = null;
      // One 410 is routine; 410 after 410 without a useful watch in between backs off.
      if (failures > 0) await f.sleep(backoffDelay(failures, undefined, f.backoffPolicy));
      failures += 1;
    } else if (end.kind === 'failed') {
      await backoff(end.error, 'watch solver Jobs');
    } else if (end.events > 0 || end.lastedMs >= 1000) {
      // A server-side close (timeout, apiserver restart) of a useful watch: resume at once.
      failures = 0;
      f.log.debug({ resourceVersion, events: end.events }, 'solver Jobs watch closed; resuming');
    } else {
      await backoff(new PkgstreamError('JOB_WATCH_FAILED', 'watch closed at once'), 'watch solver Jobs');
    }
    // A watch that delivered events was healthy: the next failure starts from the first delay.
    if (end.kind === 'closed' && end.events > 0) failures = 0;
  }
}
