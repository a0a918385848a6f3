/**
 * The web UI: server-rendered pages that work without JavaScript. Forms POST with the admin
 * token from an HttpOnly, SameSite=Strict cookie set by the login form; a POST whose Origin
 * (or Sec-Fetch-Site) says it came from another site is refused, so a forged form cannot
 * act. A Content-Security-Policy without scripts backs up the escaping of every value.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { listAttention } from '../../db/attention.js';
import { countEventsSince, listEvents } from '../../db/events.js';
import { projectIndexes } from '../../db/project-catalog.js';
import { ApiError } from '../api-error.js';
import { eventsPage, indexesWithHealth, resolveItem, retryItem, searchPage, startOfDay } from '../api-routes.js';
import { authorize, cookieValue, TOKEN_COOKIE, tokensEqual } from '../auth.js';
import { readPipelines } from '../metric-readings.js';
import { attentionParams, attentionQuery, projectParams, projectQuery, releaseParams } from '../query-schemas.js';
import { attentionView, projectDetail, releaseDetail } from '../read-model.js';
import type { HttpContext, ServiceApi } from '../service-api.js';
import { parseInput } from '../validate.js';
import { attentionBody, loginBody } from './attention-page.js';
import { href, html, type Html } from './html.js';
import { page } from './layout.js';
import { overviewBody } from './overview-page.js';
import { chooseIndexBody, projectBody, releaseBody, searchBody, timeline } from './project-pages.js';
import { STYLE } from './style.js';

const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const tokenOf = (request: FastifyRequest) => cookieValue(request.headers.cookie, TOKEN_COOKIE);

/** Only a path on this site: never `//host` or a scheme. */
const localPath = z.string().regex(/^\/(?![/\\])[^\s]*$/).catch('/');

function send(reply: FastifyReply, body: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).header('x-frame-options', 'DENY').send(body.text);
}

/** Refuses a POST made by another site's page (the cookie's SameSite=Strict is the first guard). */
function sameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ApiError(403, 'cross_site', 'a form from another site may not act here');
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null' && origin !== `${request.protocol}://${request.headers.host ?? ''}`) {
    throw new ApiError(403, 'cross_site', `a form from ${origin} may not act here`);
  }
  if (origin === 'null') throw new ApiError(403, 'cross_site', 'a form from an opaque origin may not act here');
}

