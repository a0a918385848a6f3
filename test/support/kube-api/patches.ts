/**
 * PATCH by media type: JSON merge, strategic merge, JSON patch, and server-side apply
 * (`application/apply-patch+yaml` with `fieldManager` and `force`), which also creates.
 */
import { notFound, type WriteContext, type WriteRequest } from './admission.js';
import { statusAnswer, type Answer } from './answer.js';
import { applyConfiguration } from './managed-fields.js';
import { jsonPatch, mergePatch } from './merge-patch.js';
import { isRecord } from './objects.js';
import { failure } from './status.js';
import { strategicMerge } from './strategic-merge.js';
import { createObject, updateObject, type Target } from './writes.js';
import { textOf } from './text-of.js';

const PATCHERS: Readonly<Record<string, (stored: unknown, patch: unknown) => unknown>> = {
  'application/merge-patch+json': mergePatch,
  'application/strategic-merge-patch+json': strategicMerge,
  'application/json-patch+json': jsonPatch,
};

function serverSideApply(context: WriteContext, target: Target, body: unknown, request: WriteRequest): Answer {
  const { resource, namespace, name } = target;
  if (!request.params.get('fieldManager')) {
    return statusAnswer(failure(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'));
  }
  if (!isRecord(body) || body.apiVersion === undefined || body.kind === undefined) {
    return statusAnswer(failure(400, 'apply patches must specify apiVersion and kind'));
  }
  const metadata = isRecord(body.metadata) ? body.metadata : {};
  if (metadata.name !== undefined && metadata.name !== name) {
    return statusAnswer(failure(400, `the name of the object (${textOf(metadata.name)}) does not match the name on the URL (${String(name)})`));
  }
  const applying = { ...request, applied: body };
  const stored = context.store.get(resource, namespace, name ?? '');
  if (!stored) return createObject(context, target, { ...body, metadata: { ...metadata, name } }, applying);
  const { object, conflicts } = applyConfiguration(stored, body, request.manager, request.params.get('force') === 'true');
  if (conflicts.length > 0) {
    const list = conflicts.map((c) => `${c.message}: ${c.field ?? ''}`).join('\n- ');
    return statusAnswer(failure(409, `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts.length === 1 ? list : `\n- ${list}`}`, {
      reason: 'Conflict',
      details: { name: name ?? '', group: resource.group, kind: resource.plural, causes: conflicts },
    }));
  }
  return updateObject(context, target, object, applying);
}

export function patchObject(context: WriteContext, target: Target, body: unknown, contentType: string, request: WriteRequest): Answer {
  if (contentType === 'application/apply-patch+yaml') return serverSideApply(context, target, body, request);
  const patcher = PATCHERS[contentType];
  if (!patcher) {
    return statusAnswer(failure(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`));
  }
  const stored = context.store.get(target.resource, target.namespace, target.name ?? '');
  if (!stored) return notFound(target.resource, target.name ?? '');
  let patched: unknown;
  try {
    patched = patcher(stored, body);
  } catch (error) {
    return statusAnswer(failure(422, `the server rejected our request due to an error in our request: ${(error as Error).message}`));
  }
  return updateObject(context, target, patched, request);
}
