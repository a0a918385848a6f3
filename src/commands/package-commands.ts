import { addProject } from '../db/index.js';
import { UsageError, type Command } from './command.js';
import { parseProjectArgument, parseSimpleUrl } from './arguments.js';
import { withServiceOrDatabase } from './with-database.js';

export const DEFAULT_INDEX_URL = 'https://pypi.org/simple';

const packageAdd: Command = {
  words: ['package', 'add'],
  args: '<name>',
  summary: 'register a project as seen, so a `seen` index watches its releases',
  arity: [1, 1],
  options: { index: { type: 'string', help: `simple URL of the index (default ${DEFAULT_INDEX_URL})` } },
  async run(context) {
    const project = parseProjectArgument(context.positionals[0] ?? '');
    const indexUrl = parseSimpleUrl((context.options.index as string | undefined) ?? DEFAULT_INDEX_URL);
    const added = await withServiceOrDatabase(context, {
      service: async (client) => ((await client.addProject(project, indexUrl)).added ? 'added' : 'known'),
      database: (database) => addProject(database.pool, { indexUrl, project }),
    });
    if (added === 'no-index') throw new UsageError(`no index registered at ${indexUrl}`);
    context.out.write(`project ${project} ${added === 'added' ? 'registered' : 'already registered'} on ${indexUrl}\n`);
    return 0;
  },
};

export const packageCommands: readonly Command[] = [packageAdd];
