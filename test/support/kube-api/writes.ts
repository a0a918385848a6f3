/**
 * Create, update (PUT), patch and delete of one object, as the apiserver's generic
 * registry does them: apiVersion/kind from the URL when the body lacks them, server-set
 * metadata, resourceVersion preconditions, status only through `/status`.
 */
import { randomUUID } from 'node:crypto';
import { admit, isDryRun, notFound, qualifiedName, type WriteContext, type WriteRequest } from './admission.js';
import { answer, statusAnswer, type Answer } from './answer.js';
import { clone, isRecord, timestamp, type KubeObject } from './objects.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { failure, success } from './status.js';
import { textOf } from './text-of.js';

export interface Target {
  readonly resource: ResourceType;
  readonly namespace: string;
  /** The name in the URL (null on create). */
  readonly name: string | null;
  readonly subresource: string | null;
}

type Decoded = { readonly object: Record<string, unknown> } | { readonly refused: Answer };

/** The body as an object of the URL's type (apiVersion and kind from the URL when absent), or the 400. */
export function asObject(resource: ResourceType, body: unknown): Decoded {
  if (!isRecord(body)) return { refused: statusAnswer(failure(400, `the body of the request is not a ${resource.kind} object`)) };
  const expected = apiVersionOf(resource);
  if (body.apiVersion !== undefined && body.apiVersion !== expected) {
    return { refused: statusAnswer(failure(400, `the API version in the data (${textOf(body.apiVersion)}) does not match the expected API version (${expected})`)) };
  }
  if (body.kind !== undefined && body.kind !== resource.kind) {
    return { refused: statusAnswer(failure(400, `the kind in the data (${textOf(body.kind)}) does not match the expected kind (${resource.kind})`)) };
  }
  return { object: { ...body, apiVersion: expected, kind: resource.kind } };
}

function nameOf(metadata: Record<string, unknown>): string {
  if (typeof metadata.name === 'string' && metadata.name !== '') return metadata.name;
  return typeof metadata.generateName === 'string' && metadata.generateName !== '' ? `${metadata.generateName}${Math.random().toString(36).slice(2, 7)}` : '';
}

export function createObject(context: WriteContext, target: Target, body: unknown, request: WriteRequest): Answer {
  const { resource, namespace } = target;
  const decoded = asObject(resource, body);
  if ('refused' in decoded) return decoded.refused;
  const { object } = decoded;
  const metadata = isRecord(object.metadata) ? clone(object.metadata) : {};
  if (typeof metadata.namespace === 'string' && metadata.namespace !== namespace) {
    return statusAnswer(failure(400, 'the namespace of the provided object does not match the namespace sent on the request'));
  }
  const name = nameOf(metadata);
  if (name === '') {
    return statusAnswer(failure(422, `${resource.kind}.${resource.group} "" is invalid: metadata.name: Required value: name or generateName is required`, {
      details: { group: resource.group, kind: resource.kind, causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }] },
    }));
  }
  if (context.store.get(resource, namespace, name)) {
    return statusAnswer(failure(409, `${qualifiedName(resource)} ${JSON.stringify(name)} already exists`, { details: { name, group: resource.group, kind: resource.plural } }));
  }
  for (const key of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields', 'deletionTimestamp', 'selfLink']) delete metadata[key];
  const stored: KubeObject = {
    ...clone(object),
    apiVersion: apiVersionOf(resource),
    kind: resource.kind,
    metadata: { ...metadata, name, namespace, uid: randomUUID(), resourceVersion: '', creationTimestamp: timestamp(), generation: 1 },
  };
  if (resource.statusSubresource) stored.status = {};
  resource.defaultOnCreate(stored);
  return admit(context, resource, stored, null, request);
}

