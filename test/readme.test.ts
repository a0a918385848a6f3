import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_KINDS } from '../src/domain/event-record.js';
import { createMetrics } from '../src/runtime/metrics.js';
import { SETTINGS, flagOf, type SettingKey } from '../src/runtime/settings.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each(Object.keys(SETTINGS) as SettingKey[])('documents the setting %s with its env name and flag', (key) => {
    expect(readme).toContain(`\`${SETTINGS[key].env}\``);
    expect(readme).toContain(`\`${flagOf(key)}\``);
  });

  it('documents every event kind in the event table', () => {
    expect(EVENT_KINDS.filter((kind) => !readme.includes(`| \`${kind}\` | \`index_url\\|project\\|`))).toEqual([]);
  });

  it('documents every metric of the catalogue', async () => {
    const { registry } = createMetrics(undefined, { defaultMetrics: false });
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});
