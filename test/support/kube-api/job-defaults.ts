/**
 * What the API server fills into a batch/v1 Job it stores (the defaulting and the Job
 * strategy's PrepareForCreate), and which fields an update may not change.
 */
import type { StatusCause } from './status.js';
import { isRecord, jsonEqual, type KubeObject } from './objects.js';

/** Spec defaults and the controller-uid selector/template labels, as on create. */
export function defaultJob(job: KubeObject): void {
  const { uid, name } = job.metadata;
  const spec = isRecord(job.spec) ? job.spec : {};
  job.spec = spec;
  const selectorLabels = { 'batch.kubernetes.io/controller-uid': uid };
  const template = isRecord(spec.template) ? spec.template : {};
  const templateMetadata = isRecord(template.metadata) ? template.metadata : {};
  const templateLabels = isRecord(templateMetadata.labels) ? templateMetadata.labels : {};
  if (spec.manualSelector !== true) {
    spec.template = {
      ...template,
      metadata: {
        ...templateMetadata,
        labels: { ...templateLabels, ...selectorLabels, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name },
      },
    };
    spec.selector ??= { matchLabels: selectorLabels };
  }
  spec.backoffLimit ??= 6;
  spec.completions ??= 1;
  spec.parallelism ??= 1;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  const podSpec = isRecord(spec.template) && isRecord(spec.template.spec) ? spec.template.spec : null;
  if (podSpec) {
    podSpec.dnsPolicy ??= 'ClusterFirst';
    podSpec.schedulerName ??= 'default-scheduler';
    podSpec.terminationGracePeriodSeconds ??= 30;
    podSpec.securityContext ??= {};
    if (Array.isArray(podSpec.containers)) {
      for (const container of podSpec.containers as unknown[]) {
        if (!isRecord(container)) continue;
        container.imagePullPolicy ??= typeof container.image === 'string' && /:latest$|^[^:]*$/.test(container.image) ? 'Always' : 'IfNotPresent';
        container.terminationMessagePath ??= '/dev/termination-log';
        container.terminationMessagePolicy ??= 'File';
        container.resources ??= {};
      }
    }
  }
}

/** For an update: keeps the server-set selector of `stored`, then defaults as on create. */
export function defaultJobUpdate(job: KubeObject, stored: KubeObject): void {
  const spec = isRecord(job.spec) ? job.spec : {};
  job.spec = spec;
  if (spec.selector === undefined && isRecord(stored.spec)) spec.selector = stored.spec.selector;
  defaultJob(job);
}

const IMMUTABLE = ['selector', 'template', 'completionMode'] as const;

/** Causes of a 422 for an update that changes what a Job may not change once created. */
export function jobImmutableCauses(next: KubeObject, stored: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const before = stored.spec ?? {};
  const after = next.spec ?? {};
  for (const field of IMMUTABLE) {
    if (!jsonEqual(before[field], after[field])) {
      causes.push({ reason: 'FieldValueInvalid', message: 'field is immutable', field: `spec.${field}` });
    }
  }
  if (before.completionMode === 'NonIndexed' && !jsonEqual(before.completions, after.completions)) {
    causes.push({ reason: 'FieldValueInvalid', message: 'field is immutable', field: 'spec.completions' });
  }
  return causes;
}