/** `next` with what the server owns taken from `stored` (and only status for `/status`). */
function merged(resource: ResourceType, stored: KubeObject, next: Record<string, unknown>, subresource: string | null): KubeObject {
  const metadata = isRecord(next.metadata) ? clone(next.metadata) : {};
  const result: KubeObject = {
    ...clone(next),
    apiVersion: stored.apiVersion,
    kind: stored.kind,
    metadata: {
      ...metadata,
      name: stored.metadata.name,
      namespace: stored.metadata.namespace,
      uid: stored.metadata.uid,
      resourceVersion: stored.metadata.resourceVersion,
      creationTimestamp: stored.metadata.creationTimestamp,
      generation: stored.metadata.generation,
      ...(stored.metadata.managedFields ? { managedFields: clone(stored.metadata.managedFields) } : {}),
    },
  };
  if (subresource === 'status') return { ...clone(stored), status: clone(isRecord(next.status) ? next.status : {}) };
  if (resource.statusSubresource) result.status = clone(stored.status ?? {});
  return result;
}

/** PUT, and the last step of every patch: `next` replaces the stored object. */
export function updateObject(context: WriteContext, target: Target, next: unknown, request: WriteRequest): Answer {
  const { resource, namespace, name } = target;
  const decoded = asObject(resource, next);
  if ('refused' in decoded) return decoded.refused;
  const { object } = decoded;
  const stored = context.store.get(resource, namespace, name ?? '');
  if (!stored) return notFound(resource, name ?? '');
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  if (metadata.name !== undefined && metadata.name !== name) {
    return statusAnswer(failure(400, `the name of the object (${textOf(metadata.name)}) does not match the name on the URL (${String(name)})`));
  }
  const precondition = metadata.resourceVersion;
  if (typeof precondition === 'string' && precondition !== '' && precondition !== stored.metadata.resourceVersion) {
    return statusAnswer(failure(409, `Operation cannot be fulfilled on ${qualifiedName(resource)} ${JSON.stringify(name)}: the object has been modified; please apply your changes to the latest version and try again`, {
      reason: 'Conflict',
      details: { name: name ?? '', group: resource.group, kind: resource.plural },
    }));
  }
  const result = merged(resource, stored, object, target.subresource);
  if (request.applied !== undefined) result.metadata.managedFields = (object.metadata as KubeObject['metadata']).managedFields ?? [];
  if (target.subresource !== 'status') resource.defaultOnUpdate(result, stored);
  return admit(context, resource, result, stored, request);
}

export interface DeleteHooks {
  /** Runs after the answer for a Foreground delete: the garbage collector's part. */
  later(task: () => void): void;
}

export function deleteObject(context: WriteContext, target: Target, body: unknown, request: WriteRequest, hooks: DeleteHooks): Answer {
  const { resource, namespace, name } = target;
  const stored = context.store.get(resource, namespace, name ?? '');
  if (!stored) return notFound(resource, name ?? '');
  const options = isRecord(body) ? body : {};
  const preconditions = isRecord(options.preconditions) ? options.preconditions : {};
  if ((preconditions.uid !== undefined && preconditions.uid !== stored.metadata.uid) || (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== stored.metadata.resourceVersion)) {
    return statusAnswer(failure(409, `Precondition failed: UID in precondition: ${String(preconditions.uid)}, UID in object meta: ${stored.metadata.uid}`, { reason: 'Conflict' }));
  }
  const policy = request.params.get('propagationPolicy') ?? (typeof options.propagationPolicy === 'string' ? options.propagationPolicy : 'Orphan');
  if (!['Orphan', 'Background', 'Foreground'].includes(policy)) {
    return statusAnswer(failure(400, `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"`));
  }
  const dryRun = isDryRun(request.params) || (Array.isArray(options.dryRun) && options.dryRun.includes('All'));
  if (policy === 'Foreground') {
    const pending = { ...clone(stored), metadata: { ...clone(stored.metadata), deletionTimestamp: timestamp(), deletionGracePeriodSeconds: 0, finalizers: [...(stored.metadata.finalizers ?? []), 'foregroundDeletion'] } };
    if (dryRun) return answer(202, pending);
    const saved = context.store.save(resource, pending);
    hooks.later(() => context.store.remove(resource, namespace, stored.metadata.name));
    return answer(202, saved);
  }
  if (!dryRun) context.store.remove(resource, namespace, stored.metadata.name);
  return answer(200, success({ name: stored.metadata.name, group: resource.group, kind: resource.plural, uid: stored.metadata.uid }));
}
