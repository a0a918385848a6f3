/**
 * The Kubernetes implementation of the JobScheduler port: one batch/v1 Job per
 * (release, solver) with a deterministic name, created through the API server; a repeat is
 * the server's 409 and reads `exists`. In dry-run mode the Job is only logged.
 */
import { BatchV1Api, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { EMPTY, NEVER, Subject, concat, of, takeUntil, type Observable, type SchedulerLike } from 'rxjs';
import { hasCode, PkgstreamError, type JobOutcome, type JobScheduler, type JobsWatchEvent, type SolverJobRequest } from '../domain/index.js';
import type { Logger, Metrics } from '../runtime/index.js';
import { buildSolverJob, type SolverJobOptions } from './job-builder.js';
import { isAlreadyExists, toJobError } from './job-errors.js';
import { loadJobTemplate, type JobTemplate } from './job-template.js';
import { watchSolverJobs, type JobsWatchOptions } from './jobs-watch.js';

export interface KubeJobSchedulerOptions extends Omit<SolverJobOptions, 'namespace'> {
  /** Required unless `dryRun`; in dry-run without one, watch() reports 0 active Jobs. */
  readonly kubeConfig?: KubeConfig | null;
  readonly namespace: string;
  /** Solver Job template; default the built-in src/sinks/templates/solver-job.yaml. */
  readonly templatePath?: string | null;
  /** Reverse-solver template; unset = requests with `template: 'reverse'` are refused (JOB_NO_TEMPLATE). */
  readonly reverseTemplatePath?: string | null;
  readonly dryRun?: boolean;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'jobs' | 'jobsActive' | 'jobOutcomes' | 'jobDuration'>;
  /** Tuning of the list+watch behind watch(). */
  readonly watch?: Omit<JobsWatchOptions, 'kubeConfig' | 'namespace' | 'logger' | 'metrics' | 'scheduler'>;
  readonly scheduler?: SchedulerLike;
}

export interface KubeJobScheduler extends JobScheduler {
  readonly dryRun: boolean;
  /** The Job schedule() would create for the request (nothing is sent). */
  buildJob(request: SolverJobRequest): V1Job;
}

interface SchedulerParts {
  readonly namespace: string;
  readonly dryRun: boolean;
  readonly batch: BatchV1Api | null;
  readonly log: Logger;
  readonly buildJob: (request: SolverJobRequest) => V1Job;
  readonly count: (request: SolverJobRequest, outcome: string) => void;
}

/** Loads the templates at once, so a broken template stops start-up rather than the first Job. */
export function createKubeJobScheduler(options: KubeJobSchedulerOptions): KubeJobScheduler {
  const { namespace, metrics } = options;
  const dryRun = options.dryRun ?? false;
  const kubeConfig = options.kubeConfig ?? null;
  if (!dryRun && kubeConfig === null) {
    throw new PkgstreamError('JOB_NO_CLUSTER', 'a Kubernetes configuration is required unless Jobs are only logged (dry run)');
  }
  const templates: Record<'solver' | 'reverse', JobTemplate | null> = {
    solver: loadJobTemplate(options.templatePath ?? undefined),
    reverse: options.reverseTemplatePath ? loadJobTemplate(options.reverseTemplatePath) : null,
  };
  const buildJob = (request: SolverJobRequest): V1Job => {
    const kind = request.template ?? 'solver';
    const template = templates[kind];
    if (!template) throw new PkgstreamError('JOB_NO_TEMPLATE', `no ${kind} Job template is configured`);
    return buildSolverJob(template, request, { ...options, namespace });
  };
  const parts: SchedulerParts = {
    namespace,
    dryRun,
    batch: kubeConfig?.makeApiClient(BatchV1Api) ?? null,
    log: options.logger.child({ component: 'job-sink', namespace, dryRun }),
    buildJob,
    count: (request, outcome) => metrics.jobs.inc({ solver: request.solver, outcome }),
  };
  const closed$ = new Subject<void>();
  let closed = false;
  return {
    dryRun,
    buildJob,
    schedule(request) {
      if (closed) return Promise.reject(new PkgstreamError('JOB_SCHEDULER_CLOSED', 'the Job scheduler is closed'));
      return scheduleJob(parts, request);
    },
    watch: () => (closed ? EMPTY : watchJobs(options, kubeConfig).pipe(takeUntil(closed$))),
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        closed$.next();
        closed$.complete();
      }
      return Promise.resolve();
    },
  };
}

/** Creates the request's Job (or logs it, in a dry run); the server's 409 is `exists`. */
async function scheduleJob(parts: SchedulerParts, request: SolverJobRequest): Promise<{ readonly jobName: string; readonly outcome: JobOutcome }> {
  const { log, count } = parts;
  let job: V1Job;
  try {
    job = parts.buildJob(request);
  } catch (error) {
    count(request, 'error');
    throw error;
  }
  const jobName = job.metadata?.name ?? '';
  const context = { job: jobName, solver: request.solver, project: request.project, version: request.version, indexUrl: request.indexUrl };
  if (parts.dryRun || parts.batch === null) {
    log.info({ ...context, manifest: job }, 'dry run: would create solver Job');
    count(request, 'dry_run');
    return { jobName, outcome: 'dry-run' };
  }
  try {
    await parts.batch.createNamespacedJob({ namespace: parts.namespace, body: job });
  } catch (error) {
    if (isAlreadyExists(error)) {
      log.debug(context, 'solver Job already exists');
      count(request, 'exists');
      return { jobName, outcome: 'exists' };
    }
    const mapped = toJobError(error, `create Job ${jobName}`);
    const refused = hasCode(mapped, 'JOB_QUOTA', 'JOB_RATE_LIMITED');
    count(request, refused ? 'refused' : 'error');
    log.warn({ ...context, code: mapped.code, retriable: mapped.retriable, retryAfterMs: mapped.retryAfterMs, err: mapped.message }, 'solver Job not created');
    throw mapped;
  }
  log.info(context, 'solver Job created');
  count(request, 'created');
  return { jobName, outcome: 'created' };
}

/** The namespace's solver Jobs as they change; without a cluster (a dry run), 0 active for ever. */
function watchJobs(options: KubeJobSchedulerOptions, kubeConfig: KubeConfig | null): Observable<JobsWatchEvent> {
  if (kubeConfig === null) return concat(of<JobsWatchEvent>({ type: 'active', count: 0 }), NEVER);
  return watchSolverJobs({
    ...options.watch,
    kubeConfig,
    namespace: options.namespace,
    logger: options.logger,
    metrics: options.metrics,
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
  });
}
