import { eventsAfter, lastEventId } from '../db/events.js';
import { createMetrics } from '../runtime/metrics.js';
import { createStdoutEventSink } from '../sinks/event-sink-stdout.js';
import { openAdapters } from './adapters.js';
import { checkOne, findIndex } from './check-one.js';
import { UsageError, type Command } from './command.js';
import { DEFAULT_INDEX_URL } from './package-commands.js';
import { parseProjectArgument, parseSimpleUrl, parseVersionArgument } from './arguments.js';

export const checkCommand: Command = {
  words: ['check'],
  args: '<project> [version]',
  summary: 'check one project (or release) now, outside the schedule, and print the events it produced',
  arity: [1, 2],
  options: {
    index: { type: 'string', help: `simple URL of the index (default ${DEFAULT_INDEX_URL})` },
    'dry-run': { type: 'boolean', help: 'write nothing to the database, Kafka or Kubernetes: print the events it would produce' },
  },
  async run(context) {
    const { config, logger, out } = context;
    const project = parseProjectArgument(context.positionals[0] ?? '');
    const version = context.positionals[1] === undefined ? undefined : parseVersionArgument(context.positionals[1]);
    const indexUrl = parseSimpleUrl((context.options.index as string | undefined) ?? DEFAULT_INDEX_URL);
    const dryRun = context.options['dry-run'] === true || config.dryRun;
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const printed = createStdoutEventSink(out as NodeJS.WriteStream, { topicPrefix: config.topicPrefix });
    // A dry run writes nothing: its store prints the events it would write.
    const adapters = await openAdapters({ config, logger, metrics, dryRun, dryRunEvents: printed, eventsOut: out as NodeJS.WriteStream });
    try {
      const index = await findIndex(adapters, indexUrl);
      if (!index) throw new UsageError(`no index registered at ${indexUrl}`);
      const before = dryRun ? 0 : await lastEventId(adapters.database.pool);
      const result = await checkOne({ config, adapters, metrics, logger }, { index, project, ...(version === undefined ? {} : { version }) });
      // What this check wrote is published now; without Kafka that publish is the print.
      // With Kafka, the print is the stored rows: the very records (created_at too) sent.
      await adapters.relay?.flush();
      if (adapters.relay && config.kafkaBrokers) await printed.publish(await eventsAfter(adapters.database.pool, before, { project, indexId: index.id }));
      logger.info({ project, version, index: indexUrl, dryRun, ok: result.ok }, `check: ${result.detail}`);
      if (!result.ok) process.stderr.write(`pkgstream: check ${project} failed: ${result.detail}\n`);
      return result.ok ? 0 : 1;
    } finally {
      await adapters.close();
    }
  },
};
