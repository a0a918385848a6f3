/**
 * Server-side printing: a `meta.k8s.io/v1` Table when the client asks for one in Accept
 * (`application/json;as=Table;v=v1;g=meta.k8s.io`), as `kubectl get` does.
 */
import { clone, type KubeObject } from './objects.js';
import { apiVersionOf, type ResourceType } from './resources.js';

/** Whether the Accept header prefers a Table (v1 or v1beta1) over the plain object. */
export function wantsTable(accept: string | undefined): boolean {
  const first = (accept ?? '').split(',')[0] ?? '';
  const params = new Map(first.split(';').slice(1).map((p) => p.trim().split('=') as [string, string]));
  return params.get('as') === 'Table' && params.get('g') === 'meta.k8s.io';
}

function rowObject(object: KubeObject, include: string | null): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return clone(object);
  const metadata = { ...clone(object.metadata) };
  delete metadata.managedFields;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
}

export function toTable(
  resource: ResourceType,
  objects: readonly KubeObject[],
  listMetadata: Record<string, unknown>,
  params: URLSearchParams,
  now = Date.now(),
): Record<string, unknown> {
  const include = params.get('includeObject');
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMetadata,
    columnDefinitions: resource.columns,
    rows: objects.map((object) => {
      const row: Record<string, unknown> = { cells: resource.cells(object, now) };
      const embedded = rowObject(object, include);
      if (embedded !== undefined) row.object = embedded;
      return row;
    }),
  };
}

/** The plain list body of `objects`. */
export function toList(resource: ResourceType, objects: readonly KubeObject[], listMetadata: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: apiVersionOf(resource), kind: `${resource.kind}List`, metadata: listMetadata, items: objects.map(clone) };
}
