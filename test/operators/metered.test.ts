import { describe, it, expect } from 'vitest';
import { Registry } from 'prom-client';
import { createMetrics } from '../../src/runtime/metrics.js';
import { metered } from '../../src/operators/metered.js';
import { testScheduler } from './helpers.js';

function setup() {
  const metrics = createMetrics(new Registry(), { defaultMetrics: false });
  const gaugeTrace: number[] = [];
  const inflight = {
    inc: (labels: { pipeline?: string; stage?: string }, v = 1) => {
      metrics.stageInflight.inc(labels, v);
      gaugeTrace.push(v);
    },
    dec: (labels: { pipeline?: string; stage?: string }, v = 1) => {
      metrics.stageInflight.dec(labels, v);
      gaugeTrace.push(-v);
    },
  };
  const options = {
    pipeline: 'update',
    stage: 'fetch',
    items: metrics.stageItems,
    duration: metrics.stageDuration,
    inflight,
  };
  return { metrics, options, gaugeTrace };
}

async function counts(metrics: ReturnType<typeof setup>['metrics']): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.stageItems.get()).values) out[String(v.labels.outcome)] = v.value;
  return out;
}

async function durations(metrics: ReturnType<typeof setup>['metrics']): Promise<Record<string, { sum: number; count: number }>> {
  const out: Record<string, { sum: number; count: number }> = {};
  for (const v of (await metrics.stageDuration.get()).values) {
    const outcome = String(v.labels.outcome);
    out[outcome] ??= { sum: 0, count: 0 };
    if (v.metricName?.endsWith('_sum')) out[outcome].sum = v.value;
    if (v.metricName?.endsWith('_count')) out[outcome].count = v.value;
  }
  return out;
}

async function gauge(metrics: ReturnType<typeof setup>['metrics']): Promise<number> {
  return (await metrics.stageInflight.get()).values[0]?.value ?? 0;
}

describe('metered', () => {
  it('counts in/ok and observes durations in scheduler seconds', async () => {
    const { metrics, options, gaugeTrace } = setup();
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const result = cold('ab|').pipe(
        metered((x: string) => cold(x === 'a' ? '---(v|)' : '-----(v|)', { v: x }), { ...options, scheduler }),
      );
      expectObservable(result).toBe('---a--(b|)', { a: 'a', b: 'b' });
    });
    expect(await counts(metrics)).toEqual({ in: 2, ok: 2 });
    expect(await durations(metrics)).toEqual({ ok: { sum: 0.008, count: 2 } });
    expect(await gauge(metrics)).toBe(0);
    expect(gaugeTrace).toEqual([1, 1, -1, -1]);
    expect((await metrics.stageItems.get()).values.every((v) => v.labels.pipeline === 'update' && v.labels.stage === 'fetch')).toBe(true);
  });

  it('counts an error as failed and passes it on', async () => {
    const { metrics, options } = setup();
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const result = cold('a|').pipe(metered(() => cold('--#'), { ...options, scheduler }));
      expectObservable(result).toBe('--#');
    });
    expect(await counts(metrics)).toEqual({ in: 1, failed: 1 });
    expect(await durations(metrics)).toEqual({ failed: { sum: 0.002, count: 1 } });
    expect(await gauge(metrics)).toBe(0);
  });

  it('classifies failure outcomes with isFailure', async () => {
    const { metrics, options } = setup();
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const values = { t: { ok: true }, f: { ok: false } };
      const result = cold('ab|').pipe(
        metered((x: string) => cold('-(v|)', { v: x === 'a' ? values.t : values.f }), {
          ...options,
          scheduler,
          isFailure: (o) => !o.ok,
        }),
      );
      expectObservable(result).toBe('-t(f|)', values);
    });
    expect(await counts(metrics)).toEqual({ in: 2, ok: 1, failed: 1 });
  });

  it('counts waiting items as in flight and bounds concurrency', async () => {
    const { metrics, options, gaugeTrace } = setup();
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const result = cold('(abc|)').pipe(metered(() => cold('--(v|)'), { ...options, concurrency: 1, scheduler }));
      expectObservable(result).toBe('--v-v-(v|)');
    });
    expect(await counts(metrics)).toEqual({ in: 3, ok: 3 });
    // durations count from the start of each projection, not from arrival
    expect(await durations(metrics)).toEqual({ ok: { sum: 0.006, count: 3 } });
    const levels = gaugeTrace.map((_, i) => gaugeTrace.slice(0, i + 1).reduce((a, b) => a + b, 0));
    expect(levels).toEqual([1, 2, 3, 2, 1, 0]);
    expect(await gauge(metrics)).toBe(0);
  });

  it('unsubscription gives back the in-flight count and records no outcome', async () => {
    const { metrics, options } = setup();
    const scheduler = testScheduler();
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('-----(v|)');
      const source = hot('ab');
      // the catalogue's own gauge, as the pipelines pass it
      const result = source.pipe(metered(() => inner, { ...options, inflight: metrics.stageInflight, concurrency: 1, scheduler }));
      expectObservable(result, '^--!').toBe('');
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(inner.subscriptions).toBe('^--!');
    });
    expect(await counts(metrics)).toEqual({ in: 2 });
    expect(await gauge(metrics)).toBe(0);
  });
});
