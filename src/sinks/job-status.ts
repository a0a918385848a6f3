/**
 * A Kubernetes Job as pkgstream reads it: name, labels, annotations, and its phase (finished
 * once a Complete or Failed condition is True), from the typed list (Dates) or the raw watch
 * stream (strings) alike.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { JobPhase, JobStatus } from '../domain/index.js';

/** The shape of a Job as both the typed list (Dates) and the raw watch stream (strings) give it. */
export type AnyJob = V1Job | Record<string, unknown>;

export function isRecord(value: unknown): value is Record<string, unknown> {
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

export function metadataOf(job: AnyJob): Record<string, unknown> {
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
