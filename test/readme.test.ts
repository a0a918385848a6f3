import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/domain/error-codes.js';
import { EVENT_KINDS } from '../src/domain/event-record.js';
import { createMetrics } from '../src/runtime/metrics.js';
import { SETTINGS, flagOf, type SettingKey } from '../src/runtime/settings.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

const RETRIABLE = { true: 'yes', false: 'no', 'per-instance': 'per error' } as const;

/** The error table's rows as the catalogue has them: code, area, retriable, meaning. */
const errorTableRows = () => ERROR_CODES.map((entry) => `| \`${entry.code}\` | ${entry.area} | ${RETRIABLE[`${entry.retriable}`]} | ${entry.meaning} |`);

/** The text of one `## ` section, heading excluded. */
const section = (title: string) => readme.split(/^## /m).find((part) => part.startsWith(`${title}\n`)) ?? '';

describe('README', () => {
  it.each(Object.keys(SETTINGS) as SettingKey[])('documents the setting %s with its env name and flag', (key) => {
    expect(readme).toContain(`\`${SETTINGS[key].env}\``);
    expect(readme).toContain(`\`${flagOf(key)}\``);
  });

  it('documents every event kind in the event table', () => {
    expect(EVENT_KINDS.filter((kind) => !readme.includes(`| \`${kind}\` | \`index_url\\|project\\|`))).toEqual([]);
  });

  it('lists exactly the error codes of the catalogue, with their area, retriable verdict and meaning', () => {
    const rows = section('Error codes').split('\n').filter((line) => line.startsWith('| `'));
    expect(rows, `the README's error table should be:\n${errorTableRows().join('\n')}\n`).toEqual(errorTableRows());
  });

  it('documents every metric of the catalogue', async () => {
    const { registry } = createMetrics(undefined, { defaultMetrics: false });
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});
