/**
 * What the service's own metrics say, read from its prom-client registry by name: each
 * pipeline's state and current pass, and each index host's feed polls and gaps. Gauges
 * another part of the service may not register (pass rate, ETA) are read when present.
 */
import type { Registry } from 'prom-client';
import { PIPELINE_NAMES } from '../runtime/settings.js';

/** Optional progress gauges, by the name their owner registers them under. */
export const PROGRESS_GAUGES = { rate: 'pkgstream_scan_rate_rows_per_second', eta: 'pkgstream_scan_eta_seconds' } as const;

type Sample = { readonly value: number; readonly labels: Readonly<Record<string, string | number>> };

async function samples(registry: Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return [];
  return (await metric.get()).values as Sample[];
}

function valueOf(list: readonly Sample[], labels: Readonly<Record<string, string>>): number | null {
  const found = list.find((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  return found === undefined ? null : found.value;
}

export interface PassProgress {
  readonly rowsDone: number;
  readonly rowsDue: number;
  /** Rows per second and seconds left, when the service measures them. */
  readonly rate: number | null;
  readonly etaSeconds: number | null;
}

export interface PipelineView {
  readonly name: string;
  readonly state: 'running' | 'stopped' | 'not started';
  readonly currentPass: PassProgress | null;
  readonly lastSuccessfulPassAt: string | null;
}

export async function readPipelines(registry: Registry): Promise<PipelineView[]> {
  const [up, done, due, last, rate, eta] = await Promise.all(
    ['pkgstream_pipeline_up', 'pkgstream_scan_rows_done', 'pkgstream_scan_rows_due', 'pkgstream_last_successful_pass_timestamp_seconds', PROGRESS_GAUGES.rate, PROGRESS_GAUGES.eta].map((name) =>
      samples(registry, name),
    ),
  ) as [Sample[], Sample[], Sample[], Sample[], Sample[], Sample[]];
  const names = new Set<string>([...PIPELINE_NAMES, ...up.map((sample) => String(sample.labels.pipeline))]);
  return [...names].map((name) => {
    const labels = { pipeline: name };
    const isUp = valueOf(up, labels);
    const rowsDue = valueOf(due, labels) ?? 0;
    const rowsDone = valueOf(done, labels) ?? 0;
    const lastPass = valueOf(last, labels);
    return {
      name,
      state: isUp === null ? 'not started' : isUp === 1 ? 'running' : 'stopped',
      currentPass: rowsDue > 0 || rowsDone > 0 ? { rowsDone, rowsDue, rate: valueOf(rate, labels), etaSeconds: valueOf(eta, labels) } : null,
      lastSuccessfulPassAt: lastPass === null || lastPass === 0 ? null : new Date(lastPass * 1000).toISOString(),
    };
  });
}

export interface FeedHealth {
  /** Feed polls since the service started, by outcome (new, not_modified, error). */
  readonly polls: Record<string, number>;
  /** Polls that did not overlap the previous one. */
  readonly gaps: number;
}

/** Feed health of the index on `host` (the `index` label of the feed metrics). */
export async function readFeedHealth(registry: Registry, host: string): Promise<FeedHealth> {
  const [polls, gaps] = await Promise.all([samples(registry, 'pkgstream_feed_polls_total'), samples(registry, 'pkgstream_feed_gaps_total')]);
  const byOutcome: Record<string, number> = {};
  for (const sample of polls) {
    if (sample.labels.index !== host) continue;
    const outcome = String(sample.labels.outcome);
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + sample.value;
  }
  return { polls: byOutcome, gaps: gaps.filter((sample) => sample.labels.index === host).reduce((sum, sample) => sum + sample.value, 0) };
}
