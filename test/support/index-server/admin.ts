/**
 * Changes while the index runs, for tests and the demo: `POST /_admin/<action>` with a JSON
 * body, and `GET /_admin/journal?since=N`. Every change is a journal entry, so the serials
 * rise as on Warehouse. Answers JSON with the index's serial; a bad body is 400, an unknown
 * project, release or file 404, each with a one-line `error`.
 *
 *   release        {project, version, files?, summary?, requiresPython?, uploadTime?, yanked?}
 *   project        {name, summary?, author?, status?, statusReason?}
 *   yank           {project, version, reason?}       unyank {project, version}
 *   remove-release {project, version}                remove-project {project}
 *   status         {project, status, reason?}        (PEP 792: active|archived|quarantined|deprecated)
 *   file           {project, version, filename, content? | contentBase64?, rehash?}
 *                  new bytes at the same URL (default: a regenerated, still valid file);
 *                  without rehash the pages keep the old digest, so pip's hash check fails
 *   digest         {project, version, filename, sha256}   the pages report another digest
 *   seed           a seed document (seed.ts)
 *   clock          {time}                             upload time of the next release
 */
import { z } from 'zod';
import { artifactBytes } from './artifacts.js';
import { PROJECT_STATUSES, type IndexModel, type ProjectStatus } from './model.js';
import { addSeedRelease, applySeed, parseWith, projectSchema, releaseSchema, seedSchema, SeedError } from './seed.js';
import { fileUrl } from './simple.js';

export interface AdminAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const ref = z.object({ project: z.string().min(1), version: z.string().min(1) }).strict();
const fileRef = z.object({ project: z.string().min(1), version: z.string().min(1), filename: z.string().min(1) });
const status = z.enum(PROJECT_STATUSES as [ProjectStatus, ...ProjectStatus[]]);

type Handler = (model: IndexModel, body: unknown, origin: string) => Record<string, unknown>;

const ACTIONS: Record<string, Handler> = {
  release: (model, body, origin) => {
    const input = parseWith(releaseSchema.extend({ project: z.string().min(1) }), body, 'release');
    const release = addSeedRelease(model, input.project, input);
    return { files: release.files.map((f) => ({ filename: f.filename, url: fileUrl(origin, f), sha256: f.sha256, size: f.size })) };
  },
  project: (model, body) => {
    const input = parseWith(projectSchema.pick({ name: true, summary: true, author: true, status: true, statusReason: true }), body, 'project');
    const { name, status: wanted, statusReason, ...options } = input;
    const project = model.addProject(name, Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)));
    if (wanted) model.setStatus(name, wanted, statusReason ?? null);
    return { name: project.name };
  },
  yank: (model, body) => {
    const input = parseWith(ref.extend({ reason: z.string().nullable().optional() }), body, 'yank');
    model.yank(input.project, input.version, input.reason ?? null);
    return {};
  },
  unyank: (model, body) => {
    const input = parseWith(ref, body, 'unyank');
    model.unyank(input.project, input.version);
    return {};
  },
  'remove-release': (model, body) => {
    const input = parseWith(ref, body, 'remove-release');
    if (!model.removeVersion(input.project, input.version)) throw new Error(`index-server: no release ${input.project} ${input.version}`);
    return {};
  },
  'remove-project': (model, body) => {
    const input = parseWith(z.object({ project: z.string().min(1) }).strict(), body, 'remove-project');
    if (!model.removeProject(input.project)) throw new Error(`index-server: no project ${input.project}`);
    return {};
  },
  status: (model, body) => {
    const input = parseWith(z.object({ project: z.string().min(1), status, reason: z.string().nullable().optional() }).strict(), body, 'status');
    model.setStatus(input.project, input.status, input.reason ?? null);
    return {};
  },
  file: (model, body) => {
    const schema = fileRef.extend({ content: z.string().optional(), contentBase64: z.base64().optional(), rehash: z.boolean().optional() }).strict();
    const input = parseWith(schema, body, 'file');
    const content = input.contentBase64 !== undefined ? Buffer.from(input.contentBase64, 'base64') : (input.content ?? regenerated(model, input));
    const file = model.setContent(input.project, input.version, input.filename, content, { rehash: input.rehash ?? false });
    return { sha256: file.sha256, size: file.size };
  },
  digest: (model, body) => {
    const input = parseWith(fileRef.extend({ sha256: z.string() }).strict(), body, 'digest');
    model.setSha(input.project, input.version, input.filename, input.sha256);
    return {};
  },
  seed: (model, body) => applySeed(model, parseWith(seedSchema, body, 'seed')),
  clock: (model, body) => {
    model.setClock(parseWith(z.object({ time: z.iso.datetime({ offset: true }).transform((s) => new Date(s)) }).strict(), body, 'clock').time);
    return {};
  },
};

/** Other valid bytes for a file: the generated file again, at the next revision. */
function regenerated(model: IndexModel, input: { project: string; version: string; filename: string }): Buffer {
  const project = model.project(input.project);
  const release = model.release(input.project, input.version);
  const file = release?.files.find((f) => f.filename === input.filename);
  if (!project || !release || !file) throw new Error(`index-server: no file ${input.filename} in ${input.project} ${input.version}`);
  const { summary, author } = release;
  return artifactBytes({ project: project.name, version: release.version, filename: file.filename, summary, author, requiresPython: file.requiresPython, uploadTime: file.uploadTime, revision: model.serial + 1 });
}

export function admin(model: IndexModel, method: string, url: URL, body: string, origin: string): AdminAnswer {
  const action = url.pathname.slice('/_admin/'.length);
  if (method === 'GET' && action === 'journal') {
    const since = Number(url.searchParams.get('since') ?? '0');
    return { status: 200, body: { serial: model.serial, entries: model.journal.since(Number.isFinite(since) ? since : 0) } };
  }
  const handler = ACTIONS[action];
  if (!handler) return { status: 404, body: { error: `no admin action ${action}; one of ${Object.keys(ACTIONS).join(', ')}, GET journal` } };
  if (method !== 'POST') return { status: 405, body: { error: `admin action ${action} takes POST` } };
  let parsed: unknown;
  try {
    parsed = body.trim() === '' ? {} : (JSON.parse(body) as unknown);
  } catch {
    return { status: 400, body: { error: `${action}: body is not JSON` } };
  }
  try {
    return { status: 200, body: { ...handler(model, parsed, origin), serial: model.serial } };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { status: error instanceof SeedError ? 400 : /^index-server: no /.test(message) ? 404 : 500, body: { error: message } };
  }
}
