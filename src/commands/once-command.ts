import { asyncScheduler, lastValueFrom, toArray, type Observable } from 'rxjs';
import { dispatchOnce } from '../pipelines/dispatch.js';
import { releasesPipeline } from '../pipelines/releases.js';
import { updatePass } from '../pipelines/update.js';
import { createMetrics } from '../runtime/metrics.js';
import { PIPELINE_NAMES, type PipelineName } from '../runtime/settings.js';
import { openAdapters } from './adapters.js';
import { UsageError, type Command } from './command.js';
import { dispatchOptions, dispatchPorts, indexLimits, updateOptions, updatePorts, type PipelineContext } from './pipeline-factories.js';

/** One pass of a pipeline, as an Observable that completes. */
const PASSES: Record<PipelineName, (context: PipelineContext, all: boolean) => Observable<unknown>> = {
  releases: ({ config, adapters, metrics, logger }) =>
    releasesPipeline(
      { store: adapters.store, index: adapters.index, scheduler: asyncScheduler },
      { ...indexLimits(config), pollIntervalMs: config.pollInterval * 1000, releaseTriggers: config.releaseTriggers, metrics, logger, onePoll: true },
    ),
  update: (context, all) => updatePass(updatePorts(context), updateOptions(context, all)),
  dispatch: (context) => dispatchOnce(dispatchPorts(context), dispatchOptions(context)),
};

export const onceCommand: Command = {
  words: ['once'],
  args: '<releases|update|dispatch>',
  summary: 'one pass of a pipeline, then exit (0 when the pass completed, even with items sent to attention)',
  arity: [1, 1],
  options: { all: { type: 'boolean', help: 'update: re-check every known release, due or not' } },
  async run({ config, logger, positionals, options }) {
    const name = positionals[0] as PipelineName;
    if (!PIPELINE_NAMES.includes(name)) throw new UsageError(`unknown pipeline ${JSON.stringify(name)}: one of ${PIPELINE_NAMES.join(', ')}`);
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const adapters = await openAdapters({ config, logger, metrics, dryRun: config.dryRun });
    try {
      const started = Date.now();
      const outcomes = await lastValueFrom(PASSES[name]({ config, adapters, metrics, logger }, options.all === true).pipe(toArray()));
      logger.info({ pipeline: name, outcomes: outcomes.length, ms: Date.now() - started }, `once ${name}: pass complete`);
      return 0;
    } finally {
      await adapters.close();
    }
  },
};
