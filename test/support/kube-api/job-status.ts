/** The status transitions the Job controller writes: started, succeeded, failed. */
import { clone, timestamp, type JobCondition, type StoredJob } from './objects.js';
import { JOBS } from './resources.js';
import type { Store } from './store.js';

function condition(type: string, reason: string, message: string): JobCondition {
  const now = timestamp();
  return { type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message };
}

function change(store: Store, namespace: string, name: string, update: (job: StoredJob) => void): StoredJob {
  const stored = store.get(JOBS, namespace, name);
  if (!stored) throw new Error(`no Job ${namespace}/${name}`);
  const job = clone(stored) as StoredJob;
  job.status ??= {};
  update(job);
  return clone(store.save(JOBS, job)) as StoredJob;
}

/** The Job's pod started (startTime, active=1). */
export function startJob(store: Store, namespace: string, name: string): StoredJob {
  return change(store, namespace, name, (job) => {
    job.status.startTime ??= timestamp();
    job.status.active = 1;
    job.status.ready = 0;
    job.status.terminating = 0;
  });
}

/** Complete=True (after SuccessCriteriaMet), succeeded=1, active=0, completionTime. */
export function succeedJob(store: Store, namespace: string, name: string): StoredJob {
  return change(store, namespace, name, (job) => {
    const now = timestamp();
    job.status.startTime ??= now;
    job.status.active = 0;
    job.status.ready = 0;
    job.status.succeeded = 1;
    job.status.completionTime = now;
    job.status.conditions = [
      ...(job.status.conditions ?? []),
      condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'),
      condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
    ];
  });
}

/** Failed=True (after FailureTarget; BackoffLimitExceeded by default), failed=backoffLimit+1, active=0. */
export function failJob(store: Store, namespace: string, name: string, options: { reason?: string; message?: string } = {}): StoredJob {
  return change(store, namespace, name, (job) => {
    job.status.startTime ??= timestamp();
    job.status.active = 0;
    job.status.ready = 0;
    const backoffLimit = typeof job.spec.backoffLimit === 'number' ? job.spec.backoffLimit : 6;
    job.status.failed = backoffLimit + 1;
    const reason = options.reason ?? 'BackoffLimitExceeded';
    const message = options.message ?? 'Job has reached the specified backoff limit';
    job.status.conditions = [...(job.status.conditions ?? []), condition('FailureTarget', reason, message), condition('Failed', reason, message)];
  });
}
