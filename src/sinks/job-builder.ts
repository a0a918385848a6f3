/**
 * Builds the batch/v1 Job for one solver request: the template rendered with the request's
 * values, then pkgstream's own name, namespace, labels, annotations and limits on top.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { SolverJobRequest } from '../domain/index.js';
import { renderJobTemplate, substitutePlaceholders, type JobTemplate, type JobTemplateValues } from './job-template.js';
import { solverJobAnnotations, solverJobLabels, solverJobName } from './job-naming.js';

export const DEFAULT_SOLVER_IMAGE = 'quay.io/pkgstream/solver:latest';
export const DEFAULT_TTL_SECONDS_AFTER_FINISHED = 3600;
export const DEFAULT_BACKOFF_LIMIT = 2;
export const DEFAULT_ACTIVE_DEADLINE_SECONDS = 3000;

export interface SolverJobOptions {
  readonly namespace: string;
  /** Fills `{{image}}`; default DEFAULT_SOLVER_IMAGE. */
  readonly image?: string;
  /** Replaces the solver container's args (placeholders allowed). */
  readonly args?: readonly string[];
  /** Extra env of the solver container (placeholders allowed); replaces entries of the same name. */
  readonly env?: Readonly<Record<string, string>>;
  /** These three override the template's values; the template's override the defaults above. */
  readonly ttlSecondsAfterFinished?: number;
  readonly backoffLimit?: number;
  readonly activeDeadlineSeconds?: number;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(parent: Json, key: string): Json {
  const existing = parent[key];
  if (isRecord(existing)) return existing;
  const created: Json = {};
  parent[key] = created;
  return created;
}

function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export function templateValues(request: SolverJobRequest, jobName: string, options: SolverJobOptions): JobTemplateValues {
  return {
    project: request.project,
    version: request.version,
    package: `${request.project}===${request.version}`,
    index_url: request.indexUrl,
    solver: request.solver,
    image: options.image ?? DEFAULT_SOLVER_IMAGE,
    job_name: jobName,
    namespace: options.namespace,
  };
}

/** The Job to create for `request`; a pure function of its arguments. */
export function buildSolverJob(template: JobTemplate, request: SolverJobRequest, options: SolverJobOptions): V1Job {
  const name = solverJobName(request);
  const values = templateValues(request, name, options);
  const job = renderJobTemplate(template, values);
  const labels = solverJobLabels(request);

  const metadata = record(job, 'metadata');
  delete metadata.generateName;
  metadata.name = name;
  metadata.namespace = options.namespace;
  metadata.labels = { ...stringMap(metadata.labels), ...labels };
  metadata.annotations = { ...stringMap(metadata.annotations), ...solverJobAnnotations(request) };

  const spec = record(job, 'spec');
  const pick = (option: number | undefined, key: string, fallback: number) => {
    const fromTemplate = spec[key];
    return option ?? (typeof fromTemplate === 'number' ? fromTemplate : fallback);
  };
  spec.ttlSecondsAfterFinished = pick(options.ttlSecondsAfterFinished, 'ttlSecondsAfterFinished', DEFAULT_TTL_SECONDS_AFTER_FINISHED);
  spec.backoffLimit = pick(options.backoffLimit, 'backoffLimit', DEFAULT_BACKOFF_LIMIT);
  spec.activeDeadlineSeconds = pick(options.activeDeadlineSeconds, 'activeDeadlineSeconds', DEFAULT_ACTIVE_DEADLINE_SECONDS);

  const podTemplate = record(spec, 'template');
  const podMetadata = record(podTemplate, 'metadata');
  podMetadata.labels = { ...stringMap(podMetadata.labels), ...labels };
  const podSpec = record(podTemplate, 'spec');
  const containers = Array.isArray(podSpec.containers) ? (podSpec.containers as unknown[]).filter(isRecord) : [];
  const solver = containers.find((c) => c.name === 'solver') ?? containers[0];
  if (solver) {
    if (options.args) solver.args = options.args.map((arg) => substitutePlaceholders(arg, values));
    if (options.env) {
      const extra = Object.entries(options.env).map(([envName, value]) => ({ name: envName, value: substitutePlaceholders(value, values) }));
      const current = Array.isArray(solver.env) ? (solver.env as unknown[]) : [];
      solver.env = [...current.filter((e) => !(isRecord(e) && Object.hasOwn(options.env ?? {}, String(e.name)))), ...extra];
    }
  }
  return job;
}
