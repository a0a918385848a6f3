import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PIPELINE_NAMES } from '../../src/runtime/settings.js';
import { catalogue, problemsOf } from './catalogue.js';
import { alertExpressions, readAlertRules, type AlertRule } from './promql-expressions.js';
import { run, runsWith } from '../support/tools.js';

const ALERTS = [
  'PkgstreamDown',
  'PkgstreamPipelineDown',
  'PkgstreamPipelineStalled',
  'PkgstreamPipelineNeverPassed',
  'PkgstreamFeedPollsFailing',
  'PkgstreamDependencyDown',
  'PkgstreamFeedGaps',
  'PkgstreamAttentionGrowing',
  'PkgstreamIndexRateLimited',
  'PkgstreamSolverCapacitySaturated',
  'PkgstreamKafkaConsumerLagGrowing',
  'PkgstreamFeedsNotPolled',
  'PkgstreamReplicasDisagree',
  'PkgstreamDispatchLeaseUnheld',
  'PkgstreamLeaseHeldTwice',
];

interface RuleTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

describe('prometheus alert rules', () => {
  let rules: AlertRule[];
  beforeAll(() => {
    rules = readAlertRules().groups.flatMap((group) => group.rules);
  });

  it('are the expected alerts, each with a severity, a summary and a description', () => {
    expect(rules.map((rule) => rule.alert).sort()).toEqual([...ALERTS].sort());
    for (const rule of rules) {
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
  });

  it('use only metric and label names of the catalogue (and up)', async () => {
    const known = await catalogue();
    const problems = alertExpressions().flatMap((e) => problemsOf(e.promql, known).map((problem) => `${e.where}: ${problem}`));
    expect(problems).toEqual([]);
  });

  it('name only pipelines that exist', () => {
    const named = alertExpressions().flatMap((e) => [...e.expr.matchAll(/pipeline\s*=\s*"([^"]*)"/g)].map((m) => m[1]));
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) expect(PIPELINE_NAMES as readonly (string | undefined)[]).toContain(name);
    // The stall threshold is per pipeline: every pipeline has one.
    const stalled = rules.find((rule) => rule.alert === 'PkgstreamPipelineStalled')!;
    for (const pipeline of PIPELINE_NAMES) expect(stalled.expr).toContain(`pipeline="${pipeline}"`);
  });

  it('have unit tests where every alert fires once and stays quiet once', () => {
    const tests = parse(readFileSync(new URL('../../deploy/prometheus/alerts.test.yaml', import.meta.url), 'utf8')) as RuleTests;
    expect(tests.rule_files).toEqual(['alerts.yaml']);
    const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const alert of ALERTS) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert} fires in a test`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert} stays quiet in a test`).toBe(true);
    }
  });

  it.skipIf(!runsWith('promtool'))('pass promtool check rules', () => {
    const result = run('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yaml']);
    expect(result.stdout + result.stderr).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it.skipIf(!runsWith('promtool'))('pass their promtool unit tests', () => {
    const result = run('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yaml']);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });
});
