import { addIndex, listIndexes, setIndexEnabled, type IndexOverview } from '../db/index.js';
import { UsageError, type Command } from './command.js';
import { parseSimpleUrl } from './arguments.js';
import { withDatabase, withServiceOrDatabase } from './with-database.js';

const WATCH_MODES = ['all', 'seen'] as const;

const indexAdd: Command = {
  words: ['index', 'add'],
  args: '<simple-url>',
  summary: 'register a package index (PEP 503/691 simple API)',
  arity: [1, 1],
  options: {
    warehouse: { type: 'boolean', help: 'a Warehouse (PyPI) instance: JSON API at <origin>/pypi, feeds at <origin>/rss' },
    watch: { type: 'string', help: 'which projects to watch for releases: all | seen (default seen)' },
    disabled: { type: 'boolean', help: 'register it disabled' },
  },
  async run(context) {
    const simpleUrl = parseSimpleUrl(context.positionals[0] ?? '');
    const watch = (context.options.watch as string | undefined) ?? 'seen';
    if (!WATCH_MODES.includes(watch as (typeof WATCH_MODES)[number])) {
      throw new UsageError(`--watch must be one of ${WATCH_MODES.join(', ')}, not ${JSON.stringify(watch)}`);
    }
    const index = await withDatabase(context, (database) =>
      addIndex(database.pool, {
        simpleUrl,
        warehouse: context.options.warehouse === true,
        watchMode: watch as (typeof WATCH_MODES)[number],
        enabled: context.options.disabled !== true,
      }),
    );
    context.out.write(`index ${index.simpleUrl} registered (watch ${index.watchMode}${index.enabled ? '' : ', disabled'})\n`);
    return 0;
  },
};

const indexList: Command = {
  words: ['index', 'list'],
  args: '',
  summary: 'list the registered indexes',
  arity: [0, 0],
  async run(context) {
    const indexes = await withServiceOrDatabase<readonly Pick<IndexOverview, 'simpleUrl' | 'enabled' | 'watchMode' | 'jsonApiUrl' | 'rssUrl'>[]>(context, {
      service: async (client) => (await client.listIndexes()).items,
      database: (database) => listIndexes(database.pool),
    });
    const rows = indexes.map((index) => [
      index.simpleUrl,
      index.enabled ? 'enabled' : 'disabled',
      `watch=${index.watchMode}`,
      index.jsonApiUrl ? `json=${index.jsonApiUrl}` : 'json=-',
      index.rssUrl ? `rss=${index.rssUrl}` : 'rss=-',
    ]);
    for (const row of rows) context.out.write(`${row.join('\t')}\n`);
    return 0;
  },
};

function indexToggle(enabled: boolean): Command {
  return {
    words: ['index', enabled ? 'enable' : 'disable'],
    args: '<simple-url>',
    summary: `${enabled ? 'enable' : 'disable'} a registered index`,
    arity: [1, 1],
    async run(context) {
      const simpleUrl = parseSimpleUrl(context.positionals[0] ?? '');
      const found = await withDatabase(context, (database) => setIndexEnabled(database.pool, simpleUrl, enabled));
      if (!found) throw new UsageError(`no index registered at ${simpleUrl}`);
      context.out.write(`index ${simpleUrl} ${enabled ? 'enabled' : 'disabled'}\n`);
      return 0;
    },
  };
}

export const indexCommands: readonly Command[] = [indexAdd, indexList, indexToggle(true), indexToggle(false)];
