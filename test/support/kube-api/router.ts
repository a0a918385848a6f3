/**
 * The request handler: counts each request by verb, plays injected failures, serves the
 * public endpoints, authenticates and authorizes, then dispatches to discovery, OpenAPI,
 * access reviews, or the resource handlers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDryRun, type WriteContext, type WriteRequest } from './admission.js';
import { answer, statusAnswer, type Answer } from './answer.js';
import { allows, authenticate, forbidden, isPublicPath, selfSubjectAccessReview, type KubeUser } from './auth.js';
import { SERVER_VERSION, discoveryDocument } from './discovery.js';
import { BadBody, contentTypeOf, readBody, sendJson, sendStatus, sendText } from './http.js';
import { clone } from './objects.js';
import { openApiDocument } from './openapi.js';
import { patchObject } from './patches.js';
import { getObject, listObjects, selectorOf } from './reads.js';
import { routeOf, type Route, type Verb } from './route.js';
import { failure } from './status.js';
import { toList, wantsTable } from './table.js';
import { startWatch, type OpenWatch } from './watch.js';
import { createObject, deleteObject, updateObject, type Target } from './writes.js';

export interface InjectedFailure {
  /** HTTP status to answer with; 500 by default. */
  readonly status?: number;
  /** Sent as `Retry-After` and `details.retryAfterSeconds`. */
  readonly retryAfterSeconds?: number;
  /** Only requests of these verbs fail (and count down); all verbs by default. */
  readonly verbs?: readonly Verb[];
}

export interface ServerState {
  readonly write: WriteContext;
  readonly users: readonly KubeUser[];
  readonly watches: Set<OpenWatch>;
  readonly bookmarkIntervalMs: number;
  readonly log: ((line: string) => void) | null;
  goneMode(): 'event' | 'http';
  serverAddress(): string;
  count(verb: Verb): void;
  takeFailure(verb: Verb): InjectedFailure | null;
}

type ResourceRoute = Extract<Route, { kind: 'resource' }>;

