/**
 * PKGSTREAM_RECHECK_INTERVAL through the CLI: a release `check` has just recorded or
 * re-checked is due again one interval later (it was 168 h, whatever the setting said).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

let index: IndexServer;
beforeAll(async () => {
  index = await startIndexServer();
  index.addRelease('recheck.me', '1.0');
});
afterAll(async () => {
  await index.stop();
});

interface Shown {
  releases: { version: string; firstSeenAt: string; lastCheckedAt: string | null; nextDueAt: string; priority: number | null }[];
}

/** The Koschei threshold (DEFAULT_PRIORITY.threshold): a row whose priority reaches it is due. */
const DUE_AT_PRIORITY = 256;

describe('pkgstream check with PKGSTREAM_RECHECK_INTERVAL', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it.each([3600, 86_400, 604_800])('%i s: a release is next due one interval after it was recorded and after each re-check', async (seconds) => {
    const database: CliDatabase = await createCliDatabase();
    try {
      const env = { ...database.env, PKGSTREAM_RECHECK_INTERVAL: String(seconds) };
      expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse', '--watch', 'seen'], env)).code).toBe(0);
      await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
      const dueAfter = async (): Promise<{ first: number; checked: number | null }> => {
        const checked = await runCli(['check', 'recheck.me', '--index', `${index.url}/simple`], env);
        expect(checked.code, checked.stderr).toBe(0);
        const shown = JSON.parse((await runCli(['package', 'show', 'recheck.me', '--json'], env)).stdout) as Shown;
        const release = shown.releases.find((r) => r.version === '1.0')!;
        const due = Date.parse(release.nextDueAt);
        return { first: (due - Date.parse(release.firstSeenAt)) / 1000, checked: release.lastCheckedAt === null ? null : (due - Date.parse(release.lastCheckedAt)) / 1000 };
      };
      // Recorded by the first check, re-checked by the second.
      const recorded = await dueAfter();
      const rechecked = await dueAfter();
      console.info(`[cli/recheck-interval] PKGSTREAM_RECHECK_INTERVAL=${String(seconds)}: due ${String(recorded.first)} s after it was recorded, ${String(rechecked.checked)} s after its re-check`);
      // The release is from 2024: no boost, so due exactly one interval on.
      expect(recorded.first).toBe(seconds);
      expect(rechecked.checked).toBe(seconds);
    } finally {
      await database.close();
    }
  });

  it('package show reads a release\'s priority with the configured interval: checked 2 h ago, due under 1 h, not under 168 h', async () => {
    const database: CliDatabase = await createCliDatabase();
    try {
      const env = database.env;
      expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse', '--watch', 'seen'], env)).code).toBe(0);
      await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
      expect((await runCli(['check', 'recheck.me', '--index', `${index.url}/simple`], env)).code).toBe(0);
      await database.use((pool) => pool.query("UPDATE package_version SET last_checked_at = now() - interval '2 hours'"));
      const priorityUnder = async (seconds: number): Promise<number | null> => {
        const shown = await runCli(['package', 'show', 'recheck.me', '--json'], { ...env, PKGSTREAM_RECHECK_INTERVAL: String(seconds) });
        expect(shown.code, shown.stderr).toBe(0);
        return (JSON.parse(shown.stdout) as Shown).releases.find((r) => r.version === '1.0')!.priority;
      };
      const hourly = await priorityUnder(3600);
      const weekly = await priorityUnder(604_800);
      console.info(`[cli/recheck-interval] checked 2 h ago: priority ${String(hourly)} under a 1 h interval, ${String(weekly)} under 168 h (due at ${DUE_AT_PRIORITY})`);
      expect(hourly).toBeGreaterThanOrEqual(DUE_AT_PRIORITY);
      expect(weekly).toBeLessThan(DUE_AT_PRIORITY);
    } finally {
      await database.close();
    }
  });
});
