/**
 * The reads the API routes and the UI pages share, each turning "not there" into the
 * ApiError to answer with: the index named by `?index=`, the project on the right index,
 * one release, one attention item.
 */
import { getAttention } from '../db/attention.js';
import { getIndex, normalizeIndexUrl } from '../db/indexes.js';
import { listEvents, type EventView } from '../db/events.js';
import { loadProjectDetail, projectIndexes, type ProjectDetail, type ReleaseView } from '../db/project-catalog.js';
import type { Queryable } from '../db/sql.js';
import { BadInputError } from '../domain/errors.js';
import type { AttentionItem } from '../domain/ports.js';
import type { PackageIndex } from '../domain/types.js';
import { ApiError } from './api-error.js';
import type { ServiceApi } from './service-api.js';

export async function indexNamed(db: Queryable, url: string): Promise<PackageIndex> {
  let normalized: string;
  try {
    normalized = normalizeIndexUrl(url);
  } catch (error) {
    if (error instanceof BadInputError) throw new ApiError(400, 'bad_request', `bad index: ${error.message}`);
    throw error;
  }
  const index = await getIndex(db, normalized);
  if (!index) throw new ApiError(404, 'index_not_found', `no index registered at ${normalized}`);
  return index;
}

/** The index the project is read on: the one named, else the only one that knows it. */
export async function projectIndex(db: Queryable, project: string, indexUrl: string | undefined): Promise<PackageIndex> {
  if (indexUrl !== undefined) return indexNamed(db, indexUrl);
  const known = await projectIndexes(db, project);
  if (known.length === 0) throw new ApiError(404, 'project_not_found', `project ${project} is not known on any index`);
  if (known.length > 1) {
    throw new ApiError(400, 'index_required', `project ${project} is known on ${known.length} indexes (${known.map((k) => k.indexUrl).join(', ')}): name one with ?index=`);
  }
  return indexNamed(db, known[0]!.indexUrl);
}

/** What a read of releases needs: the database, and the priority the due times are computed with. */
export type ReleaseReader = Pick<ServiceApi, 'db' | 'priority'>;

export async function projectDetail(reader: ReleaseReader, project: string, indexUrl: string | undefined): Promise<ProjectDetail & { indexes: string[] }> {
  const { db } = reader;
  const index = await projectIndex(db, project, indexUrl);
  const [detail, known] = await Promise.all([loadProjectDetail(db, { indexId: index.id, project }, reader.priority), projectIndexes(db, project)]);
  if (!detail) throw new ApiError(404, 'project_not_found', `project ${project} is not known on ${indexUrl ?? 'that index'}`);
  return { ...detail, indexes: known.map((k) => k.indexUrl) };
}

export interface ReleaseDetail {
  readonly indexUrl: string;
  readonly project: string;
  readonly release: ReleaseView;
  /** The release's history, newest first. */
  readonly events: EventView[];
}

export async function releaseDetail(reader: ReleaseReader, project: string, version: string, indexUrl: string | undefined): Promise<ReleaseDetail> {
  const { db } = reader;
  const index = await projectIndex(db, project, indexUrl);
  const detail = await loadProjectDetail(db, { indexId: index.id, project, version }, reader.priority);
  const release = detail?.releases[0];
  if (!detail || !release) throw new ApiError(404, 'release_not_found', `release ${project}==${version} is not known on that index`);
  const events = await listEvents(db, { project: detail.project, version, indexId: index.id, limit: 200 });
  return { indexUrl: detail.indexUrl, project: detail.project, release, events: events.items };
}

export async function attentionItem(db: Queryable, id: number): Promise<AttentionItem> {
  const item = await getAttention(db, id);
  if (!item || item.resolvedAt !== null) throw new ApiError(404, 'attention_not_found', `no open attention item ${id}`);
  return item;
}

/** Credentials a message may carry (`scheme://user:password@`), masked. */
export function maskCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/\s@]*):[^@\s]*@/gi, '$1:***@');
}

export function attentionView(item: AttentionItem) {
  return {
    id: item.id,
    pipeline: item.pipeline,
    itemKey: item.itemKey,
    errorCode: item.errorCode,
    errorMessage: maskCredentials(item.errorMessage),
    attempts: item.attempts,
    firstFailedAt: item.firstFailedAt.toISOString(),
    lastFailedAt: item.lastFailedAt.toISOString(),
    resolvedAt: item.resolvedAt?.toISOString() ?? null,
    retryRequestedAt: item.retryRequestedAt?.toISOString() ?? null,
  };
}

export type AttentionView = ReturnType<typeof attentionView>;
