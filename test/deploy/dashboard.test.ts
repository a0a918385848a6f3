import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { catalogue, problemsOf } from './catalogue.js';
import { dashboardExpressions, panelsOf, readDashboard, type Dashboard } from './promql-expressions.js';

const ROWS = [
  'Is anything stuck',
  'How far along is each pass',
  'What did we find',
  'Are we hurting the index',
  'Are the solvers saturated',
  'What needs a human',
  'Process',
];

describe('grafana dashboard', () => {
  let dashboard: Dashboard;
  let known: Map<string, readonly string[]>;
  beforeAll(async () => {
    dashboard = readDashboard();
    known = await catalogue();
  });

  it('has the uid pkgstream, a recent schema and the rows in order', () => {
    expect(dashboard.uid).toBe('pkgstream');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const rows = dashboard.panels.filter((panel) => panel.type === 'row').map((panel) => panel.title);
    expect(rows).toEqual(ROWS);
    for (const [i, panel] of dashboard.panels.entries()) {
      if (panel.type !== 'row') continue;
      const next = dashboard.panels[i + 1];
      expect(next && next.type !== 'row', `row "${panel.title}" has panels`).toBe(true);
    }
  });

  it('picks its Prometheus through a datasource variable, used by every panel, target and query variable', () => {
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const ref = { type: 'prometheus', uid: '${datasource}' };
    const panels = panelsOf(dashboard).filter((panel) => panel.type !== 'row');
    expect(panels.length).toBeGreaterThan(20);
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual(ref);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource, `${panel.title} ${target.refId}`).toEqual(ref);
    }
    for (const query of dashboard.templating.list.filter((v) => v.type === 'query')) expect(query.datasource, query.name).toEqual(ref);
    // Nothing names a concrete data source, nor the import-only ${DS_…} inputs.
    const text = JSON.stringify(dashboard);
    expect(text).not.toMatch(/DS_PROMETHEUS|__inputs/);
  });

  it('lays panels out without overlaps on the 24-column grid', () => {
    const boxes = panelsOf(dashboard).map((panel) => ({ title: panel.title, ...panel.gridPos! }));
    for (const box of boxes) expect(box.x + box.w, box.title).toBeLessThanOrEqual(24);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${a.title} overlaps ${b.title}`).toBe(false);
      }
    }
    const ids = panelsOf(dashboard).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses only metric and label names of the catalogue in every expression', () => {
    const expressions = dashboardExpressions(dashboard);
    expect(expressions.length).toBeGreaterThan(30);
    const problems = expressions.flatMap((e) => problemsOf(e.promql, known).map((problem) => `${e.where}: ${problem}`));
    expect(problems).toEqual([]);
  });

  it('charts every pkgstream_ metric of the catalogue', () => {
    const used = new Set(dashboardExpressions(dashboard).flatMap((e) => e.promql.match(/pkgstream_\w+/g) ?? []));
    const own = [...known.keys()].filter((name) => name.startsWith('pkgstream_') && !/^pkgstream_(process|nodejs)_/.test(name));
    // A histogram counts as charted when any of its series is.
    const charted = (name: string) => used.has(name) || [...used].some((u) => u.replace(/_(bucket|sum|count)$/, '') === name.replace(/_(bucket|sum|count)$/, ''));
    expect(own.filter((name) => !charted(name))).toEqual([]);
  });
});

describe('grafana provisioning', () => {
  it('provisions the dashboards folder and a Prometheus data source', () => {
    const dashboards = parse(readFileSync(new URL('../../grafana/provisioning/dashboards/pkgstream.yaml', import.meta.url), 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(dashboards.apiVersion).toBe(1);
    expect(dashboards.providers[0]).toMatchObject({ type: 'file', options: { path: expect.any(String) as string } });
    const datasources = parse(readFileSync(new URL('../../grafana/provisioning/datasources/prometheus.yaml', import.meta.url), 'utf8')) as {
      apiVersion: number;
      datasources: { type: string; isDefault?: boolean }[];
    };
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'prometheus', isDefault: true })]);
  });
});