function injectedAnswer(injected: InjectedFailure): Answer {
  const status = injected.status ?? 500;
  const retryAfter = injected.retryAfterSeconds;
  const message = status === 429 ? 'Too many requests, please try again later.' : `injected failure (${status})`;
  return statusAnswer(failure(status, message, retryAfter === undefined ? {} : { details: { retryAfterSeconds: retryAfter } }), retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
}

function managerOf(req: IncomingMessage, params: URLSearchParams): string {
  return params.get('fieldManager') ?? (req.headers['user-agent'] ?? 'unknown').split('/')[0] ?? 'unknown';
}

function deleteCollection(state: ServerState, route: ResourceRoute, params: URLSearchParams): Answer {
  const selector = selectorOf(route.resource, params);
  if (typeof selector !== 'function') return selector;
  const { store } = state.write;
  const doomed = store.list(route.resource, route.namespace).filter(selector).map(clone);
  if (!isDryRun(params)) for (const object of doomed) store.remove(route.resource, object.metadata.namespace, object.metadata.name);
  return answer(200, toList(route.resource, doomed, { resourceVersion: String(store.resourceVersion()) }));
}

async function resourceAnswer(state: ServerState, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, verb: Verb, params: URLSearchParams): Promise<Answer | null> {
  const read = { resource: route.resource, namespace: route.namespace, params, table: wantsTable(req.headers.accept) };
  if (verb === 'get') return getObject(state.write.store, read, route.name ?? '');
  if (verb === 'list') return listObjects(state.write.store, read);
  if (verb === 'watch') {
    const selector = selectorOf(route.resource, params);
    if (typeof selector !== 'function') return selector;
    const watch = startWatch(state.write.store, res, { ...read, selector, goneMode: state.goneMode(), bookmarkIntervalMs: state.bookmarkIntervalMs }, (closed) => state.watches.delete(closed));
    if (watch) state.watches.add(watch);
    return null;
  }
  if (route.namespace === null || verb === 'other') return statusAnswer(failure(405, 'the server does not allow this method on the requested resource'));
  if (verb === 'delete' && route.name === null) return deleteCollection(state, route, params);
  const body = req.method === 'DELETE' && req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined ? undefined : await readBody(req);
  const target: Target = { resource: route.resource, namespace: route.namespace, name: route.name, subresource: route.subresource };
  const request: WriteRequest = { params, manager: managerOf(req, params) };
  switch (verb) {
    case 'create':
      return createObject(state.write, target, body, request);
    case 'update':
      return updateObject(state.write, target, body, request);
    case 'patch':
      return patchObject(state.write, target, body, contentTypeOf(req), request);
    case 'delete':
      return deleteObject(state.write, target, body, request, { later: (task) => setImmediate(task) });
  }
}

const RBAC_VERBS: Partial<Record<Verb, string>> = { get: 'get', list: 'list', watch: 'watch', create: 'create', update: 'update', patch: 'patch' };

async function authorizedAnswer(state: ServerState, req: IncomingMessage, res: ServerResponse, route: Route, verb: Verb, url: URL): Promise<Answer | null> {
  const user = authenticate(req, state.users);
  if ('code' in user) return statusAnswer(user);
  const document = discoveryDocument(url.pathname, state.serverAddress());
  if (document !== null && req.method === 'GET') return answer(200, document);
  const openApi = openApiDocument(url.pathname);
  if (openApi !== null) return answer(200, JSON.parse(openApi) as unknown);
  if (route.kind === 'access-review') {
    if (verb !== 'create') return statusAnswer(failure(405, 'the server does not allow this method on the requested resource'));
    const body = await readBody(req);
    return answer(201, selfSubjectAccessReview(user, typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}));
  }
  if (route.kind !== 'resource') return statusAnswer(failure(404, 'the server could not find the requested resource'));
  const rbacVerb = verb === 'delete' ? (route.name === null ? 'deletecollection' : 'delete') : (RBAC_VERBS[verb] ?? req.method?.toLowerCase() ?? '');
  const attributes = { verb: rbacVerb, group: route.resource.group, resource: route.resource.plural, ...(route.subresource ? { subresource: route.subresource } : {}), ...(route.namespace === null ? {} : { namespace: route.namespace }) };
  if (!allows(user, attributes)) return statusAnswer(forbidden(user, attributes, route.name));
  return resourceAnswer(state, req, res, route, verb, url.searchParams);
}

/** One line per request: method, URL, status, and for a failure the Status's reason and message. */
function logAnswer(state: ServerState, req: IncomingMessage, code: number | 'watch', body: unknown): void {
  if (!state.log) return;
  const status = body as { kind?: unknown; reason?: unknown; message?: unknown } | null;
  const why = typeof code === 'number' && code >= 400 && status?.kind === 'Status' ? ` ${String(status.reason)}: ${String(status.message)}` : '';
  state.log(`${req.method} ${req.url} ${code}${why}`);
}

export function createHandler(state: ServerState): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const { route, verb, url } = routeOf(req);
    state.count(verb);
    const injected = state.takeFailure(verb);
    if (injected) {
      req.resume();
      const { code, body, headers } = injectedAnswer(injected);
      logAnswer(state, req, code, body);
      sendJson(res, code, body, headers);
      return;
    }
    if (isPublicPath(url.pathname)) {
      req.resume();
      if (url.pathname === '/version') sendJson(res, 200, SERVER_VERSION);
      else sendText(res, 200, 'ok');
      return;
    }
    try {
      const result = await authorizedAnswer(state, req, res, route, verb, url);
      req.resume();
      logAnswer(state, req, result?.code ?? 'watch', result?.body);
      if (result) sendJson(res, result.code, result.body, { ...result.headers });
    } catch (error) {
      req.resume();
      if (!(error instanceof BadBody)) throw error;
      logAnswer(state, req, error.status.code, error.status);
      sendStatus(res, error.status);
    }
  };
}
