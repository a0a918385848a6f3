/** One file of a release on the local index: its bytes, and what the index reports of them. */
import { createHash } from 'node:crypto';
import { distName } from './artifacts.js';

export interface IndexFileEntry {
  filename: string;
  /** The digest the index reports (that of `content`, unless a test set another). */
  sha256: string;
  md5: string;
  blake2b256: string;
  /** The size the index reports (that of `content`, unless a test set another). */
  size: number;
  uploadTime: Date;
  requiresPython: string | null;
  packagetype: 'bdist_wheel' | 'sdist' | 'bdist_egg';
  /** The bytes served at `/packages/<path>`. */
  content: Buffer;
  /** The URL path under `/packages/`, fixed at upload like Warehouse's (digest-based). */
  path: string;
}

export interface FileSpec {
  filename?: string;
  /** The digest to report instead of the bytes' own (a test of a wrong or malformed digest). */
  sha256?: string;
  /** The size to report instead of the bytes' own. */
  size?: number;
  uploadTime?: Date;
  requiresPython?: string | null;
  /** The file's bytes; default: a generated wheel or sdist (artifacts.ts). */
  content?: Uint8Array | string;
}

/** What the index reports of a file's bytes. */
type Reported = Pick<IndexFileEntry, 'sha256' | 'md5' | 'blake2b256' | 'size'>;

const hex = (algorithm: string, data: Buffer): string => createHash(algorithm).update(data).digest('hex');

export function packagetypeOf(filename: string): IndexFileEntry['packagetype'] {
  if (filename.endsWith('.whl')) return 'bdist_wheel';
  if (filename.endsWith('.egg')) return 'bdist_egg';
  return 'sdist';
}

/** Warehouse's `python_version` of a file, as its journal's "add <python_version> file" says. */
export function pythonVersionOf(file: IndexFileEntry): string {
  return file.packagetype === 'sdist' ? 'source' : 'py3';
}

/** Default files of a release: a pure-Python wheel and an sdist, as modern uploads have. */
export function defaultFiles(name: string, version: string): FileSpec[] {
  return [{ filename: `${distName(name)}-${version}-py3-none-any.whl` }, { filename: `${distName(name)}-${version}.tar.gz` }];
}

function digestsOf(content: Buffer): Reported {
  return {
    sha256: hex('sha256', content),
    md5: hex('md5', content),
    // Node has no BLAKE2b-256; a stand-in of the same shape, derived from the bytes.
    blake2b256: hex('sha256', Buffer.concat([Buffer.from('blake2b:'), content])),
    size: content.length,
  };
}

/** A new file: digests and size of its bytes (unless the spec overrides what is reported), a path from its digest. */
export function fileEntry(file: Pick<IndexFileEntry, 'filename' | 'uploadTime' | 'requiresPython' | 'content'>, spec: FileSpec = {}): IndexFileEntry {
  const own = digestsOf(file.content);
  return {
    ...file,
    ...own,
    sha256: spec.sha256 ?? own.sha256,
    size: spec.size ?? own.size,
    packagetype: packagetypeOf(file.filename),
    path: `${own.sha256.slice(0, 2)}/${own.sha256.slice(2, 4)}/${own.sha256.slice(4)}/${file.filename}`,
  };
}

/** The file with other bytes at the same URL; reporting the new digests only when `rehash`. */
export function withContent(file: IndexFileEntry, content: Buffer, rehash: boolean): IndexFileEntry {
  return rehash ? { ...file, content, ...digestsOf(content) } : { ...file, content };
}
