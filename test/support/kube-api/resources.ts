/**
 * The resource types the local API server serves: how each is named in discovery, what the
 * server defaults and validates, which field selectors it supports and its Table columns.
 */
import { humanDuration } from './duration.js';
import { defaultJob, defaultJobUpdate, jobImmutableCauses } from './job-defaults.js';
import { isRecord, type KubeObject } from './objects.js';
import type { StatusCause } from './status.js';
import { isDns1123Subdomain, validateJob } from './validation.js';
import { textOf } from './text-of.js';

export interface ColumnDefinition {
  readonly name: string;
  readonly type: 'string' | 'integer';
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** Whether `/status` is a subresource (status is then ignored on the main resource). */
  readonly statusSubresource: boolean;
  defaultOnCreate(object: KubeObject): void;
  defaultOnUpdate(object: KubeObject, stored: KubeObject): void;
  validate(object: Record<string, unknown>, name: string): StatusCause[];
  immutable(next: KubeObject, stored: KubeObject): StatusCause[];
  /** Supported `fieldSelector` fields beyond metadata.name and metadata.namespace. */
  readonly fields: Readonly<Record<string, (object: KubeObject) => string>>;
  readonly columns: readonly ColumnDefinition[];
  cells(object: KubeObject, now: number): unknown[];
}

export const apiVersionOf = (type: Pick<ResourceType, 'group' | 'version'>): string => (type.group === '' ? type.version : `${type.group}/${type.version}`);

const column = (name: string, type: ColumnDefinition['type'], description: string, priority = 0, format = ''): ColumnDefinition => ({ name, type, format, description, priority });
const nameColumn = column('Name', 'string', 'Name must be unique within a namespace.', 0, 'name');
const ageColumn = column('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.');
const age = (object: KubeObject, now: number) => humanDuration(now - Date.parse(object.metadata.creationTimestamp));

function jobStatusCell(status: Record<string, unknown>): string {
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]).filter(isRecord) : [];
  const holds = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  if (holds('Complete')) return 'Complete';
  if (holds('Failed')) return 'Failed';
  if (holds('Suspended')) return 'Suspended';
  if (holds('FailureTarget')) return 'FailureTarget';
  if (holds('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

function jobCells(job: KubeObject, now: number): unknown[] {
  const spec = job.spec ?? {};
  const status = job.status ?? {};
  const completions = `${Number(status.succeeded ?? 0)}/${typeof spec.completions === 'number' ? spec.completions : 1}`;
  const start = typeof status.startTime === 'string' ? Date.parse(status.startTime) : null;
  const end = typeof status.completionTime === 'string' ? Date.parse(status.completionTime) : now;
  const template = isRecord(spec.template) && isRecord(spec.template.spec) ? spec.template.spec : {};
  const containers = Array.isArray(template.containers) ? (template.containers as unknown[]).filter(isRecord) : [];
  const selector = isRecord(spec.selector) && isRecord(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
  return [
    job.metadata.name,
    jobStatusCell(status),
    completions,
    start === null ? '' : humanDuration(end - start),
    age(job, now),
    containers.map((c) => String(c.name)).join(','),
    containers.map((c) => String(c.image)).join(','),
    Object.entries(selector).map(([k, v]) => `${k}=${String(v)}`).join(','),
  ];
}

export const JOBS: ResourceType = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  shortNames: [],
  categories: ['all'],
  statusSubresource: true,
  defaultOnCreate: defaultJob,
  defaultOnUpdate: defaultJobUpdate,
  validate: validateJob,
  immutable: jobImmutableCauses,
  fields: { 'status.successful': (job) => String(Number((job.status ?? {}).succeeded ?? 0)) },
  columns: [
    nameColumn,
    column('Status', 'string', 'Status of the job.'),
    column('Completions', 'string', 'The desired number of successfully finished pods the job should be run with.'),
    column('Duration', 'string', 'Time required to complete the job.'),
    ageColumn,
    column('Containers', 'string', 'Names of each container in the template.', 1),
    column('Images', 'string', 'Images referenced by each container in the template.', 1),
    column('Selector', 'string', 'A label query over pods that should match the pod count.', 1),
  ],
  cells: jobCells,
};

function defaultLease(lease: KubeObject): void {
  lease.spec ??= {};
}

function validateLease(object: Record<string, unknown>, name: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!isDns1123Subdomain(name)) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain`, field: 'metadata.name' });
  const spec = isRecord(object.spec) ? object.spec : {};
  const duration = spec.leaseDurationSeconds;
  if (duration !== undefined && (typeof duration !== 'number' || !Number.isInteger(duration) || duration <= 0)) {
    causes.push({ reason: 'FieldValueInvalid', message: 'must be greater than 0', field: 'spec.leaseDurationSeconds' });
  }
  return causes;
}

export const LEASES: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  shortNames: [],
  categories: [],
  statusSubresource: false,
  defaultOnCreate: defaultLease,
  defaultOnUpdate: defaultLease,
  validate: validateLease,
  immutable: () => [],
  fields: {},
  columns: [nameColumn, column('Holder', 'string', 'HolderIdentity contains the identity of the holder of a current lease.'), ageColumn],
  cells: (lease, now) => [lease.metadata.name, textOf((lease.spec ?? {}).holderIdentity ?? ''), age(lease, now)],
};

export const RESOURCE_TYPES: readonly ResourceType[] = [JOBS, LEASES];

export function resourceTypeOf(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((type) => type.group === group && type.version === version && type.plural === plural);
}
