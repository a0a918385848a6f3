/**
 * The local index's content: projects, releases and files, set programmatically by tests.
 * Everything derived (digests, times, serials) is deterministic so that tests and
 * benchmarks can assert on exact values.
 */
import { createHash } from 'node:crypto';

export interface IndexFileEntry {
  filename: string;
  sha256: string;
  md5: string;
  blake2b256: string;
  size: number;
  uploadTime: Date;
  requiresPython: string | null;
  packagetype: 'bdist_wheel' | 'sdist' | 'bdist_egg';
}

export interface ReleaseEntry {
  /** Version string as uploaded. */
  version: string;
  uploadTime: Date;
  summary: string;
  author: string | null;
  yanked: boolean;
  yankedReason: string | null;
  files: IndexFileEntry[];
  /** Order of addition, across the whole index. */
  seq: number;
}

export interface ProjectEntry {
  /** Display name as first registered. */
  name: string;
  canonical: string;
  createdAt: Date;
  summary: string;
  author: string | null;
  /** In upload order. */
  releases: ReleaseEntry[];
}

export interface FileSpec {
  filename?: string;
  sha256?: string;
  size?: number;
  uploadTime?: Date;
  requiresPython?: string | null;
}

export interface ReleaseOptions {
  uploadTime?: Date;
  summary?: string;
  author?: string | null;
  requiresPython?: string | null;
}

export interface ProjectOptions {
  createdAt?: Date;
  summary?: string;
  author?: string | null;
}

/** PEP 503 normalization. */
export function canonical(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

function hex(algorithm: string, text: string): string {
  return createHash(algorithm).update(text).digest('hex');
}

/** The sha256 the index reports for a file it was not given a digest for. */
export function deterministicSha256(project: string, version: string, filename: string): string {
  return hex('sha256', `${canonical(project)}/${version}/${filename}`);
}

function packagetypeOf(filename: string): IndexFileEntry['packagetype'] {
  if (filename.endsWith('.whl')) return 'bdist_wheel';
  if (filename.endsWith('.egg')) return 'bdist_egg';
  return 'sdist';
}

/** Default files of a release: a pure-Python wheel and an sdist, as modern uploads have. */
export function defaultFiles(name: string, version: string): FileSpec[] {
  const wheelName = canonical(name).replace(/-/g, '_');
  return [{ filename: `${wheelName}-${version}-py3-none-any.whl` }, { filename: `${wheelName}-${version}.tar.gz` }];
}

export class IndexModel {
  private readonly projects = new Map<string, ProjectEntry>();
  private clock: number;
  /** Bumped on every change, like Warehouse's `last_serial`. */
  serial = 0;

  constructor(start: Date = new Date('2024-01-01T00:00:00Z')) {
    this.clock = start.getTime();
  }

  /** The time the next upload without an explicit time gets; each upload moves it on by 1 s. */
  setClock(date: Date): void {
    this.clock = date.getTime();
  }

  private tick(): Date {
    const now = new Date(this.clock);
    this.clock += 1000;
    return now;
  }

  project(name: string): ProjectEntry | undefined {
    return this.projects.get(canonical(name));
  }

  allProjects(): ProjectEntry[] {
    return [...this.projects.values()];
  }

  addProject(name: string, options: ProjectOptions = {}): ProjectEntry {
    const key = canonical(name);
    const existing = this.projects.get(key);
    if (existing) return existing;
    const entry: ProjectEntry = {
      name,
      canonical: key,
      createdAt: options.createdAt ?? this.tick(),
      summary: options.summary ?? `The ${name} project`,
      author: options.author === undefined ? `${key}@example.org` : options.author,
      releases: [],
    };
    this.projects.set(key, entry);
    this.serial += 1;
    return entry;
  }

  /** Adds (or replaces) a release; files default to a wheel and an sdist with deterministic sha256. */
  addRelease(name: string, version: string, files?: FileSpec[], options: ReleaseOptions = {}): ReleaseEntry {
    const project = this.project(name) ?? this.addProject(name, options.uploadTime ? { createdAt: options.uploadTime } : {});
    const uploadTime = options.uploadTime ?? this.tick();
    const release: ReleaseEntry = {
      version,
      uploadTime,
      summary: options.summary ?? project.summary,
      author: options.author === undefined ? project.author : options.author,
      yanked: false,
      yankedReason: null,
      seq: this.serial,
      files: (files ?? defaultFiles(project.name, version)).map((spec, i) => {
        const filename = spec.filename ?? `${canonical(project.name).replace(/-/g, '_')}-${version}-${i}.tar.gz`;
        return {
          filename,
          sha256: spec.sha256 ?? deterministicSha256(project.name, version, filename),
          md5: hex('md5', `${project.canonical}/${version}/${filename}`),
          blake2b256: hex('sha256', `blake2b:${project.canonical}/${version}/${filename}`),
          size: spec.size ?? 1000 + filename.length,
          uploadTime: spec.uploadTime ?? uploadTime,
          requiresPython: spec.requiresPython === undefined ? (options.requiresPython ?? '>=3.8') : spec.requiresPython,
          packagetype: packagetypeOf(filename),
        };
      }),
    };
    const at = project.releases.findIndex((r) => r.version === version);
    if (at >= 0) project.releases.splice(at, 1);
    project.releases.push(release);
    this.serial += 1;
    return release;
  }

  release(name: string, version: string): ReleaseEntry | undefined {
    return this.project(name)?.releases.find((r) => r.version === version);
  }

  private requireRelease(name: string, version: string): ReleaseEntry {
    const release = this.release(name, version);
    if (!release) throw new Error(`index-server: no release ${name} ${version}`);
    return release;
  }

  removeVersion(name: string, version: string): boolean {
    const project = this.project(name);
    if (!project) return false;
    const before = project.releases.length;
    project.releases = project.releases.filter((r) => r.version !== version);
    this.serial += 1;
    return project.releases.length < before;
  }

  removeProject(name: string): boolean {
    this.serial += 1;
    return this.projects.delete(canonical(name));
  }

  yank(name: string, version: string, reason: string | null = null): void {
    const release = this.requireRelease(name, version);
    release.yanked = true;
    release.yankedReason = reason;
    this.serial += 1;
  }

  unyank(name: string, version: string): void {
    const release = this.requireRelease(name, version);
    release.yanked = false;
    release.yankedReason = null;
    this.serial += 1;
  }

  /** Sets one file's sha256 (any string: tests use this for a changed or a malformed digest). */
  setSha(name: string, version: string, filename: string, sha256: string): void {
    const file = this.requireRelease(name, version).files.find((f) => f.filename === filename);
    if (!file) throw new Error(`index-server: no file ${filename} in ${name} ${version}`);
    file.sha256 = sha256;
    this.serial += 1;
  }

  /** Every release of every project, newest upload first (ties: later added first). */
  recentReleases(): { project: ProjectEntry; release: ReleaseEntry }[] {
    const all: { project: ProjectEntry; release: ReleaseEntry }[] = [];
    for (const project of this.projects.values()) {
      for (const release of project.releases) all.push({ project, release });
    }
    all.sort((a, b) => b.release.uploadTime.getTime() - a.release.uploadTime.getTime() || b.release.seq - a.release.seq);
    return all;
  }

  clear(): void {
    this.projects.clear();
    this.serial += 1;
  }
}
