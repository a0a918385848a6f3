/**
 * Every PromQL expression pkgstream ships: the Grafana dashboard's panel targets and
 * template-variable queries, and the Prometheus alert rules. The deploy tests check each
 * expression's metric and label names against the metrics catalogue; a live test can send
 * `promql` (Grafana's variables replaced by plain values) to a Prometheus that scrapes
 * pkgstream.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const DASHBOARD_PATH = new URL('../../grafana/dashboards/pkgstream.json', import.meta.url);
export const ALERTS_PATH = new URL('../../deploy/prometheus/alerts.yaml', import.meta.url);

export interface PromqlExpression {
  /** Where it comes from: a dashboard panel target, a dashboard variable, or an alert rule. */
  readonly source: 'panel' | 'variable' | 'alert';
  /** The panel title and refId, the variable name, or the alert name. */
  readonly where: string;
  /** The expression as written (may hold Grafana variables such as `$__rate_interval`, `$job`). */
  readonly expr: string;
  /** The same expression as plain PromQL that Prometheus accepts. */
  readonly promql: string;
}

export interface DashboardTarget {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
}

export interface DashboardPanel {
  readonly id?: number;
  readonly type: string;
  readonly title?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string } | null;
  readonly gridPos?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly DashboardTarget[];
  readonly panels?: readonly DashboardPanel[];
}

export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly definition?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string } | null;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly DashboardPanel[];
  readonly templating: { readonly list: readonly DashboardVariable[] };
}

export interface AlertRule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertRule[] }[];
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

export function readAlertRules(): RuleFile {
  return parse(readFileSync(ALERTS_PATH, 'utf8')) as RuleFile;
}

/** Every panel, rows' nested panels included (a collapsed row holds its panels). */
export function panelsOf(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Grafana's variables as plain values: durations for the interval ones, `.+` for the rest (used in `=~`). */
export function toPromQL(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '5m')
    .replace(/\$__interval|\$\{__interval\}/g, '1m')
    .replace(/\$__range|\$\{__range\}/g, '1h')
    .replace(/\$\{?\w+\}?/g, '.+');
}

function variableQuery(variable: DashboardVariable): string | undefined {
  const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
  return query ?? variable.definition;
}

export function dashboardExpressions(dashboard: Dashboard = readDashboard()): PromqlExpression[] {
  const expressions: PromqlExpression[] = [];
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query = variableQuery(variable) ?? '';
    // label_values(<selector>, <label>) and query_result(<expr>) hold PromQL; label_values(<label>) does not.
    const inner = /^\s*(?:label_values\((.+),\s*\w+\s*\)|query_result\((.+)\))\s*$/.exec(query);
    const expr = inner?.[1] ?? inner?.[2];
    if (expr) expressions.push({ source: 'variable', where: `$${variable.name}`, expr, promql: toPromQL(expr) });
  }
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (!target.expr) continue;
      expressions.push({ source: 'panel', where: `${panel.title ?? `panel ${panel.id}`} (${target.refId ?? '?'})`, expr: target.expr, promql: toPromQL(target.expr) });
    }
  }
  return expressions;
}

export function alertExpressions(rules: RuleFile = readAlertRules()): PromqlExpression[] {
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({ source: 'alert' as const, where: rule.alert ?? rule.record ?? group.name, expr: rule.expr, promql: toPromQL(rule.expr) })),
  );
}

/** Every PromQL expression of the dashboard and the alert rules. */
export function allExpressions(): PromqlExpression[] {
  return [...dashboardExpressions(), ...alertExpressions()];
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

export interface ExpressionNames {
  /** Metric names, each with the label names its selector matches on. */
  readonly selectors: readonly { readonly metric: string; readonly labels: readonly string[] }[];
  /** Label names in by/without/on/ignoring/group_left/group_right clauses. */
  readonly groupingLabels: readonly string[];
}

/**
 * The metric and label names one PromQL expression refers to: a lexical reading, enough for
 * the expressions written here (selectors, functions, aggregations, binary operators), not a
 * full PromQL parser.
 */
export function namesOf(promql: string): ExpressionNames {
  const text = promql.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const selectors: { metric: string; labels: string[] }[] = [];
  const withoutMatchers = text.replace(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_match, metric: string | undefined, matchers: string) => {
    const labels = [...matchers.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1] ?? '');
    if (metric && !KEYWORDS.has(metric)) {
      selectors.push({ metric, labels });
      return ' __selector__ ';
    }
    return ` ${metric ?? ''} `;
  });
  const groupingLabels: string[] = [];
  const rest = withoutMatchers
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_match, labels: string) => {
      groupingLabels.push(...labels.split(',').map((label) => label.trim()).filter((label) => label.length > 0));
      return ' ';
    });
  for (const match of rest.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, token = '', call] = match;
    if (call || KEYWORDS.has(token) || token === '__selector__') continue;
    selectors.push({ metric: token, labels: [] });
  }
  return { selectors, groupingLabels };
}
