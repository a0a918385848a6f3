/**
 * Names, labels and annotations of solver Jobs. The name is a function of
 * (template kind, index, project, version, solver) only, so scheduling the same pair twice
 * asks for the same name and the API server answers the repeat with 409.
 */
import { createHash } from 'node:crypto';
import { canonicalizeName, type SolverJobRequest } from '../domain/index.js';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_SOLVER = 'pkgstream.dev/solver';
export const LABEL_TEMPLATE = 'pkgstream.dev/template';
export const ANNOTATION_INDEX_URL = 'pkgstream.dev/index-url';
export const ANNOTATION_PROJECT = 'pkgstream.dev/project';
export const ANNOTATION_VERSION = 'pkgstream.dev/version';
export const ANNOTATION_SOLVER = 'pkgstream.dev/solver';
export const ANNOTATION_TEMPLATE = 'pkgstream.dev/template';

/** Selects every Job pkgstream creates (both templates). */
export const SOLVER_JOB_SELECTOR = `${LABEL_NAME}=pkgstream,${LABEL_COMPONENT}=solver`;

const HASH_LENGTH = 16;
const MAX_NAME = 63;

/** The index URL as an identity: trailing slashes do not make another Job. */
function indexIdentity(indexUrl: string): string {
  return indexUrl.replace(/\/+$/, '');
}

/** Hex sha256 of the request's identity (kind, index, canonical project, version, solver). */
export function solverJobHash(request: SolverJobRequest): string {
  const identity = [indexIdentity(request.indexUrl), canonicalizeName(request.project), request.version, request.solver];
  // The forward template keeps the 4-tuple so its names do not depend on the kind field.
  const input = request.template === 'reverse' ? ['reverse', ...identity] : identity;
  return createHash('sha256').update(JSON.stringify(input)).digest('hex');
}

/** Lower-case DNS-1123 fragment: runs of other characters become one `-`, no `-` at the ends. */
function dnsFragment(value: string, maxLength: number): string {
  const fragment = value.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, maxLength);
  return fragment.replace(/^-+|-+$/g, '');
}

/**
 * `solver-<short solver>-<16 hex of sha256>` (`reverse-…` for the reverse template), at most
 * 63 characters, a DNS-1123 label whatever the inputs. The short solver drops a leading
 * `solver-` so that `solver-fedora-38-py311` reads `solver-fedora-38-py311-<hash>`.
 */
export function solverJobName(request: SolverJobRequest): string {
  const prefix = request.template === 'reverse' ? 'reverse' : 'solver';
  const hash = solverJobHash(request).slice(0, HASH_LENGTH);
  // The first attempt keeps the plain name, so a replay of it is a harmless 409.
  const suffix = request.attempt !== undefined && request.attempt > 1 ? `-a${request.attempt}` : '';
  const room = MAX_NAME - prefix.length - HASH_LENGTH - suffix.length - 2;
  const short = dnsFragment(request.solver.replace(/^solver-/, ''), room);
  return `${short === '' ? `${prefix}-${hash}` : `${prefix}-${short}-${hash}`}${suffix}`;
}

/**
 * A label value for any string: at most 63 characters of `[A-Za-z0-9._-]`, starting and
 * ending alphanumeric (possibly empty). The full value goes into an annotation.
 */
export function sanitizeLabelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

export function solverJobLabels(request: SolverJobRequest): Record<string, string> {
  return {
    [LABEL_NAME]: 'pkgstream',
    [LABEL_COMPONENT]: 'solver',
    [LABEL_MANAGED_BY]: 'pkgstream',
    [LABEL_SOLVER]: sanitizeLabelValue(request.solver),
    [LABEL_TEMPLATE]: request.template ?? 'solver',
  };
}

export function solverJobAnnotations(request: SolverJobRequest): Record<string, string> {
  return {
    [ANNOTATION_INDEX_URL]: request.indexUrl,
    [ANNOTATION_PROJECT]: request.project,
    [ANNOTATION_VERSION]: request.version,
    [ANNOTATION_SOLVER]: request.solver,
    [ANNOTATION_TEMPLATE]: request.template ?? 'solver',
  };
}
