/**
 * `pkgstream package list`, `package show` and `events`: what the service found, read with
 * the same queries as the API, as aligned columns on a terminal or JSON with `--json`.
 */
import { listEvents, searchProjects, type EventView } from '../db/index.js';
import type { ReleaseView } from '../db/project-catalog.js';
import { ApiError } from '../http/api-error.js';
import { parseSince } from '../http/query-schemas.js';
import { indexNamed, projectDetail } from '../http/read-model.js';
import { UsageError, type Command, type CommandContext } from './command.js';
import { parseProjectArgument } from './arguments.js';
import { withDatabase } from './with-database.js';

/** Rows as columns padded to their widest cell. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

const option = (context: CommandContext, name: string) => context.options[name] as string | undefined;

/** Runs a read; a "not found" or bad input of the shared read model is a usage error. */
async function reading<T>(context: CommandContext, work: Parameters<typeof withDatabase<T>>[1]): Promise<T> {
  try {
    return await withDatabase(context, work);
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) throw new UsageError(error.message);
    throw error;
  }
}

const json = { type: 'boolean', help: 'print JSON instead of a table' } as const;

const packageList: Command = {
  words: ['package', 'list'],
  args: '',
  summary: 'list the known projects (by normalized name prefix with --q)',
  arity: [0, 0],
  options: { index: { type: 'string', help: 'only projects of this index (simple URL)' }, q: { type: 'string', help: 'name prefix (normalized as PEP 503 does)' }, json },
  async run(context) {
    const items = await reading(context, async (database) => {
      const indexUrl = option(context, 'index');
      const indexId = indexUrl === undefined ? undefined : (await indexNamed(database.pool, indexUrl)).id;
      const all = [];
      let after: { project: string; indexId: number } | undefined;
      for (;;) {
        const page = await searchProjects(database.pool, { q: option(context, 'q'), indexId, after, limit: 1000 });
        all.push(...page.items);
        if (page.next === null) return all;
        after = page.next;
      }
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

const packageShow: Command = {
  words: ['package', 'show'],
  args: '<name>',
  summary: "show a project's releases: state, digests, last checked, next due",
  arity: [1, 1],
  options: { index: { type: 'string', help: 'the index (simple URL), when several know the project' }, json },
  async run(context) {
    const project = parseProjectArgument(context.positionals[0] ?? '');
    const detail = await reading(context, (database) => projectDetail(database.pool, project, option(context, 'index')));
    if (context.options.json === true) context.out.write(`${JSON.stringify(detail)}\n`);
    else context.out.write(`${detail.project} on ${detail.indexUrl}\n${formatTable(['VERSION', 'STATE', 'LAST CHECKED', 'NEXT DUE', 'SHA256'], detail.releases.map(releaseRow))}`);
    return 0;
  },
};

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
    const page = await reading(context, (database) => listEvents(database.pool, { project, kind: option(context, 'kind'), since, limit: 1000 }));
    if (context.options.json === true) context.out.write(`${JSON.stringify(page.items)}\n`);
    else context.out.write(formatTable(['TIME', 'KIND', 'PROJECT', 'VERSION', 'INDEX'], page.items.map(eventRow)));
    return 0;
  },
};

export const catalogCommands: readonly Command[] = [packageList, packageShow, eventsCommand];
