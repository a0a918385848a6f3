/**
 * The project name and version a distribution's filename carries (pure; no I/O).
 *
 * - wheel (PEP 427): `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, the name
 *   with `-` escaped as `_`, so the version is the second dash-separated field;
 * - egg: `{name}-{version}(-py{X.Y}(-{platform})?)?.egg`, the same escaping;
 * - sdist: `{name}-{version}.{tar.gz|zip|tar.bz2|...}`; legacy sdists keep dashes in the
 *   name (`python-dateutil-2.8.2.tar.gz`), so with a project name the name part is matched
 *   by PEP 503 normalization, and without one the version starts after the last dash;
 * - Windows installers (`{name}-{version}.win32(-py2.7)?.exe|.msi`), as old uploads have.
 *
 * Returns null when the filename is none of these, or its name part is not the project.
 */
import { canonicalizeName } from './pep503.js';

export type DistributionKind = 'wheel' | 'sdist' | 'egg' | 'wininst';

export interface DistributionFilename {
  /** The name part as written in the filename. */
  readonly name: string;
  readonly version: string;
  readonly kind: DistributionKind;
}

const SDIST_EXTENSIONS = ['.tar.gz', '.tgz', '.tar.bz2', '.tbz', '.tbz2', '.tar.xz', '.txz', '.tar.zst', '.tar.Z', '.tar', '.zip'];
const WININST = /\.(?:win32|win-amd64|win-arm64|win-ia64)(?:-py\d+(?:\.\d+)?)?\.(?:exe|msi)$/i;
const VERSION_CHARS = /^[A-Za-z0-9_.!+-]+$/;

function stripExtension(filename: string, extensions: readonly string[]): string | null {
  const lower = filename.toLowerCase();
  for (const ext of extensions) {
    if (lower.endsWith(ext.toLowerCase()) && filename.length > ext.length) return filename.slice(0, -ext.length);
  }
  return null;
}

function checkedVersion(version: string): string | null {
  return version.length > 0 && VERSION_CHARS.test(version) && /\d/.test(version) ? version : null;
}

/** Splits `{name}-{version}`, where the name may hold dashes, using the project name when known. */
function splitNameVersion(stem: string, project: string | undefined): { name: string; version: string } | null {
  if (project !== undefined) {
    const want = canonicalizeName(project);
    for (let at = stem.indexOf('-'); at > 0; at = stem.indexOf('-', at + 1)) {
      if (canonicalizeName(stem.slice(0, at)) === want) {
        const version = checkedVersion(stem.slice(at + 1));
        return version === null ? null : { name: stem.slice(0, at), version };
      }
    }
    return null;
  }
  const at = stem.lastIndexOf('-');
  if (at <= 0) return null;
  const version = checkedVersion(stem.slice(at + 1));
  return version === null ? null : { name: stem.slice(0, at), version };
}

function nameMatches(name: string, project: string | undefined): boolean {
  return project === undefined || canonicalizeName(name) === canonicalizeName(project);
}

export function parseDistributionFilename(filename: string, project?: string): DistributionFilename | null {
  const base = filename.slice(filename.lastIndexOf('/') + 1);
  if (base.toLowerCase().endsWith('.whl')) {
    const parts = base.slice(0, -4).split('-');
    if (parts.length !== 5 && parts.length !== 6) return null;
    const [name = '', rawVersion = ''] = parts;
    const version = checkedVersion(rawVersion);
    if (!name || version === null || !nameMatches(name, project)) return null;
    return { name, version, kind: 'wheel' };
  }
  if (base.toLowerCase().endsWith('.egg')) {
    const parts = base.slice(0, -4).split('-');
    // The platform (after the `py` tag) may itself hold dashes: `linux-x86_64`.
    if (parts.length < 2 || (parts.length > 2 && !/^py\d/.test(parts[2] ?? ''))) return null;
    const [name = '', rawVersion = ''] = parts;
    const version = checkedVersion(rawVersion);
    if (!name || version === null || !nameMatches(name, project)) return null;
    return { name, version, kind: 'egg' };
  }
  const installer = WININST.exec(base);
  if (installer) {
    const split = splitNameVersion(base.slice(0, installer.index), project);
    return split && { ...split, kind: 'wininst' };
  }
  const stem = stripExtension(base, SDIST_EXTENSIONS);
  if (stem === null) return null;
  const split = splitNameVersion(stem, project);
  return split && { ...split, kind: 'sdist' };
}
