/**
 * The stages of every pipeline, measured the same way: `pkgstream_stage_items_total`,
 * `pkgstream_stage_duration_seconds` and (where the stage has no gauge of its own)
 * `pkgstream_stage_inflight`, through `metered`. Every known label set starts at 0, so the
 * dashboard's panels and the alert rules have a series before the first item or failure.
 */
import { from, of, type Observable, type ObservableInput, type SchedulerLike } from 'rxjs';
import { metered } from '../operators/metered.js';
import type { Metrics } from '../runtime/metrics.js';

/** Each pipeline's stages, and whether `metered` keeps its in-flight gauge. */
export const PIPELINE_STAGES = {
  releases: { fetch: true, record: true },
  update: { fetch: true, apply: true },
  // schedule, finished and released have gauges of their own (queue and handler counts).
  dispatch: { schedule: false, record: true, finished: false, released: false },
} as const satisfies Record<string, Record<string, boolean>>;

export type MeteredPipeline = keyof typeof PIPELINE_STAGES;
export type StageMetrics = Pick<Metrics, 'stageItems' | 'stageDuration' | 'stageInflight'>;

/** Runs one item of a stage; `isFailure` marks an emitted value as a failure (a retry outcome). */
export type StageRunner<S extends string> = <T, R>(
  stage: S,
  item: T,
  work: (item: T) => ObservableInput<R>,
  isFailure?: (value: R) => boolean,
) => Observable<R>;

/** Sets every stage series of `pipeline` to 0 (counters, histograms and gauges). */
export function initStageMetrics(metrics: StageMetrics, pipeline: MeteredPipeline): void {
  for (const stage of Object.keys(PIPELINE_STAGES[pipeline])) {
    for (const outcome of ['in', 'ok', 'failed']) metrics.stageItems.inc({ pipeline, stage, outcome }, 0);
    for (const outcome of ['ok', 'failed']) metrics.stageDuration.zero({ pipeline, stage, outcome });
    metrics.stageInflight.inc({ pipeline, stage }, 0);
  }
}

/** A runner for `pipeline`'s stages; without metrics it just runs the work. */
export function stageMeter<P extends MeteredPipeline>(
  pipeline: P,
  metrics: StageMetrics | undefined,
  scheduler: SchedulerLike,
): StageRunner<keyof (typeof PIPELINE_STAGES)[P] & string> {
  if (metrics) initStageMetrics(metrics, pipeline);
  const stages: Record<string, boolean> = PIPELINE_STAGES[pipeline];
  return (stage, item, work, isFailure) =>
    metrics
      ? of(item).pipe(
          metered(work, {
            pipeline,
            stage,
            items: metrics.stageItems,
            duration: metrics.stageDuration,
            ...(stages[stage] ? { inflight: metrics.stageInflight } : {}),
            scheduler,
            ...(isFailure ? { isFailure } : {}),
          }),
        )
      : from(work(item));
}
