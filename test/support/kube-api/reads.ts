/**
 * GET of one object and LIST of a collection: label and field selectors, `limit` and
 * `continue` paging (a continue token older than the compacted history is 410 Expired),
 * and a Table instead of the object when the client asks for one.
 */
import { notFound } from './admission.js';
import { answer, statusAnswer, type Answer } from './answer.js';
import { parseFieldSelector, type FieldSelector } from './field-selector.js';
import { parseLabelSelector } from './label-selector.js';
import { clone, type KubeObject } from './objects.js';
import type { ResourceType } from './resources.js';
import { failure } from './status.js';
import type { Store } from './store.js';
import { toList, toTable } from './table.js';

export interface ReadRequest {
  readonly resource: ResourceType;
  readonly namespace: string | null;
  readonly params: URLSearchParams;
  readonly table: boolean;
}

/** Label and field selectors together, or the 400 for one that does not parse. */
export function selectorOf(resource: ResourceType, params: URLSearchParams): FieldSelector | Answer {
  try {
    const labels = parseLabelSelector(params.get('labelSelector'));
    const fields = parseFieldSelector(params.get('fieldSelector'), resource.fields);
    return (object) => labels(object.metadata.labels) && fields(object);
  } catch (error) {
    return statusAnswer(failure(400, (error as Error).message));
  }
}

export function getObject(store: Store, request: ReadRequest, name: string): Answer {
  const object = request.namespace === null ? undefined : store.get(request.resource, request.namespace, name);
  if (!object) return notFound(request.resource, name);
  if (request.table) return answer(200, toTable(request.resource, [object], { resourceVersion: object.metadata.resourceVersion }, request.params));
  return answer(200, clone(object));
}

interface ContinueToken {
  readonly rv: number;
  readonly after: string;
}

const keyOf = (object: KubeObject) => `${object.metadata.namespace}/${object.metadata.name}`;

function decodeContinue(token: string): ContinueToken | null {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    return typeof parsed.rv === 'number' && typeof parsed.after === 'string' ? { rv: parsed.rv, after: parsed.after } : null;
  } catch {
    return null;
  }
}

export function listObjects(store: Store, request: ReadRequest): Answer {
  const { resource, namespace, params } = request;
  const selector = selectorOf(resource, params);
  if (typeof selector !== 'function') return selector;
  const limit = Number(params.get('limit') ?? '0');
  const token = params.get('continue');
  let rv = store.resourceVersion();
  let after: string | null = null;
  if (token) {
    const decoded = decodeContinue(token);
    if (!decoded) return statusAnswer(failure(400, 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)'));
    if (decoded.rv < store.compactedVersion()) {
      return statusAnswer(failure(410, 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.', { reason: 'Expired' }));
    }
    rv = decoded.rv;
    after = decoded.after;
  }
  const matching = store.list(resource, namespace).filter((object) => (after === null || keyOf(object) > after) && selector(object));
  const page = limit > 0 ? matching.slice(0, limit) : matching;
  const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
  const last = page.at(-1);
  if (page.length < matching.length && last) {
    metadata.continue = Buffer.from(JSON.stringify({ rv, after: keyOf(last) })).toString('base64url');
    if (!params.get('labelSelector') && !params.get('fieldSelector')) metadata.remainingItemCount = matching.length - page.length;
  }
  return answer(200, request.table ? toTable(resource, page, metadata, params) : toList(resource, page, metadata));
}
