/**
 * The metric names (and each one's label names) a PromQL expression may use: the metrics
 * catalogue of src/runtime/metrics.ts with prom-client's default metrics, a histogram's
 * `_bucket`/`_sum`/`_count` series, and Prometheus's own `up`. Scrape labels (`job`,
 * `instance`) are on every series; `le` on every `_bucket`.
 */
import { Registry } from 'prom-client';
import { createMetrics } from '../../src/runtime/metrics.js';
import { namesOf } from './promql-expressions.js';

const SCRAPE_LABELS = ['job', 'instance'];

export async function catalogue(): Promise<Map<string, readonly string[]>> {
  const { registry } = createMetrics(new Registry());
  const names = new Map<string, readonly string[]>([['up', SCRAPE_LABELS]]);
  for (const { name, type } of await registry.getMetricsAsJSON()) {
    const metric = registry.getSingleMetric(name) as unknown as { labelNames?: readonly string[] } | undefined;
    const labels = [...(metric?.labelNames ?? []), ...SCRAPE_LABELS];
    if (String(type) === 'histogram') {
      names.set(`${name}_bucket`, [...labels, 'le']);
      names.set(`${name}_sum`, labels);
      names.set(`${name}_count`, labels);
    } else {
      names.set(name, labels);
    }
  }
  return names;
}

/** What in one expression is not in the catalogue: unknown metrics, and labels a metric does not have. */
export function problemsOf(promql: string, known: ReadonlyMap<string, readonly string[]>): string[] {
  const { selectors, groupingLabels } = namesOf(promql);
  const problems: string[] = [];
  const allLabels = new Set([...known.values()].flat());
  for (const { metric, labels } of selectors) {
    const metricLabels = known.get(metric);
    if (!metricLabels) {
      problems.push(`unknown metric ${metric}`);
      continue;
    }
    for (const label of labels) if (!metricLabels.includes(label)) problems.push(`${metric} has no label ${label}`);
  }
  for (const label of groupingLabels) if (!allLabels.has(label)) problems.push(`no metric has the label ${label}`);
  if (selectors.length === 0) problems.push('refers to no metric');
  return problems;
}
