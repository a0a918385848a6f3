/**
 * `pkgstream package list`, `package show` and `events`: what the service found, read with
 * the same queries as the API, as aligned columns on a terminal or JSON with `--json`.
 */
import { listEvents, searchProjects, type EventView } from '../db/index.js';
import type { ReleaseView } from '../db/project-catalog.js';
import { quoteText } from '../domain/quote.js';
import { parseSince } from '../http/query-schemas.js';
import { indexNamed, projectDetail } from '../http/read-model.js';
import { configuredPriority } from './adapters.js';
import { UsageError, type Command, type CommandContext } from './command.js';
import { parseProjectArgument } from './arguments.js';
import { withServiceOrDatabase } from './with-database.js';

/** Rows as columns padded to their widest cell. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** The items of a keyset-paged read, page after page (each `next` the following cursor), at most `most`. */
async function allPages<T, C>(read: (cursor: C | undefined) => Promise<{ items: readonly T[]; next: C | null }>, most = Infinity): Promise<T[]> {
  const all: T[] = [];
  for (let cursor: C | undefined; all.length < most; ) {
    const page = await read(cursor);
    all.push(...page.items);
    if (page.next === null) break;
    cursor = page.next;
  }
  return all.slice(0, most);
}

const option = (context: CommandContext, name: string) => context.options[name] as string | undefined;

const json = { type: 'boolean', help: 'print JSON instead of a table' } as const;

const packageList: Command = {
  words: ['package', 'list'],
  args: '',
  summary: 'list the known projects (by normalized name prefix with --q)',
  arity: [0, 0],
  options: { index: { type: 'string', help: 'only projects of this index (simple URL)' }, q: { type: 'string', help: 'name prefix (normalized as PEP 503 does)' }, json },
  async run(context) {
    const [q, index] = [option(context, 'q'), option(context, 'index')];
    const items = await withServiceOrDatabase(context, {
      service: (client) => allPages((cursor: string | undefined) => client.listProjects({ q, index, cursor })),
      async database(database) {
        const indexId = index === undefined ? undefined : (await indexNamed(database.pool, index)).id;
        return allPages((after: { project: string; indexId: number } | undefined) => searchProjects(database.pool, { q, indexId, after, limit: 1000 }));
      },
    });
    if (context.options.json === true) context.out.write(`${JSON.stringify(items)}\n`);
    else context.out.write(formatTable(['PROJECT', 'RELEASES', 'INDEX'], items.map((item) => [item.project, String(item.releases), item.indexUrl])));
    return 0;
  },
};

const releaseRow = (release: ReleaseView) => [
  release.version,
  release.state,
  release.lastCheckedAt ?? '-',
  release.nextDueAt,
  release.digests.filter((digest) => digest.present).map((digest) => `${digest.filename}=${digest.sha256 ?? 'none'}`).join(' '),
];

/** PEP 792: a project that is not active says so on the heading line, with the index's reason (quoted: text from outside). */
const statusLine = (detail: { status: string; statusReason: string | null }): string =>
  detail.status === 'active' ? '' : ` (${detail.status}${detail.statusReason ? `: ${quoteText(detail.statusReason)}` : ''})`;

const packageShow: Command = {
  words: ['package', 'show'],
  args: '<name>',
  summary: "show a project's releases: state, digests, last checked, next due",
  arity: [1, 1],
  options: { index: { type: 'string', help: 'the index (simple URL), when several know the project' }, json },
  async run(context) {
    const project = parseProjectArgument(context.positionals[0] ?? '');
    const index = option(context, 'index');
    const detail = await withServiceOrDatabase(context, {
      service: (client) => client.showProject(project, index),
      database: (database) => projectDetail({ db: database.pool, priority: configuredPriority(context.config) }, project, index),
    });
    if (context.options.json === true) context.out.write(`${JSON.stringify(detail)}\n`);
    else context.out.write(`${detail.project} on ${detail.indexUrl}${statusLine(detail)}\n${formatTable(['VERSION', 'STATE', 'LAST CHECKED', 'NEXT DUE', 'SHA256'], detail.releases.map(releaseRow))}`);
    return 0;
  },
};

const EVENTS_SHOWN = 1000;

const eventRow = (event: EventView) => [event.createdAt, event.kind, event.project, event.version ?? '-', event.indexUrl];

const eventsCommand: Command = {
  words: ['events'],
  args: '',
  summary: 'the history of events, newest first',
  arity: [0, 0],
  options: {
    project: { type: 'string', help: 'only this project' },
    kind: { type: 'string', help: 'only this kind (package-released, hash-mismatch, ...)' },
    since: { type: 'string', help: 'only since this ISO time or duration back (30m, 24h, 7d)' },
    json,
  },
  async run(context) {
    const sinceText = option(context, 'since');
    const since = sinceText === undefined ? undefined : parseSince(sinceText);
    if (since === null) throw new UsageError(`--since must be an ISO time or a duration (30m, 24h, 7d), not ${JSON.stringify(sinceText)}`);
    const projectText = option(context, 'project');
    const project = projectText === undefined ? undefined : parseProjectArgument(projectText);
    const kind = option(context, 'kind');
    const items = await withServiceOrDatabase(context, {
      // The API's pages, up to the same EVENTS_SHOWN newest as read from the database.
      service: (client) => allPages((cursor: string | undefined) => client.listEvents({ project, kind, since: sinceText, cursor }), EVENTS_SHOWN),
      database: async (database) => (await listEvents(database.pool, { project, kind, since, limit: EVENTS_SHOWN })).items,
    });
    if (context.options.json === true) context.out.write(`${JSON.stringify(items)}\n`);
    else context.out.write(formatTable(['TIME', 'KIND', 'PROJECT', 'VERSION', 'INDEX'], items.map(eventRow)));
    return 0;
  },
};

export const catalogCommands: readonly Command[] = [packageList, packageShow, eventsCommand];
