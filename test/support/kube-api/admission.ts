/**
 * What every write goes through before it is stored: name rules, validation, immutable
 * fields, the active-Job quota, field validation (`fieldValidation=Strict|Warn|Ignore`),
 * managedFields, and `dryRun=All` (everything but the store).
 */
import { answer, statusAnswer, type Answer } from './answer.js';
import { applyEntry, recordUpdate } from './managed-fields.js';
import { isFinishedJob, jsonEqual, type KubeObject } from './objects.js';
import { JOBS, type ResourceType } from './resources.js';
import { SCHEMAS, unknownFields } from './schemas.js';
import { failure, type StatusCause } from './status.js';
import type { Store } from './store.js';

export interface WriteContext {
  readonly store: Store;
  /** Most active Jobs per namespace. */
  readonly quota: Map<string, number>;
}

export interface WriteRequest {
  readonly params: URLSearchParams;
  /** The manager managedFields name: `fieldManager=`, else the User-Agent's product. */
  readonly manager: string;
  /** Server-side apply's configuration: managedFields are then the apply's, not an Update's. */
  readonly applied?: Record<string, unknown>;
}

export const isDryRun = (params: URLSearchParams) => params.getAll('dryRun').includes('All');

export const qualifiedName = (resource: ResourceType) => `${resource.plural}${resource.group === '' ? '' : `.${resource.group}`}`;

export function notFound(resource: ResourceType, name: string): Answer {
  return statusAnswer(failure(404, `${qualifiedName(resource)} ${JSON.stringify(name)} not found`, { details: { name, group: resource.group, kind: resource.plural } }));
}

export function invalid(resource: ResourceType, name: string, causes: readonly StatusCause[]): Answer {
  const summary = causes.map((c) => `${c.field ?? ''}: ${c.message}`).join(', ');
  return statusAnswer(failure(422, `${resource.kind}.${resource.group} ${JSON.stringify(name)} is invalid: ${summary}`, { details: { name, group: resource.group, kind: resource.kind, causes } }));
}

export function activeJobs(store: Store, namespace: string): number {
  return store.list(JOBS, namespace).filter((job) => !isFinishedJob(job)).length;
}

/** A 400 (Strict) or Warning headers (Warn, the server's default) for undeclared fields. */
function checkFields(resource: ResourceType, object: KubeObject, params: URLSearchParams): Answer | Record<string, string> {
  const mode = params.get('fieldValidation') ?? 'Warn';
  const schema = SCHEMAS[resource.kind];
  if (mode === 'Ignore' || schema === undefined) return {};
  const unknown = unknownFields(object, schema);
  if (unknown.length === 0) return {};
  if (mode === 'Strict') {
    return statusAnswer(failure(400, `${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`));
  }
  return { warning: unknown.map((f) => `299 - "unknown field \\"${f}\\""`).join(', ') };
}

/**
 * Validates `next` (the whole object as it would be stored), records its manager and
 * stores it unless dry-run. `stored` is the current object of an update, null on create.
 */
export function admit(context: WriteContext, resource: ResourceType, next: KubeObject, stored: KubeObject | null, request: WriteRequest): Answer {
  const { name, namespace } = next.metadata;
  const causes = [...resource.validate(next, name), ...(stored ? resource.immutable(next, stored) : [])];
  if (causes.length > 0) return invalid(resource, name, causes);
  const fields = checkFields(resource, next, request.params);
  if ('code' in fields) return fields as Answer;
  if (stored === null && resource === JOBS) {
    const limit = context.quota.get(namespace);
    const used = limit === undefined ? 0 : activeJobs(context.store, namespace);
    if (limit !== undefined && used >= limit) {
      return statusAnswer(failure(403, `jobs.batch ${JSON.stringify(name)} is forbidden: exceeded quota: pkgstream-jobs, requested: count/jobs.batch=1, used: count/jobs.batch=${used}, limited: count/jobs.batch=${limit}`, {
        details: { name, group: 'batch', kind: 'jobs' },
      }));
    }
  }
  if (stored && !jsonEqual(stored.spec, next.spec)) next.metadata.generation = stored.metadata.generation + 1;
  if (request.applied === undefined) recordUpdate(stored, next, request.manager);
  else if (stored === null) next.metadata.managedFields = [applyEntry(request.manager, next.apiVersion, request.applied)];
  if (stored && jsonEqual(stored, { ...next, metadata: { ...next.metadata, resourceVersion: stored.metadata.resourceVersion } })) {
    return answer(200, stored, fields); // a no-op write keeps the resourceVersion
  }
  if (isDryRun(request.params)) return answer(stored ? 200 : 201, next, fields);
  return answer(stored ? 200 : 201, context.store.save(resource, next), fields);
}