export function registerUiRoutes(app: FastifyInstance, context: HttpContext): void {
  const view = (request: FastifyRequest, reply: FastifyReply, title: string, body: Html, flash?: string) =>
    send(reply, page({ title, body, grafanaUrl: context.api().grafanaUrl, loggedIn: tokenOf(request) !== undefined, flash, q: (request.query as { q?: string }).q }));
  const reader = (request: FastifyRequest): ServiceApi => {
    const api = context.api();
    authorize(api.auth, tokenOf(request), 'read');
    return api;
  };
  const writer = (request: FastifyRequest): ServiceApi => {
    sameOrigin(request);
    const api = context.api();
    authorize(api.auth, tokenOf(request), 'write');
    return api;
  };

  app.get('/ui.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(STYLE));
  app.get('/', async (request, reply) => {
    const api = reader(request);
    const [indexes, pipelines, today, attention] = await Promise.all([
      indexesWithHealth(context, api),
      readPipelines(context.registry),
      countEventsSince(api.db, startOfDay()),
      listAttention(api.db, { status: 'open', limit: 10 }),
    ]);
    return view(request, reply, 'Overview', overviewBody({ indexes, pipelines, today, attention: attention.map(attentionView), grafanaUrl: api.grafanaUrl }));
  });
  registerProjectPages(app, context, { view, reader });
  app.get('/events', async (request, reply) => {
    const query = request.query as Record<string, string>;
    const result = await eventsPage(reader(request), query);
    const next = result.next === null ? null : href(['events'], { ...query, cursor: result.next });
    return view(request, reply, 'Events', html`<h1>Events</h1>${timeline(result.items)}${next ? html`<p><a href="${next}" rel="next">older</a></p>` : ''}`);
  });
  app.get('/attention', async (request, reply) => {
    const api = reader(request);
    const query = parseInput(attentionQuery, request.query, 'query');
    const items = await listAttention(api.db, { status: query.open ? 'open' : 'resolved', limit: query.limit, ...(query.pipeline === undefined ? {} : { pipeline: query.pipeline }) });
    const flash = typeof (request.query as { done?: unknown }).done === 'string' ? (request.query as { done: string }).done : undefined;
    return view(request, reply, 'Attention', attentionBody(items.map(attentionView), query.open), flash);
  });
  registerUiForms(app, context, { view, writer });
}

type View = (request: FastifyRequest, reply: FastifyReply, title: string, body: Html, flash?: string) => FastifyReply;

/** The project search, a project's page (or the choice of its indexes) and a release's page. */
function registerProjectPages(app: FastifyInstance, context: HttpContext, { view, reader }: { view: View; reader: (request: FastifyRequest) => ServiceApi }): void {
  app.get('/projects', async (request, reply) => {
    const query = request.query as Record<string, string>;
    const result = await searchPage(reader(request), query);
    const next = result.next === null ? null : href(['projects'], { ...query, cursor: result.next });
    return view(request, reply, 'Projects', searchBody(query.q, result.items, next));
  });
  app.get('/projects/:name', async (request, reply) => {
    const api = reader(request);
    const { name } = parseInput(projectParams, request.params, 'path');
    const { index } = parseInput(projectQuery, request.query, 'query');
    try {
      const detail = await projectDetail(api, name, index);
      const events = await listEvents(api.db, { project: detail.project, indexId: detail.indexId, limit: 200 });
      return view(request, reply, detail.project, projectBody(detail, events.items));
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'index_required') throw error;
      const known = await projectIndexes(api.db, name);
      return view(request, reply, name, chooseIndexBody(name, known.map((row) => row.indexUrl)));
    }
  });
  app.get('/projects/:name/releases/:version', async (request, reply) => {
    const { name, version } = parseInput(releaseParams, request.params, 'path');
    const detail = await releaseDetail(reader(request), name, version, parseInput(projectQuery, request.query, 'query').index);
    return view(request, reply, `${detail.project} ${version}`, releaseBody(detail));
  });
}

function registerUiForms(app: FastifyInstance, context: HttpContext, { view, writer }: { view: View; writer: (request: FastifyRequest) => ServiceApi }): void {
  const afterAction = (reply: FastifyReply, message: string) => reply.code(303).header('location', href(['attention'], { done: message })).send();
  app.post('/attention/:id/retry', async (request, reply) => {
    const api = writer(request);
    const { id } = parseInput(attentionParams, request.params, 'path');
    try {
      const result = await retryItem(api, id);
      return afterAction(reply, `item ${id} resolved: ${result.detail}`);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'retry_failed') return afterAction(reply, error.message);
      throw error;
    }
  });
  app.post('/attention/:id/resolve', async (request, reply) => {
    const { id } = parseInput(attentionParams, request.params, 'path');
    await resolveItem(writer(request), id);
    return afterAction(reply, `item ${id} marked resolved`);
  });
  app.get('/login', async (request, reply) => view(request, reply, 'Log in', loginBody(localPath.parse((request.query as { next?: unknown }).next), false)));
  app.post('/login', async (request, reply) => {
    sameOrigin(request);
    const form = parseInput(z.object({ token: z.string().min(1).max(4096), next: localPath }), request.body ?? {}, 'form');
    const expected = context.api().auth.adminToken;
    if (expected === undefined) throw new ApiError(403, 'no_admin_token', 'logging in is disabled: no PKGSTREAM_ADMIN_TOKEN is configured on the service');
    if (!tokensEqual(form.token, expected)) return view(request, reply.code(403), 'Log in', loginBody(form.next, true));
    const secure = request.protocol === 'https' ? '; Secure' : '';
    return reply.code(303).header('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(form.token)}; Path=/; HttpOnly; SameSite=Strict${secure}`).header('location', form.next).send();
  });
  app.post('/logout', async (request, reply) => {
    sameOrigin(request);
    return reply.code(303).header('set-cookie', `${TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`).header('location', '/').send();
  });
}
