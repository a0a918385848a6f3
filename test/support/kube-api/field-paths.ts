/**
 * Field sets of server-side apply: the leaf paths an object sets, in the segments of the
 * FieldsV1 format (`f:name`, `k:{"name":"main"}` for an element of a keyed list, `v:"x"` for
 * a member of a set list), how to read and remove one, and the FieldsV1 tree of a set.
 */
import { isRecord } from './objects.js';
import { MERGE_KEYS } from './strategic-merge.js';

export type FieldPath = readonly string[];

/** metadata fields a manager can own; the rest is the server's. */
const OWNED_METADATA = new Set(['labels', 'annotations', 'finalizers', 'ownerReferences']);
const SET_LISTS = new Set(['finalizers']);

function elementKey(field: string, element: unknown): string | null {
  const key = MERGE_KEYS[field];
  if (key === undefined || !isRecord(element) || element[key] === undefined) return null;
  return `k:${JSON.stringify({ [key]: element[key] })}`;
}

function collect(value: unknown, path: string[], out: FieldPath[]): void {
  if (!isRecord(value) || Object.keys(value).length === 0) {
    out.push([...path]);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const at = [...path, `f:${key}`];
    if (Array.isArray(child) && SET_LISTS.has(key)) {
      for (const item of child as unknown[]) out.push([...at, `v:${JSON.stringify(item)}`]);
    } else if (Array.isArray(child) && MERGE_KEYS[key] !== undefined && (child as unknown[]).every((e) => elementKey(key, e) !== null)) {
      for (const element of child as unknown[]) {
        const elementPath = [...at, elementKey(key, element) ?? ''];
        out.push([...elementPath, '.']);
        collect(element, elementPath, out);
      }
    } else if (Array.isArray(child)) {
      out.push(at);
    } else {
      collect(child, at, out);
    }
  }
}

/** The leaf paths an object (or apply configuration) sets, for the fields a manager can own. */
export function fieldPathsOf(object: Record<string, unknown>): FieldPath[] {
  const out: FieldPath[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'status') continue;
    if (key === 'metadata') {
      const metadata = isRecord(value) ? value : {};
      for (const [field, child] of Object.entries(metadata)) {
        if (OWNED_METADATA.has(field)) collect({ [field]: child }, ['f:metadata'], out);
      }
      continue;
    }
    collect({ [key]: value }, [], out);
  }
  return out;
}

interface Located {
  readonly container: Record<string, unknown> | unknown[];
  readonly key: string | number;
}

/** Where a path's value lives in `object`, or null when it does not exist there. */
function locate(object: unknown, path: FieldPath): Located | null {
  let container: unknown = object;
  let located: Located | null = null;
  for (const segment of path) {
    if (segment === '.') return located;
    if (located) container = Array.isArray(located.container) ? located.container[located.key as number] : located.container[located.key as string];
    if (segment.startsWith('f:') && isRecord(container)) {
      located = { container, key: segment.slice(2) };
    } else if (segment.startsWith('k:') && Array.isArray(container)) {
      const match = JSON.parse(segment.slice(2)) as Record<string, unknown>;
      const index = (container as unknown[]).findIndex((e) => isRecord(e) && Object.entries(match).every(([k, v]) => e[k] === v));
      if (index < 0) return null;
      located = { container, key: index };
    } else if (segment.startsWith('v:') && Array.isArray(container)) {
      const index = (container as unknown[]).indexOf(JSON.parse(segment.slice(2)) as unknown);
      if (index < 0) return null;
      located = { container, key: index };
    } else {
      return null;
    }
    const value = Array.isArray(located.container) ? located.container[located.key as number] : located.container[located.key as string];
    if (value === undefined) return null;
  }
  return located;
}

export function valueAt(object: unknown, path: FieldPath): unknown {
  const located = locate(object, path);
  if (!located) return undefined;
  return Array.isArray(located.container) ? located.container[located.key as number] : located.container[located.key as string];
}

export function removeAt(object: unknown, path: FieldPath): void {
  const located = locate(object, path);
  if (!located) return;
  if (Array.isArray(located.container)) located.container.splice(located.key as number, 1);
  else delete located.container[located.key as string];
}

/** The FieldsV1 tree of a set of paths (what `metadata.managedFields[].fieldsV1` holds). */
export function toFieldsV1(paths: readonly FieldPath[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const path of paths) {
    let node = root;
    for (const segment of path) {
      node[segment] ??= {};
      node = node[segment] as Record<string, unknown>;
    }
  }
  return root;
}

/** The paths of a FieldsV1 tree (leaves and `.` markers). */
export function fromFieldsV1(tree: unknown, prefix: string[] = []): FieldPath[] {
  if (!isRecord(tree) || Object.keys(tree).length === 0) return prefix.length === 0 ? [] : [prefix];
  return Object.entries(tree).flatMap(([segment, child]) => fromFieldsV1(child, [...prefix, segment]));
}

export const pathKey = (path: FieldPath): string => JSON.stringify(path);

/** `.spec.template.spec.containers[name="main"].image`, as conflict messages print a path. */
export function describePath(path: FieldPath): string {
  return path
    .filter((segment) => segment !== '.')
    .map((segment) => (segment.startsWith('f:') ? `.${segment.slice(2)}` : segment.startsWith('k:') ? `[${Object.entries(JSON.parse(segment.slice(2)) as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]` : `[${segment.slice(2)}]`))
    .join('');
}
