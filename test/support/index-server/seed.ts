/**
 * Seeding the local index from a JSON document (`npm run peers -- index --seed FILE`, or
 * `POST /_admin/seed`): projects with their releases (or just `versions`), files (name,
 * optional bytes or a reported digest), yanks and PEP 792 statuses. A bad document is one
 * clear error naming the field.
 */
import { z } from 'zod';
import type { FileSpec } from './files.js';
import { PROJECT_STATUSES, type IndexModel, type ProjectStatus, type ReleaseEntry } from './model.js';

const time = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const fileSchema = z
  .object({
    filename: z.string().min(1),
    /** The bytes as UTF-8 text, or `contentBase64`; default: a generated wheel or sdist. */
    content: z.string().optional(),
    contentBase64: z.base64().optional(),
    /** A digest or size to report instead of the bytes' own. */
    sha256: z.string().optional(),
    size: z.number().int().nonnegative().optional(),
    requiresPython: z.string().nullable().optional(),
    uploadTime: time.optional(),
  })
  .strict();

export const releaseSchema = z
  .object({
    version: z.string().min(1),
    uploadTime: time.optional(),
    summary: z.string().optional(),
    author: z.string().nullable().optional(),
    requiresPython: z.string().nullable().optional(),
    /** true, or the reason. */
    yanked: z.union([z.boolean(), z.string()]).optional(),
    /** Default: a wheel and an sdist; `[]` is a release without files. */
    files: z.array(fileSchema).optional(),
  })
  .strict();

export const projectSchema = z
  .object({
    name: z.string().regex(/^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$/, 'a valid project name'),
    summary: z.string().optional(),
    author: z.string().nullable().optional(),
    createdAt: time.optional(),
    status: z.enum(PROJECT_STATUSES as [ProjectStatus, ...ProjectStatus[]]).optional(),
    statusReason: z.string().nullable().optional(),
    /** Shorthand: releases with default files, in this order. */
    versions: z.array(z.string().min(1)).optional(),
    releases: z.array(releaseSchema).optional(),
  })
  .strict();

export const seedSchema = z.object({ projects: z.array(projectSchema) }).strict();

export type SeedDocument = z.input<typeof seedSchema>;
type ParsedSeed = z.output<typeof seedSchema>;

/** Checks a document against a schema; the error names the source, the field and the reason. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(root)';
  throw new SeedError(`${source}: ${where}: ${issue?.message ?? 'invalid'}`);
}

/** A document that does not fit its schema. */
export class SeedError extends Error {}

export function parseSeed(value: unknown, source: string): ParsedSeed {
  return parseWith(seedSchema, value, `seed ${source}`);
}

function fileSpec(file: z.output<typeof fileSchema>): FileSpec {
  const content = file.contentBase64 !== undefined ? Buffer.from(file.contentBase64, 'base64') : file.content;
  return {
    filename: file.filename,
    ...(content === undefined ? {} : { content }),
    ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
    ...(file.size === undefined ? {} : { size: file.size }),
    ...(file.requiresPython === undefined ? {} : { requiresPython: file.requiresPython }),
    ...(file.uploadTime === undefined ? {} : { uploadTime: file.uploadTime }),
  };
}

/** Adds one release as a seed (or the admin route) describes it, yanked if it says so. */
export function addSeedRelease(model: IndexModel, project: string, r: z.output<typeof releaseSchema>): ReleaseEntry {
  const release = model.addRelease(project, r.version, r.files?.map(fileSpec), {
    ...(r.uploadTime === undefined ? {} : { uploadTime: r.uploadTime }),
    ...(r.summary === undefined ? {} : { summary: r.summary }),
    ...(r.author === undefined ? {} : { author: r.author }),
    ...(r.requiresPython === undefined ? {} : { requiresPython: r.requiresPython }),
  });
  if (r.yanked) model.yank(project, r.version, typeof r.yanked === 'string' ? r.yanked : null);
  return release;
}

/** Adds the document's content to the index, in document order (each change a journal entry). */
export function applySeed(model: IndexModel, seed: ParsedSeed): { projects: number; releases: number } {
  let releases = 0;
  for (const project of seed.projects) {
    model.addProject(project.name, {
      ...(project.summary === undefined ? {} : { summary: project.summary }),
      ...(project.author === undefined ? {} : { author: project.author }),
      ...(project.createdAt === undefined ? {} : { createdAt: project.createdAt }),
    });
    const all = [...(project.versions ?? []).map((version) => ({ version })), ...(project.releases ?? [])];
    for (const release of all) {
      const r = release as z.output<typeof releaseSchema>;
      addSeedRelease(model, project.name, r);
      releases += 1;
    }
    if (project.status && project.status !== 'active') model.setStatus(project.name, project.status, project.statusReason ?? null);
  }
  return { projects: seed.projects.length, releases };
}
