/**
 * The local index's content: projects, releases and files with their bytes, set by tests,
 * the seed or the admin route. Every change is a journal entry with the next global serial
 * (journal.ts), as on Warehouse. Derived values (bytes, digests, times) are deterministic.
 */
import { artifactBytes, canonical, distName } from './artifacts.js';
import { defaultFiles, fileEntry, pythonVersionOf, withContent, type FileSpec, type IndexFileEntry } from './files.js';
import { Journal } from './journal.js';

export { canonical } from './artifacts.js';

/** PEP 792 project status. */
export type ProjectStatus = 'active' | 'archived' | 'quarantined' | 'deprecated';
export const PROJECT_STATUSES: readonly ProjectStatus[] = ['active', 'archived', 'quarantined', 'deprecated'];

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
  status: ProjectStatus;
  statusReason: string | null;
  /** The serial of the project's newest journal entry. */
  lastSerial: number;
  /** In upload order. */
  releases: ReleaseEntry[];
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
  status?: ProjectStatus;
  statusReason?: string | null;
}

export class IndexModel {
  private readonly projects = new Map<string, ProjectEntry>();
  readonly journal = new Journal();
  private clock: number;
  private seq = 0;

  constructor(start: Date = new Date('2024-01-01T00:00:00Z')) {
    this.clock = start.getTime();
  }

  /** The newest serial of the whole index, like Warehouse's `max(journals.id)`. */
  get serial(): number {
    return this.journal.serial;
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

  private record(project: ProjectEntry, version: string | null, action: string): void {
    project.lastSerial = this.journal.record(project.name, version, action, new Date());
  }

  project(name: string): ProjectEntry | undefined {
    return this.projects.get(canonical(name));
  }

  /** Every project, in PEP 503 name order (as Warehouse's root listing). */
  allProjects(): ProjectEntry[] {
    return [...this.projects.values()].sort((a, b) => (a.canonical < b.canonical ? -1 : a.canonical > b.canonical ? 1 : 0));
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
      status: 'active',
      statusReason: null,
      lastSerial: 0,
      releases: [],
    };
    this.projects.set(key, entry);
    this.record(entry, null, 'create');
    if (options.status && options.status !== 'active') this.setStatus(name, options.status, options.statusReason ?? null);
    return entry;
  }

  /** Adds (or replaces) a release; files default to a wheel and an sdist generated for it. */
  addRelease(name: string, version: string, files?: FileSpec[], options: ReleaseOptions = {}): ReleaseEntry {
    const project = this.project(name) ?? this.addProject(name, options.uploadTime ? { createdAt: options.uploadTime } : {});
    const uploadTime = options.uploadTime ?? this.tick();
    const summary = options.summary ?? project.summary;
    const author = options.author === undefined ? project.author : options.author;
    const release: ReleaseEntry = { version, uploadTime, summary, author, yanked: false, yankedReason: null, seq: (this.seq += 1), files: [] };
    release.files = (files ?? defaultFiles(project.name, version)).map((spec, i) => {
      const filename = spec.filename ?? `${distName(project.name)}-${version}-${i}.tar.gz`;
      const requiresPython = spec.requiresPython === undefined ? (options.requiresPython ?? '>=3.8') : spec.requiresPython;
      const fileTime = spec.uploadTime ?? uploadTime;
      const content =
        spec.content === undefined
          ? artifactBytes({ project: project.name, version, filename, summary, author, requiresPython, uploadTime: fileTime })
          : Buffer.from(spec.content);
      return fileEntry({ filename, uploadTime: fileTime, requiresPython, content }, spec);
    });
    const at = project.releases.findIndex((r) => r.version === version);
    if (at >= 0) project.releases.splice(at, 1);
    project.releases.push(release);
    this.record(project, version, 'new release');
    for (const file of release.files) this.record(project, version, `add ${pythonVersionOf(file)} file ${file.filename}`);
    return release;
  }

  release(name: string, version: string): ReleaseEntry | undefined {
    return this.project(name)?.releases.find((r) => r.version === version);
  }

  private requireProject(name: string): ProjectEntry {
    const project = this.project(name);
    if (!project) throw new Error(`index-server: no project ${name}`);
    return project;
  }

  private requireRelease(name: string, version: string): ReleaseEntry {
    const release = this.release(name, version);
    if (!release) throw new Error(`index-server: no release ${name} ${version}`);
    return release;
  }

  private requireFile(name: string, version: string, filename: string): IndexFileEntry {
    const file = this.requireRelease(name, version).files.find((f) => f.filename === filename);
    if (!file) throw new Error(`index-server: no file ${filename} in ${name} ${version}`);
    return file;
  }

  removeVersion(name: string, version: string): boolean {
    const project = this.project(name);
    if (!project) return false;
    const before = project.releases.length;
    project.releases = project.releases.filter((r) => r.version !== version);
    if (project.releases.length === before) return false;
    this.record(project, version, 'remove release');
    return true;
  }

  removeProject(name: string): boolean {
    const project = this.project(name);
    if (!project) return false;
    this.projects.delete(project.canonical);
    this.record(project, null, 'remove project');
    return true;
  }

  yank(name: string, version: string, reason: string | null = null): void {
    const release = this.requireRelease(name, version);
    release.yanked = true;
    release.yankedReason = reason;
    this.record(this.requireProject(name), version, 'yank release');
  }

  unyank(name: string, version: string): void {
    const release = this.requireRelease(name, version);
    release.yanked = false;
    release.yankedReason = null;
    this.record(this.requireProject(name), version, 'unyank release');
  }

  /** PEP 792: sets the project's status (and its optional reason). */
  setStatus(name: string, status: ProjectStatus, reason: string | null = null): void {
    const project = this.requireProject(name);
    project.status = status;
    project.statusReason = reason;
    this.record(project, null, `project status ${status}`);
  }

  /** Sets one file's reported sha256, its bytes unchanged (any string: a changed or a malformed digest). */
  setSha(name: string, version: string, filename: string, sha256: string): void {
    this.requireFile(name, version, filename).sha256 = sha256;
    this.record(this.requireProject(name), version, `change digest of file ${filename}`);
  }

  /**
   * Replaces one file's bytes at the same URL. `rehash` false (default): the index still
   * reports the old digest and size, as a tampered or corrupted store would; true: it reports
   * the new ones, as a private index that lets a file be re-uploaded would.
   */
  setContent(name: string, version: string, filename: string, content: Uint8Array | string, options: { rehash?: boolean } = {}): IndexFileEntry {
    const release = this.requireRelease(name, version);
    const at = release.files.findIndex((f) => f.filename === filename);
    const file = withContent(this.requireFile(name, version, filename), Buffer.from(content), options.rehash ?? false);
    release.files[at] = file;
    this.record(this.requireProject(name), version, `replace file ${filename}`);
    return file;
  }

  /** The file served at `/packages/<path>`, with its project (quarantined projects' files included). */
  fileAt(path: string): { project: ProjectEntry; release: ReleaseEntry; file: IndexFileEntry } | undefined {
    for (const project of this.projects.values()) {
      for (const release of project.releases) {
        const file = release.files.find((f) => f.path === path);
        if (file) return { project, release, file };
      }
    }
    return undefined;
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

  /** Removes every project, each a journal entry: the serial keeps rising. */
  clear(): void {
    for (const project of [...this.projects.values()]) this.removeProject(project.name);
  }
}
