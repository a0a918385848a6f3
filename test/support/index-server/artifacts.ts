/**
 * The bytes of each file the local index serves, generated from what the index knows of
 * it: a wheel is a zip with `<pkg>/__init__.py` and `<dist>-<ver>.dist-info/` METADATA,
 * WHEEL and RECORD (pip reads and checks them); an sdist is `<name>-<ver>/PKG-INFO`,
 * `pyproject.toml`, the module and an in-tree build backend (build-backend.ts, so pip builds
 * it offline), as a tar.gz or a zip. Deterministic: the same inputs give
 * the same bytes, so digests are stable.
 */
import { createHash } from 'node:crypto';
import { tarGzArchive, zipArchive, type ArchiveEntry } from './archive.js';
import { BUILD_BACKEND_MODULE, BUILD_BACKEND_SOURCE } from './build-backend.js';

export interface ArtifactSpec {
  /** Display name of the project. */
  readonly project: string;
  readonly version: string;
  readonly filename: string;
  readonly summary: string;
  readonly author: string | null;
  readonly requiresPython: string | null;
  readonly uploadTime: Date;
  /** Added to the module so that a re-generated file has other bytes (a changed upload). */
  readonly revision?: number;
}

/** PEP 503 normalization. */
export function canonical(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The name as wheels and sdists spell it (PEP 427/625): runs of `-_.` become `_`, lowercase. */
export function distName(name: string): string {
  return canonical(name).replace(/-/g, '_');
}

function metadata(spec: ArtifactSpec): string {
  const lines = ['Metadata-Version: 2.1', `Name: ${spec.project}`, `Version: ${spec.version}`, `Summary: ${spec.summary.replace(/\s+/g, ' ')}`];
  if (spec.author) lines.push(`Author-email: ${spec.author}`);
  if (spec.requiresPython) lines.push(`Requires-Python: ${spec.requiresPython}`);
  return `${lines.join('\n')}\n\n`;
}

function moduleSource(spec: ArtifactSpec): string {
  const revision = spec.revision ? `__revision__ = ${spec.revision}\n` : '';
  return `"""${spec.summary.replace(/"""/g, "'''")}"""\n__version__ = ${JSON.stringify(spec.version)}\n${revision}`;
}

function recordDigest(data: Buffer): string {
  return `sha256=${createHash('sha256').update(data).digest('base64url')}`;
}

function text(path: string, content: string): ArchiveEntry {
  return { path, data: Buffer.from(content, 'utf8') };
}

function wheel(spec: ArtifactSpec): Buffer {
  // The dist-info directory and the tag follow the filename, so pip's checks of one against the other pass.
  const parts = spec.filename.slice(0, -'.whl'.length).split('-');
  const [dist = distName(spec.project), version = spec.version] = parts;
  const tag = parts.length >= 5 ? parts.slice(-3).join('-') : 'py3-none-any';
  const info = `${dist}-${version}.dist-info`;
  const files = [
    text(`${distName(spec.project)}/__init__.py`, moduleSource(spec)),
    text(`${info}/METADATA`, metadata(spec)),
    text(`${info}/WHEEL`, `Wheel-Version: 1.0\nGenerator: pkgstream-index-server\nRoot-Is-Purelib: true\nTag: ${tag}\n`),
  ];
  const record = [...files.map((f) => `${f.path},${recordDigest(f.data)},${f.data.length}`), `${info}/RECORD,,`].join('\n');
  return zipArchive([...files, text(`${info}/RECORD`, `${record}\n`)], spec.uploadTime);
}

function sdistEntries(spec: ArtifactSpec, root: string): ArchiveEntry[] {
  return [
    text(`${root}/PKG-INFO`, metadata(spec)),
    text(
      `${root}/pyproject.toml`,
      `[build-system]\nrequires = []\nbuild-backend = "${BUILD_BACKEND_MODULE}"\nbackend-path = ["."]\n\n` +
        `[project]\nname = ${JSON.stringify(spec.project)}\nversion = ${JSON.stringify(spec.version)}\n` +
        `description = ${JSON.stringify(spec.summary)}\n` +
        (spec.requiresPython ? `requires-python = ${JSON.stringify(spec.requiresPython)}\n` : ''),
    ),
    text(`${root}/${BUILD_BACKEND_MODULE}.py`, BUILD_BACKEND_SOURCE),
    text(`${root}/${distName(spec.project)}/__init__.py`, moduleSource(spec)),
  ];
}

/** The bytes of one file; its kind follows the filename's extension. */
export function artifactBytes(spec: ArtifactSpec): Buffer {
  const { filename } = spec;
  if (filename.endsWith('.whl')) return wheel(spec);
  if (filename.endsWith('.tar.gz')) return tarGzArchive(sdistEntries(spec, filename.slice(0, -'.tar.gz'.length)), spec.uploadTime);
  if (filename.endsWith('.zip')) return zipArchive(sdistEntries(spec, filename.slice(0, -'.zip'.length)), spec.uploadTime);
  if (filename.endsWith('.egg')) return zipArchive([text('EGG-INFO/PKG-INFO', metadata(spec)), text(`${distName(spec.project)}/__init__.py`, moduleSource(spec))], spec.uploadTime);
  return Buffer.from(`${spec.project} ${spec.version} ${filename}\n${moduleSource(spec)}`, 'utf8');
}
