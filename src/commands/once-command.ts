import { takeUntil, type Observable } from 'rxjs';
import { dispatchOnce } from '../pipelines/dispatch.js';
import { releasesPipeline, syncOnce } from '../pipelines/releases.js';
import { updatePass } from '../pipelines/update.js';
import { createMetrics } from '../runtime/metrics.js';
import { PIPELINE_NAMES, type PipelineName } from '../runtime/settings.js';
import { openAdapters } from './adapters.js';
import { UsageError, type Command } from './command.js';
import { runOncePass } from './once-pass.js';
import { dispatchOptions, dispatchPorts, indexLimits, releasesPorts, updateOptions, updatePorts, type PipelineContext } from './pipeline-factories.js';

/** What `once` runs: a pass of a pipeline, or a serial sync (the releases pipeline's, on its own). */
const PASS_NAMES = [...PIPELINE_NAMES, 'sync'] as const;
type PassName = (typeof PASS_NAMES)[number];

/** The releases pipeline's options for one pass of `once` (one poll, or one sync). */
function onePassOptions(context: PipelineContext, stop$: Observable<void>) {
  return {
    ...indexLimits(context.config),
    pollIntervalMs: context.config.pollInterval * 1000,
    releaseTriggers: context.config.releaseTriggers,
    metrics: context.metrics,
    logger: context.logger,
    onePoll: true,
    stop$,
  };
}

/** One pass, as an Observable that completes; when `stop$` emits it takes no more work. */
const PASSES: Record<PassName, (context: PipelineContext, all: boolean, stop$: Observable<void>) => Observable<unknown>> = {
  releases: (context, _all, stop$) => releasesPipeline(releasesPorts(context, false), onePassOptions(context, stop$)),
  sync: (context, _all, stop$) => syncOnce(releasesPorts(context, false), onePassOptions(context, stop$)),
  update: (context, all, stop$) => updatePass(updatePorts(context), { ...updateOptions(context, all), stop: stop$ }),
  // Effects are idempotent (deterministic Job names): stopping cancels what waits for a slot.
  dispatch: (context, _all, stop$) => dispatchOnce(dispatchPorts(context), dispatchOptions(context)).pipe(takeUntil(stop$)),
};

/** The pipeline whose metrics a pass feeds (a sync is the releases pipeline's work). */
const pipelineOf = (name: PassName): PipelineName => (name === 'sync' ? 'releases' : name);

export const onceCommand: Command = {
  words: ['once'],
  args: '<releases|update|dispatch|sync>',
  summary: 'one pass of a pipeline, or one serial sync of every enabled index (sync), then exit (0 when it completed, even with items sent to attention)',
  arity: [1, 1],
  options: {
    all: { type: 'boolean', help: 'update: re-check every known release, due or not' },
    'max-wait': { type: 'string', help: 'dispatch: seconds without progress (e.g. at full solver capacity) before giving up with exit 1; default the shutdown grace × 10' },
  },
  async run({ config, logger, positionals, options, signal }) {
    const name = positionals[0] as PassName;
    if (!PASS_NAMES.includes(name)) throw new UsageError(`unknown pipeline ${JSON.stringify(name)}: one of ${PASS_NAMES.join(', ')}`);
    const graceMs = config.shutdownGrace * 1000;
    const maxWaitMs = name === 'dispatch' ? maxWaitOf(options['max-wait'], graceMs * 10) : undefined;
    const metrics = createMetrics(undefined, { defaultMetrics: false });
    const adapters = await openAdapters({ config, logger, metrics, dryRun: config.dryRun });
    try {
      const started = Date.now();
      const context = { config, adapters, metrics, logger };
      const end = await runOncePass((stop$) => PASSES[name](context, options.all === true, stop$), { name: pipelineOf(name), signal, graceMs, ...(maxWaitMs === undefined ? {} : { maxWaitMs }), reportEveryMs: config.progressInterval * 1000, metrics, logger });
      const fields = { pipeline: name, outcomes: end.outcomes, ms: Date.now() - started };
      if (end.kind === 'complete') logger.info(fields, `once ${name}: pass complete`);
      if (end.kind === 'stopped' && end.drained) logger.info(fields, `once ${name}: stopped by signal after finishing the work in flight`);
      if (end.kind === 'stopped' && !end.drained) logger.warn(fields, `once ${name}: stopped by signal; the grace period ran out and the work in flight was cancelled (the next pass does it)`);
      if (end.kind === 'gave-up') logger.error({ ...fields, maxWaitMs }, `once ${name}: gave up after ${(maxWaitMs ?? 0) / 1000} s without progress (--max-wait), waiting for ${end.waiting}`);
      return end.kind === 'complete' || (end.kind === 'stopped' && end.drained) ? 0 : 1;
    } finally {
      await adapters.close();
    }
  },
};

function maxWaitOf(value: string | boolean | undefined, defaultMs: number): number {
  if (value === undefined || value === true) return defaultMs;
  const seconds = Number(value);
  if (!(typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) && seconds > 0)) throw new UsageError(`--max-wait=${JSON.stringify(value)}: must be a positive number of seconds`);
  return seconds * 1000;
}
