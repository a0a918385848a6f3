/**
 * Strategic merge patch as the API server applies it to Jobs and Leases: lists of objects
 * with a merge key (containers by name, env by name, …) merge element by element, other
 * lists are replaced; `$patch`, `$retainKeys`, `$setElementOrder/…` and
 * `$deleteFromPrimitiveList/…` directives are honoured. The merge keys are those of the
 * core types' `patchMergeKey` tags for the fields a Job or Lease has.
 */
import { clone, isRecord } from './objects.js';

export const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  volumes: 'name',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  resourceClaims: 'name',
};

/** Primitive lists merged as sets. */
const SET_LISTS = new Set(['finalizers']);

function mergeList(field: string, target: unknown, patch: unknown[]): unknown[] {
  const current = Array.isArray(target) ? [...(target as unknown[])] : [];
  if (patch.some((item) => isRecord(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isRecord(item) && item.$patch === 'replace')).map(clone);
  }
  const key = MERGE_KEYS[field];
  if (SET_LISTS.has(field)) return [...new Set([...current, ...patch.map(clone)])];
  if (key === undefined) return patch.map(clone);
  for (const item of patch) {
    if (!isRecord(item)) continue;
    const index = current.findIndex((existing) => isRecord(existing) && existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) current.splice(index, 1);
    } else if (index >= 0) {
      current[index] = strategicMerge(current[index], item);
    } else {
      current.push(strategicMerge({}, item));
    }
  }
  return current;
}

export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  if (patch.$patch === 'delete') return undefined;
  const base: Record<string, unknown> = patch.$patch === 'replace' || !isRecord(target) ? {} : { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set(Array.isArray(value) ? (value as unknown[]) : []);
      if (Array.isArray(base[field])) base[field] = (base[field] as unknown[]).filter((item) => !drop.has(item));
      continue;
    }
    if (value === null) delete base[key];
    else if (Array.isArray(value)) base[key] = mergeList(key, base[key], value as unknown[]);
    else {
      const merged = strategicMerge(base[key], value);
      if (merged === undefined) delete base[key];
      else base[key] = merged;
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as unknown[]);
    for (const key of Object.keys(base)) if (!keep.has(key)) delete base[key];
  }
  return base;
}
