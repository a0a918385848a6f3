/**
 * List+watch of pkgstream's solver Jobs: the active count and each Job's transition to
 * succeeded/failed, as an Observable. Lists, then watches from the list's resourceVersion;
 * re-lists when the server says that version is gone (410); reconnects with backoff when
 * the stream drops or the API answers 5xx; never reports a Job's finish twice in a process
 * (a bounded memory of Job uids).
 */
import { LRUCache } from 'lru-cache';
import { BatchV1Api, Watch, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { Observable, asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { backoffDelay } from '../domain/backoff.js';
import type { JobPhase, JobStatus, JobsWatchEvent } from '../domain/index.js';
import type { Logger, Metrics } from '../runtime/index.js';
import { isGone, toJobError } from './job-errors.js';
import { LABEL_SOLVER, SOLVER_JOB_SELECTOR } from './job-naming.js';

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

/** The shape of a Job as both the typed list (Dates) and the raw watch stream (strings) give it. */
type AnyJob = V1Job | Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toDate(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== 'string' || value === '') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

function metadataOf(job: AnyJob): Record<string, unknown> {
  const metadata = (job as Record<string, unknown>).metadata;
  return isRecord(metadata) ? metadata : {};
}

/** What the watch reports about a Job: finished once a Complete or Failed condition is True. */
export function jobStatusOf(job: AnyJob): JobStatus {
  const metadata = metadataOf(job);
  const rawStatus = (job as Record<string, unknown>).status;
  const status = isRecord(rawStatus) ? rawStatus : {};
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]).filter(isRecord) : [];
  const holds = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
  const complete = holds('Complete');
  const failed = holds('Failed');
  const phase: JobPhase = complete ? 'succeeded' : failed ? 'failed' : 'active';
  const finishedCondition = complete ?? failed;
  return {
    name: typeof metadata.name === 'string' ? metadata.name : '',
    phase,
    labels: stringMap(metadata.labels),
    annotations: stringMap(metadata.annotations),
    startedAt: toDate(status.startTime) ?? toDate(metadata.creationTimestamp),
    finishedAt: phase === 'active' ? null : (toDate(status.completionTime) ?? toDate(finishedCondition?.lastTransitionTime) ?? null),
  };
}

type WatchEnd =
  | { readonly kind: 'closed'; readonly events: number; readonly lastedMs: number }
  | { readonly kind: 'gone' }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'stopped' };

