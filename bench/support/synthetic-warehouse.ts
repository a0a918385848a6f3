/**
 * Warehouse's shape over the synthetic index, holding only what changed: N listed projects
 * `<prefix><i>` of the seed's versions (bench/support/seed.ts), project i at serial i + 1 and
 * the index at N, so a sync whose stored listing serial is N reads nothing. Each change
 * (a new version, a yank, a removed version) is a journal entry with the next serial, as on
 * Warehouse; a new version is also an item of the updates feed (the newest 100, newest
 * first), a yank or a removal only raises the serial (Warehouse's feeds list uploads). The
 * new-projects feed stays empty: no project is created.
 */
import { rfc822 } from '../../test/support/index-server/rss.js';
import { projectName, versionName } from './seed.js';

const FEED_ITEMS = 100;

interface ChangedProject {
  serial: number;
  readonly versions: string[];
  readonly yanked: Set<string>;
}

export interface ListedPage {
  readonly versions: readonly string[];
  readonly yanked: ReadonlySet<string>;
  readonly serial: number;
}

export class SyntheticWarehouse {
  private last: number;
  private readonly changed = new Map<string, ChangedProject>();
  /** Newest last. */
  private readonly feed: { readonly project: string; readonly version: string; readonly at: Date }[] = [];

  constructor(
    readonly prefix: string,
    readonly projects: number,
    readonly versionsPerProject: number,
  ) {
    this.last = projects;
  }

  /** The index's `_last-serial`. */
  get serial(): number {
    return this.last;
  }

  private numberOf(project: string): number | null {
    if (!project.startsWith(this.prefix)) return null;
    const n = Number(project.slice(this.prefix.length));
    return Number.isInteger(n) && n >= 0 && n < this.projects && projectName(this.prefix, n) === project ? n : null;
  }

  /** The project's page as it stands; null: not on the index. */
  page(project: string): ListedPage | null {
    const found = this.changed.get(project);
    if (found) return found;
    const n = this.numberOf(project);
    if (n === null) return null;
    return { versions: Array.from({ length: this.versionsPerProject }, (_, j) => versionName(j)), yanked: new Set(), serial: n + 1 };
  }

  private change(project: string, edit: (entry: ChangedProject) => void): void {
    const current = this.page(project);
    if (current === null) throw new Error(`synthetic warehouse: no project ${project}`);
    const entry = this.changed.get(project) ?? { serial: current.serial, versions: [...current.versions], yanked: new Set(current.yanked) };
    edit(entry);
    this.last += 1;
    entry.serial = this.last;
    this.changed.set(project, entry);
  }

  addVersion(project: string, version: string, at = new Date()): void {
    this.change(project, (entry) => entry.versions.push(version));
    this.feed.push({ project, version, at });
    if (this.feed.length > FEED_ITEMS) this.feed.shift();
  }

  yank(project: string, version: string): void {
    this.change(project, (entry) => entry.yanked.add(version));
  }

  removeVersion(project: string, version: string): void {
    this.change(project, (entry) => {
      const at = entry.versions.indexOf(version);
      if (at >= 0) entry.versions.splice(at, 1);
    });
  }

  /** The PEP 691 root listing with serials, about 64 KB at a time. */
  *listing(): Generator<string> {
    let text = `{"meta":{"api-version":"1.1","_last-serial":${this.last}},"projects":[`;
    for (let n = 0; n < this.projects; n += 1) {
      const name = projectName(this.prefix, n);
      text += `${n === 0 ? '' : ','}{"name":"${name}","_last-serial":${this.changed.get(name)?.serial ?? n + 1}}`;
      if (text.length >= 64 * 1024) {
        yield text;
        text = '';
      }
    }
    yield `${text}]}`;
  }

  /** `updates.xml` (the new versions, newest first) or `packages.xml` (empty). */
  rss(feed: 'updates' | 'packages', origin: string): string {
    const items =
      feed === 'packages'
        ? []
        : [...this.feed].reverse().map(
            (item) =>
              `<item><title>${item.project} ${item.version}</title><link>${origin}/project/${item.project}/${item.version}/</link>` +
              `<description></description><pubDate>${rfc822(item.at)}</pubDate></item>`,
          );
    return `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>synthetic ${feed}</title><link>${origin}/</link><description>${feed}</description>${items.join('')}</channel></rss>\n`;
  }
}
