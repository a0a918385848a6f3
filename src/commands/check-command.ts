import type { EventSink } from '../domain/ports.js';
import { createMetrics } from '../runtime/metrics.js';
import { packageVersion } from '../runtime/version.js';
import { createStdoutEventSink } from '../sinks/event-sink-stdout.js';
import { openAdapters } from './adapters.js';
import { checkOne, findIndex } from './check-one.js';
import { UsageError, type Command } from './command.js';
import { DEFAULT_INDEX_URL } from './package-commands.js';
import { parseProjectArgument, parseSimpleUrl } from './arguments.js';

/** Both sinks get every event: the configured one, and the one that prints. */
function tee(first: EventSink, second: EventSink): EventSink {
  return {
    publish: async (events) => {
      await first.publish(events);
      await second.publish(events);
    },
    close: async () => {
      await first.close();
      await second.close();
    },
  };
}

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
    const version = context.positionals[1];
    const indexUrl = parseSimpleUrl((context.options.index as string | undefined) ?? DEFAULT_INDEX_URL);
    const dryRun = context.options['dry-run'] === true || config.dryRun;
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const adapters = await openAdapters({ config, logger, metrics, dryRun });
    try {
      const index = await findIndex(adapters, indexUrl);
      if (!index) throw new UsageError(`no index registered at ${indexUrl}`);
      const printed = createStdoutEventSink(out as NodeJS.WriteStream, { topicPrefix: config.topicPrefix, serviceVersion: packageVersion() });
      // Without Kafka the configured sink already prints; in a dry run nothing but the print happens.
      const events = dryRun || !config.kafkaBrokers ? printed : tee(adapters.events, printed);
      const result = await checkOne({ config, adapters, metrics, logger }, { index, project, ...(version === undefined ? {} : { version }) }, events);
      logger.info({ project, version, index: indexUrl, dryRun, ok: result.ok }, `check: ${result.detail}`);
      if (!result.ok) process.stderr.write(`pkgstream: check ${project} failed: ${result.detail}\n`);
      return result.ok ? 0 : 1;
    } finally {
      await adapters.close();
    }
  },
};