export function watchSolverJobs(options: JobsWatchOptions): Observable<JobsWatchEvent> {
  const { kubeConfig, namespace, logger, metrics } = options;
  const labelSelector = options.labelSelector ?? SOLVER_JOB_SELECTOR;
  const initialBackoffMs = options.initialBackoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const backoffPolicy = { baseDelayMs: initialBackoffMs, maxDelayMs: maxBackoffMs, random: options.random ?? Math.random };
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
  const idleTimeoutMs = options.idleTimeoutMs ?? (watchTimeoutSeconds + 60) * 1000;
  const scheduler = options.scheduler ?? asyncScheduler;
  const log = logger.child({ component: 'jobs-watch', namespace });

  return new Observable<JobsWatchEvent>((subscriber) => {
    const batch = kubeConfig.makeApiClient(BatchV1Api);
    const watcher = new Watch(kubeConfig);
    /** Names of the Jobs active now: kept as events come, so counting is O(1) per event. */
    const active = new Set<string>();
    const reported = new LRUCache<string, true>({ max: options.maxRemembered ?? 10_000 });
    let lastActive: number | null = null;
    let stopped = false;
    const cancels = new Set<() => void>();

    const publishActive = () => {
      const count = active.size;
      if (count === lastActive) return;
      lastActive = count;
      metrics.jobsActive.set(count);
      subscriber.next({ type: 'active', count });
    };

    /** Records a Job's state; reports its finish the first time it is seen finished. */
    const observe = (job: AnyJob) => {
      const status = jobStatusOf(job);
      if (status.name === '') return;
      const metadata = metadataOf(job);
      const uid = typeof metadata.uid === 'string' ? metadata.uid : `${status.name}@${String(metadata.creationTimestamp)}`;
      if (status.phase === 'active') active.add(status.name);
      else active.delete(status.name);
      if (status.phase === 'active' || reported.has(uid)) return;
      reported.set(uid, true);
      const solver = status.labels[LABEL_SOLVER] ?? 'unknown';
      metrics.jobOutcomes.inc({ solver, outcome: status.phase });
      if (status.startedAt && status.finishedAt) {
        metrics.jobDuration.observe({ solver, outcome: status.phase }, Math.max(0, (status.finishedAt.getTime() - status.startedAt.getTime()) / 1000));
      }
      subscriber.next({ type: 'finished', job: status });
    };

    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        let subscription: Subscription | null = null;
        const cancel = () => {
          subscription?.unsubscribe();
          cancels.delete(cancel);
          resolve();
        };
        cancels.add(cancel);
        subscription = scheduler.schedule(cancel, ms);
      });

    const list = async (): Promise<string> => {
      const result = await batch.listNamespacedJob({ namespace, labelSelector });
      active.clear(); // the list is the whole truth: Jobs deleted while unwatched are gone
      for (const item of result.items) observe(item);
      publishActive();
      return result.metadata?.resourceVersion ?? '';
    };

    /** One watch connection from `from`; resolves when it ends, with why. `onVersion` follows resourceVersions. */
    const watchOnce = (from: string, onVersion: (rv: string) => void) =>
      new Promise<WatchEnd>((resolve) => {
        const started = scheduler.now();
        let events = 0;
        let ended = false;
        let gone = false;
        let errorEvent: unknown = null;
        let controller: AbortController | null = null;
        let idle: Subscription | null = null;
        const finish = (end: WatchEnd) => {
          if (ended) return;
          ended = true;
          idle?.unsubscribe();
          cancels.delete(stop);
          controller?.abort();
          resolve(end);
        };
        const stop = () => finish({ kind: 'stopped' });
        cancels.add(stop);
        const armIdle = () => {
          idle?.unsubscribe();
          idle = scheduler.schedule(() => {
            log.warn({ idleTimeoutMs }, 'solver Jobs watch silent for too long; reconnecting');
            finish({ kind: 'failed', error: new Error(`watch idle for ${idleTimeoutMs} ms`) });
          }, idleTimeoutMs);
        };
        armIdle();
        watcher
          .watch(
            `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`,
            { resourceVersion: from, labelSelector, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds },
            (type: string, object: unknown) => {
              if (ended) return;
              armIdle();
              if (type === 'ERROR') {
                const status = isRecord(object) ? object : {};
                if (status.code === 410) gone = true;
                else errorEvent = new Error(`watch ERROR event: ${String(status.code)} ${String(status.reason)} ${String(status.message)}`);
                controller?.abort();
                return;
              }
              if (!isRecord(object)) return;
              const rv = metadataOf(object).resourceVersion;
              if (typeof rv === 'string' && rv !== '') onVersion(rv);
              if (type === 'BOOKMARK') return;
              events += 1;
              observe(object);
              if (type === 'DELETED') {
                const name = metadataOf(object).name;
                if (typeof name === 'string') active.delete(name);
              }
              publishActive();
            },
            (error: unknown) => {
              if (gone || isGone(error)) finish({ kind: 'gone' });
              else if (errorEvent !== null) finish({ kind: 'failed', error: errorEvent });
              else if (error) finish({ kind: ended ? 'stopped' : 'failed', error });
              else finish({ kind: 'closed', events, lastedMs: scheduler.now() - started });
            },
          )
          .then(
            (c) => {
              controller = c;
              if (ended) c.abort();
            },
            (error: unknown) => finish({ kind: 'failed', error }),
          );
      });

    const run = async () => {
      let resourceVersion: string | null = null;
      let failures = 0;
      const backoff = async (error: unknown, what: string) => {
        const mapped = toJobError(error, what);
        if (!mapped.retriable) throw mapped;
        failures += 1;
        const delay = backoffDelay(failures, mapped, backoffPolicy);
        log.warn({ code: mapped.code, err: mapped.message, failures, delayMs: Math.round(delay) }, `${what} failed; retrying`);
        await sleep(delay);
      };
      while (!stopped) {
        if (resourceVersion === null) {
          try {
            resourceVersion = await list();
            log.debug({ resourceVersion, active: active.size }, 'listed solver Jobs');
          } catch (error) {
            if (stopped) return;
            await backoff(error, 'list solver Jobs');
            continue;
          }
        }
        if (stopped) return;
        const end = await watchOnce(resourceVersion, (rv) => (resourceVersion = rv));
        if (stopped || end.kind === 'stopped') return;
        if (end.kind === 'gone') {
          log.info({ resourceVersion }, 'solver Jobs watch expired (410 Gone); re-listing');
          resourceVersion = null;
          // One 410 is routine; 410 after 410 without a useful watch in between backs off.
          if (failures > 0) await sleep(backoffDelay(failures, undefined, backoffPolicy));
          failures += 1;
        } else if (end.kind === 'failed') {
          await backoff(end.error, 'watch solver Jobs');
        } else if (end.events > 0 || end.lastedMs >= 1000) {
          // A server-side close (timeout, apiserver restart) of a useful watch: resume at once.
          failures = 0;
          log.debug({ resourceVersion, events: end.events }, 'solver Jobs watch closed; resuming');
        } else {
          await backoff(new Error('watch closed at once'), 'watch solver Jobs');
        }
        // A watch that delivered events was healthy: the next failure starts from the first delay.
        if (end.kind === 'closed' && end.events > 0) failures = 0;
      }
    };

    run().then(
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
