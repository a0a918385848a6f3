/**
 * 11.3 as the user saw it: a release first read from an index without `#sha256=`
 * fragments (a `python3 -m http.server` directory) is stored without digests. When the
 * index starts publishing them, the digest is learned (stored, no event); when it stops,
 * the stored one is kept; only a digest that changes is a `hash-mismatch`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setIndexEnabled } from '../../src/db/index.js';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startStaticIndex, type StaticIndex } from '../support/static-index.js';

let index: StaticIndex;
let database: CliDatabase;
beforeAll(async () => {
  index = await startStaticIndex({ hashes: false });
  index.addWheel('learn.me', '1.0');
  database = await createCliDatabase();
  expect((await runCli(['index', 'add', index.simpleUrl], database.env)).code).toBe(0);
  await database.use((pool) => setIndexEnabled(pool, 'https://pypi.org/simple', false));
  expect((await runCli(['package', 'add', 'learn.me', '--index', index.simpleUrl], database.env)).code).toBe(0);
});
afterAll(async () => {
  await database?.close();
  await index?.stop();
});

const digest = async (): Promise<string | null> => {
  const shown = JSON.parse((await runCli(['package', 'show', 'learn-me', '--json'], database.env)).stdout) as { releases: { digests: { sha256: string | null }[] }[] };
  return shown.releases[0]?.digests[0]?.sha256 ?? null;
};
const kinds = async (): Promise<string[]> => {
  const listed = JSON.parse((await runCli(['events', '--project', 'learn-me', '--json'], database.env)).stdout) as { kind: string }[];
  return listed.map((event) => event.kind).sort();
};
const recheck = async (): Promise<void> => {
  const pass = await runCli(['once', 'update', '--all'], database.env);
  expect(pass.code, pass.stderr).toBe(0);
};

describe('digests that appear, vanish and change on an index without hashes at first', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('learns a digest without an event, keeps it when the index stops giving it, and reports only a changed one', async () => {
    await recheck();
    expect(await digest()).toBeNull();
    expect(await kinds()).toEqual(['package-released']);

    index.setHashes(true);
    await recheck();
    const learned = await digest();
    expect(learned).toMatch(/^[0-9a-f]{64}$/);
    // Before the fix: a hash-mismatch with missing_from_source [] here.
    expect(await kinds()).toEqual(['package-released']);

    index.setHashes(false);
    await recheck();
    expect(await digest()).toBe(learned);
    expect(await kinds()).toEqual(['package-released']);

    index.rebuildWheel('learn.me', '1.0');
    index.setHashes(true);
    await recheck();
    const changed = await digest();
    expect(changed).not.toBe(learned);
    expect(await kinds()).toEqual(['hash-mismatch', 'package-released']);
    console.info(`[cli/digests-learned] learned ${String(learned).slice(0, 12)}…, kept while absent, changed to ${String(changed).slice(0, 12)}…: events ${JSON.stringify(await kinds())}`);
  });
});
