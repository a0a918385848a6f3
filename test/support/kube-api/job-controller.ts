/**
 * A built-in Job controller for demos and end-to-end runs: each new (unsuspended) Job
 * starts at once and, `runMs` later, completes (or fails when `outcome` says so, by default
 * when the Job has the annotation `kube-api.pkgstream.dev/outcome: Failed`); the TTL
 * controller then deletes finished Jobs after `ttlSecondsAfterFinished`.
 */
import { isFinishedJob, type StoredJob } from './objects.js';
import { failJob, startJob, succeedJob } from './job-status.js';
import { JOBS } from './resources.js';
import type { Store } from './store.js';

export const OUTCOME_ANNOTATION = 'kube-api.pkgstream.dev/outcome';

export interface JobControllerOptions {
  /** How long a Job runs before it finishes. */
  readonly runMs: number;
  readonly outcome?: (job: StoredJob) => 'Complete' | 'Failed';
}

const defaultOutcome = (job: StoredJob) => (job.metadata.annotations?.[OUTCOME_ANNOTATION] === 'Failed' ? 'Failed' : 'Complete');

/** Starts the controller on `store`; the returned function stops it. */
export function startJobController(store: Store, options: JobControllerOptions): () => void {
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<string>();
  const later = (ms: number, task: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      task();
    }, ms);
    timers.add(timer);
  };
  const exists = (job: StoredJob) => store.get(JOBS, job.metadata.namespace, job.metadata.name)?.metadata.uid === job.metadata.uid;

  const run = (job: StoredJob) => {
    const { namespace, name, uid } = job.metadata;
    running.add(uid);
    later(0, () => {
      if (!exists(job)) return;
      startJob(store, namespace, name);
      later(options.runMs, () => {
        const current = store.get(JOBS, namespace, name) as StoredJob | undefined;
        if (!current || current.metadata.uid !== uid || isFinishedJob(current)) return;
        const finished = (options.outcome ?? defaultOutcome)(current) === 'Failed' ? failJob(store, namespace, name) : succeedJob(store, namespace, name);
        const ttl = finished.spec.ttlSecondsAfterFinished;
        if (typeof ttl === 'number') later(ttl * 1000, () => exists(finished) && store.remove(JOBS, namespace, name));
      });
    });
  };

  const unsubscribe = store.subscribe((event) => {
    if (event.resource !== JOBS || event.type === 'DELETED') return;
    const job = event.object as StoredJob;
    if (running.has(job.metadata.uid) || job.spec.suspend === true || isFinishedJob(job)) return;
    run(job);
  });
  return () => {
    unsubscribe();
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };
}
