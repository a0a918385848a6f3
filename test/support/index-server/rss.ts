/** Warehouse's three RSS feeds, byte-for-byte in the shape pypi.org serves them. */
import type { IndexModel, ProjectEntry } from './model.js';

export const UPDATES_LIMIT = 100;
export const PACKAGES_LIMIT = 40;
export const PROJECT_RELEASES_LIMIT = 40;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** RFC 822 date in GMT, e.g. `Mon, 01 Jan 2024 00:00:00 GMT`. */
export function rfc822(date: Date): string {
  return date.toUTCString();
}

interface RssItem {
  title: string;
  link: string;
  guid?: string;
  description: string;
  author: string | null;
  pubDate: Date;
}

function channel(origin: string, title: string, description: string, items: RssItem[]): string {
  const body = items
    .map((item) => {
      const parts = [
        `      <title>${escapeXml(item.title)}</title>`,
        `      <link>${escapeXml(item.link)}</link>`,
        item.guid === undefined ? null : `      <guid>${escapeXml(item.guid)}</guid>`,
        `      <description>${escapeXml(item.description)}</description>`,
        item.author === null ? null : `      <author>${escapeXml(item.author)}</author>`,
        `      <pubDate>${rfc822(item.pubDate)}</pubDate>`,
      ].filter((line): line is string => line !== null);
      return `    <item>\n${parts.join('\n')}\n    </item>`;
    })
    .join('\n');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">\n` +
    `  <channel>\n` +
    `    <title>${escapeXml(title)}</title>\n` +
    `    <link>${escapeXml(origin)}/</link>\n` +
    `    <description>${escapeXml(description)}</description>\n` +
    `    <language>en</language>\n` +
    (body ? `${body}\n` : '') +
    `  </channel>\n` +
    `</rss>\n`
  );
}

/** `/rss/updates.xml`: the newest 100 releases, newest first, no guid. */
export function updatesFeed(model: IndexModel, origin: string): string {
  const items = model
    .recentReleases()
    .slice(0, UPDATES_LIMIT)
    .map(({ project, release }) => ({
      title: `${project.name} ${release.version}`,
      link: `${origin}/project/${project.name}/${release.version}/`,
      description: release.summary,
      author: release.author,
      pubDate: release.uploadTime,
    }));
  return channel(origin, 'PyPI recent updates', 'Recent updates to the Python Package Index', items);
}

/** `/rss/packages.xml`: the newest 40 projects, with a guid. */
export function packagesFeed(model: IndexModel, origin: string): string {
  const items = model
    .allProjects()
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .slice(0, PACKAGES_LIMIT)
    .map((project) => ({
      title: `${project.name} added to PyPI`,
      link: `${origin}/project/${project.name}/`,
      guid: `${origin}/project/${project.name}/`,
      description: project.summary,
      author: project.author,
      pubDate: project.createdAt,
    }));
  return channel(origin, 'PyPI newest packages', 'Newest packages registered at the Python Package Index', items);
}

/** `/rss/project/<name>/releases.xml`: the project's newest 40 releases, title = version. */
export function projectReleasesFeed(project: ProjectEntry, origin: string): string {
  const items = [...project.releases]
    .sort((a, b) => b.uploadTime.getTime() - a.uploadTime.getTime() || b.seq - a.seq)
    .slice(0, PROJECT_RELEASES_LIMIT)
    .map((release) => ({
      title: release.version,
      link: `${origin}/project/${project.name}/${release.version}/`,
      description: release.summary,
      author: release.author,
      pubDate: release.uploadTime,
    }));
  return channel(origin, `PyPI recent updates for ${project.name}`, `Recent updates to the Python Package Index for ${project.name}`, items);
}
