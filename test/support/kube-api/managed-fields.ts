/**
 * `metadata.managedFields`: which manager owns which field. Writes (create, update, patch)
 * give their manager the fields they changed; server-side apply merges a configuration,
 * refuses to change another manager's field unless forced, and removes the fields the
 * manager applied before and no longer applies.
 */
import { clone, isRecord, jsonEqual, timestamp, type KubeObject, type ManagedFieldsEntry } from './objects.js';
import { describePath, fieldPathsOf, fromFieldsV1, pathKey, removeAt, toFieldsV1, valueAt, type FieldPath } from './field-paths.js';
import { strategicMerge } from './strategic-merge.js';
import type { StatusCause } from './status.js';

interface Owned {
  entry: ManagedFieldsEntry;
  paths: Map<string, FieldPath>;
}

function ownersOf(object: KubeObject): Owned[] {
  return (object.metadata.managedFields ?? []).map((entry) => ({
    entry,
    paths: new Map(fromFieldsV1(entry.fieldsV1).map((path) => [pathKey(path), path])),
  }));
}

function writeOwners(object: KubeObject, owners: readonly Owned[]): void {
  const entries = owners
    .filter((owner) => owner.paths.size > 0)
    .map((owner) => ({ ...owner.entry, fieldsV1: toFieldsV1([...owner.paths.values()]) }));
  if (entries.length > 0) object.metadata.managedFields = entries;
  else delete object.metadata.managedFields;
}

function ownerFor(owners: Owned[], manager: string, operation: ManagedFieldsEntry['operation'], apiVersion: string): Owned {
  let owner = owners.find((o) => o.entry.manager === manager && o.entry.operation === operation);
  if (!owner) {
    owner = { entry: { manager, operation, apiVersion, time: timestamp(), fieldsType: 'FieldsV1', fieldsV1: {} }, paths: new Map() };
    owners.push(owner);
  }
  return owner;
}

/** The managedFields entry of a first apply (the object is created by it). */
export function applyEntry(manager: string, apiVersion: string, applied: Record<string, unknown>): ManagedFieldsEntry {
  return { manager, operation: 'Apply', apiVersion, time: timestamp(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(fieldPathsOf(applied)) };
}

/** Gives `manager` the fields `after` sets differently from `before` (an Update operation). */
export function recordUpdate(before: KubeObject | null, after: KubeObject, manager: string): void {
  const owners = ownersOf(after);
  const present = new Set(fieldPathsOf(after).map(pathKey));
  const changed = fieldPathsOf(after).filter((path) => path.at(-1) === '.' ? valueAt(before, path) === undefined : !jsonEqual(valueAt(before, path), valueAt(after, path)));
  if (changed.length > 0) {
    const owner = ownerFor(owners, manager, 'Update', after.apiVersion);
    owner.entry.time = timestamp();
    for (const path of changed) {
      for (const other of owners) other.paths.delete(pathKey(path));
      owner.paths.set(pathKey(path), path);
    }
  }
  for (const owner of owners) for (const key of [...owner.paths.keys()]) if (!present.has(key)) owner.paths.delete(key);
  writeOwners(after, owners);
}

export interface ApplyResult {
  readonly object: KubeObject;
  /** Fields another manager owns with a different value (empty when forced). */
  readonly conflicts: readonly StatusCause[];
}

/** Merges `applied` into `live` for `manager` (server-side apply). `live` is not changed. */
export function applyConfiguration(live: KubeObject, applied: Record<string, unknown>, manager: string, force: boolean): ApplyResult {
  const object = clone(live);
  const owners = ownersOf(object);
  const appliedPaths = fieldPathsOf(applied);
  const conflicts: StatusCause[] = [];
  for (const path of appliedPaths) {
    if (path.at(-1) === '.') continue;
    for (const other of owners) {
      if (other.entry.manager === manager || !other.paths.has(pathKey(path))) continue;
      if (jsonEqual(valueAt(object, path), valueAt(applied, path))) continue;
      if (force) other.paths.delete(pathKey(path));
      else conflicts.push({ reason: 'FieldManagerConflict', message: `conflict with "${other.entry.manager}" using ${other.entry.apiVersion}`, field: describePath(path) });
    }
  }
  if (conflicts.length > 0) return { object: live, conflicts };
  const mine = ownerFor(owners, manager, 'Apply', object.apiVersion);
  const nowApplied = new Set(appliedPaths.map(pathKey));
  for (const [key, path] of mine.paths) {
    if (nowApplied.has(key)) continue;
    if (!owners.some((other) => other !== mine && other.paths.has(key))) removeAt(object, path);
  }
  const merged = strategicMerge(object, stripIdentity(applied)) as KubeObject;
  const before = [...mine.paths.keys()].sort().join();
  mine.paths = new Map(appliedPaths.map((path) => [pathKey(path), path]));
  if ([...mine.paths.keys()].sort().join() !== before) mine.entry.time = timestamp(); // a no-op apply changes nothing
  writeOwners(merged, owners);
  return { object: merged, conflicts };
}

/** The apply configuration without what identifies the object (kept from the live one). */
function stripIdentity(applied: Record<string, unknown>): Record<string, unknown> {
  const metadata = isRecord(applied.metadata) ? { ...applied.metadata } : {};
  for (const key of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields']) delete metadata[key];
  const rest: Record<string, unknown> = { ...applied, metadata };
  delete rest.status;
  return rest;
}
