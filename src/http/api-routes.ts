/**
 * The JSON API under /api/v1: reads (open unless PKGSTREAM_API_AUTH=all) and writes (the
 * admin token). Inputs are parsed with the zod schemas of query-schemas.ts; every failure
 * answers `{"error": {"code", "message"}}` through the server's error handler.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { countEventsSince, listEvents } from '../db/events.js';
import { listIndexOverviews } from '../db/index-overview.js';
import { searchProjects } from '../db/project-catalog.js';
import { listAttention } from '../db/attention.js';
import { addProject } from '../db/projects.js';
import { parseProjectName } from '../domain/pep503.js';
import { ApiError } from './api-error.js';
import { authorize, bearerToken } from './auth.js';
import { readFeedHealth, readPipelines } from './metric-readings.js';
import { attentionItem, attentionView, indexNamed, projectDetail, projectIndex, releaseDetail } from './read-model.js';
import {
  addProjectQuery,
  attentionParams,
  attentionQuery,
  checkQuery,
  decodeProjectCursor,
  encodeProjectCursor,
  eventsQuery,
  projectParams,
  projectQuery,
  projectsQuery,
  releaseParams,
} from './query-schemas.js';
import type { HttpContext, ServiceApi } from './service-api.js';
import { parseInput } from './validate.js';

export async function indexesWithHealth(context: HttpContext, api: ServiceApi) {
  const indexes = await listIndexOverviews(api.db);
  return Promise.all(indexes.map(async (index) => ({ ...index, ...(await readFeedHealth(context.registry, new URL(index.simpleUrl).host)) })));
}

export async function searchPage(api: ServiceApi, input: unknown) {
  const query = parseInput(projectsQuery, input, 'query');
  const after = query.cursor === undefined ? undefined : decodeProjectCursor(query.cursor);
  if (after === null) throw new ApiError(400, 'bad_request', 'bad query: cursor: must be the `next` of a previous page');
  const indexId = query.index === undefined ? undefined : (await indexNamed(api.db, query.index)).id;
  const page = await searchProjects(api.db, { q: query.q, indexId, state: query.state, after, limit: query.limit });
  return { items: page.items, next: page.next === null ? null : encodeProjectCursor(page.next) };
}

export async function eventsPage(api: ServiceApi, input: unknown) {
  const query = parseInput(eventsQuery, input, 'query');
  const page = await listEvents(api.db, { project: query.project, version: query.version, kind: query.kind, since: query.since, before: query.cursor, limit: query.limit });
  return { items: page.items, next: page.next === null ? null : String(page.next) };
}

/** Start of the current UTC day: "today" on the overview. */
export function startOfDay(now: Date = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export function registerApiRoutes(app: FastifyInstance, context: HttpContext): void {
  const guard = (access: 'read' | 'write') => (request: FastifyRequest) => {
    const api = context.api();
    authorize(api.auth, bearerToken(request.headers.authorization), access);
    return api;
  };
  const read = guard('read');
  const write = guard('write');

  app.get('/api/v1/indexes', async (request) => ({ items: await indexesWithHealth(context, read(request)) }));
  app.get('/api/v1/projects', async (request) => searchPage(read(request), request.query));
  app.get('/api/v1/projects/:name', async (request) => {
    const api = read(request);
    const { name } = parseInput(projectParams, request.params, 'path');
    return projectDetail(api, name, parseInput(projectQuery, request.query, 'query').index);
  });
  app.get('/api/v1/projects/:name/releases/:version', async (request) => {
    const api = read(request);
    const { name, version } = parseInput(releaseParams, request.params, 'path');
    return releaseDetail(api, name, version, parseInput(projectQuery, request.query, 'query').index);
  });
  app.get('/api/v1/events', async (request) => eventsPage(read(request), request.query));
  app.get('/api/v1/events/today', async (request) => ({ since: startOfDay().toISOString(), kinds: await countEventsSince(read(request).db, startOfDay()) }));
  app.get('/api/v1/attention', async (request) => {
    const api = read(request);
    const query = parseInput(attentionQuery, request.query, 'query');
    const items = await listAttention(api.db, { status: query.open ? 'open' : 'resolved', limit: query.limit, ...(query.pipeline === undefined ? {} : { pipeline: query.pipeline }) });
    return { items: items.map(attentionView) };
  });
  app.get('/api/v1/pipelines', async (request) => {
    read(request);
    return { items: await readPipelines(context.registry) };
  });

  app.post('/api/v1/attention/:id/retry', async (request) => retryItem(write(request), parseInput(attentionParams, request.params, 'path').id));
  app.post('/api/v1/attention/:id/resolve', async (request) => resolveItem(write(request), parseInput(attentionParams, request.params, 'path').id));
  app.post('/api/v1/projects/:name', async (request) => {
    const api = write(request);
    const { name } = parseInput(projectParams, request.params, 'path');
    return addSeenProject(api, name, parseInput(addProjectQuery, request.query, 'query').index);
  });
  app.post('/api/v1/projects/:name/check', async (request) => {
    const api = write(request);
    const { name } = parseInput(projectParams, request.params, 'path');
    const query = parseInput(checkQuery, request.query, 'query');
    return checkProjectNow(api, name, query.index, query.dry_run);
  });
}

export async function retryItem(api: ServiceApi, id: number) {
  const item = await attentionItem(api.db, id);
  const result = await api.actions.retryAttention(item);
  if (!result.ok) throw new ApiError(502, 'retry_failed', `attention item ${id} failed again: ${result.detail}`);
  await api.store.resolveAttention(id);
  return { id, resolved: true, detail: result.detail };
}

export async function resolveItem(api: ServiceApi, id: number) {
  await attentionItem(api.db, id);
  if (!(await api.store.resolveAttention(id))) throw new ApiError(404, 'attention_not_found', `no open attention item ${id}`);
  return { id, resolved: true };
}

/** What `pkgstream package add` does: the project becomes seen on the index (a `seen` index watches it). */
export async function addSeenProject(api: ServiceApi, name: string, indexUrl: string) {
  const project = parseProjectName(name);
  const index = await indexNamed(api.db, indexUrl);
  const added = (await addProject(api.db, { indexId: index.id, project })) === 'added';
  return { project, index: index.simpleUrl, added };
}

export async function checkProjectNow(api: ServiceApi, name: string, indexUrl: string | undefined, dryRun: boolean) {
  const project = parseProjectName(name);
  const index = await projectIndex(api.db, project, indexUrl);
  const result = await api.actions.check({ index, project, dryRun });
  if (!result.ok) throw new ApiError(502, 'check_failed', `check of ${project} on ${index.simpleUrl} failed: ${result.detail}`);
  return { project, index: index.simpleUrl, dryRun, detail: result.detail, events: result.events };
}

