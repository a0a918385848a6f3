/**
 * Solver Job templates: a YAML file holding one batch/v1 Job whose string values may
 * contain placeholders such as `{{project}}`. The YAML is parsed once; placeholders are
 * replaced inside the parsed object's string values, so a value (a version with quotes,
 * newlines or `$(...)`) can never change the document's structure: it stays one literal
 * string. Nothing here goes through a shell.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { PkgstreamError } from '../domain/index.js';

export const JOB_PLACEHOLDERS = ['project', 'version', 'package', 'index_url', 'solver', 'image', 'job_name', 'namespace'] as const;
export type JobPlaceholder = (typeof JOB_PLACEHOLDERS)[number];
export type JobTemplateValues = Readonly<Record<JobPlaceholder, string>>;

/** The built-in template, shipped beside the compiled JS (scripts/copy-assets.mjs). */
export const DEFAULT_SOLVER_TEMPLATE_PATH = fileURLToPath(new URL('./templates/solver-job.yaml', import.meta.url));

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export interface JobTemplate {
  /** Where the template came from (a path, or a name for an inline template). */
  readonly source: string;
  /** The parsed Job; never mutated. */
  readonly job: Readonly<Record<string, unknown>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function templateError(source: string, message: string, cause?: unknown): PkgstreamError {
  return new PkgstreamError('JOB_TEMPLATE', `Job template ${source}: ${message}`, { cause });
}

function collectPlaceholders(value: unknown, found: Set<string>): void {
  if (typeof value === 'string') {
    for (const match of value.matchAll(PLACEHOLDER)) found.add(match[1] ?? '');
  } else if (Array.isArray(value)) {
    for (const item of value) collectPlaceholders(item, found);
  } else if (isRecord(value)) {
    for (const item of Object.values(value)) collectPlaceholders(item, found);
  }
}

/** Parses and checks a template's text: one batch/v1 Job with a pod spec and only known placeholders. */
export function parseJobTemplate(text: string, source = 'inline'): JobTemplate {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw templateError(source, `not valid YAML: ${doc.errors[0]?.message ?? ''}`, doc.errors[0]);
  const job: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isRecord(job)) throw templateError(source, 'must be a YAML mapping (one batch/v1 Job)');
  if (job.apiVersion !== 'batch/v1' || job.kind !== 'Job') throw templateError(source, 'must have apiVersion batch/v1 and kind Job');
  const spec = job.spec;
  const podTemplate = isRecord(spec) ? spec.template : undefined;
  const podSpec = isRecord(podTemplate) ? podTemplate.spec : undefined;
  const containers = isRecord(podSpec) ? podSpec.containers : undefined;
  if (!Array.isArray(containers) || containers.length === 0 || !containers.every(isRecord)) {
    throw templateError(source, 'spec.template.spec.containers must list at least one container');
  }
  const found = new Set<string>();
  collectPlaceholders(job, found);
  const unknown = [...found].filter((name) => !(JOB_PLACEHOLDERS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw templateError(source, `unknown placeholder(s) ${unknown.map((n) => `{{${n}}}`).join(', ')}; known: ${JOB_PLACEHOLDERS.map((n) => `{{${n}}}`).join(' ')}`);
  }
  return { source, job: Object.freeze(job) };
}

/** Reads and checks a template file (synchronously: it happens once, at start-up). */
export function loadJobTemplate(path: string = DEFAULT_SOLVER_TEMPLATE_PATH): JobTemplate {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw templateError(path, `cannot be read: ${(error as Error).message}`, error);
  }
  return parseJobTemplate(text, path);
}

/** Replaces the placeholders of one string; `$` and everything else in a value stay literal. */
export function substitutePlaceholders(text: string, values: JobTemplateValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(values, name) ? values[name as JobPlaceholder] : whole));
}

/** A fresh deep copy of the template's Job with the placeholders of every string value replaced. */
export function renderJobTemplate(template: JobTemplate, values: JobTemplateValues): Record<string, unknown> {
  const render = (value: unknown): unknown => {
    if (typeof value === 'string') return substitutePlaceholders(value, values);
    if (Array.isArray(value)) return value.map(render);
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, render(item)]));
    return value;
  };
  return render(template.job) as Record<string, unknown>;
}
