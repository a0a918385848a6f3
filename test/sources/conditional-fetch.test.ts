/**
 * The project fetcher's conditional requests against the index peer: the stored validators
 * go out and a 304 is `'not-modified'`; a 304 is believed only while the store still holds
 * validators for the project, else the page is asked for again without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncScheduler, lastValueFrom } from 'rxjs';
import type { PageValidatorStore } from '../../src/domain/ports.js';
import type { PackageIndex, Validators } from '../../src/domain/types.js';
import { createProjectFetcher } from '../../src/pipelines/project-fetcher.js';
import { createIndexClient, type UndiciIndexClient } from '../../src/sources/index-client/index.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';

let server: IndexServer;
let client: UndiciIndexClient;
let index: PackageIndex;
beforeAll(async () => {
  server = await startIndexServer();
  server.addRelease('cond-demo', '1.0');
  client = createIndexClient({ version: 'test' });
  index = server.packageIndex();
});
afterAll(async () => {
  await client.close();
  await server.stop();
});

/** Validators kept in memory; `answers` scripts what successive reads return. */
function scriptedValidators(answers: (Validators | null)[]): PageValidatorStore & { reads: number } {
  const store = {
    reads: 0,
    pageValidators: () => Promise.resolve(answers[Math.min(store.reads++, answers.length - 1)] ?? null),
    savePageValidators: () => Promise.resolve(),
    promisedSerial: () => Promise.resolve(null),
  };
  return store;
}

const RETRY = { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
const fetchWith = async (validators: PageValidatorStore) => {
  const fetcher = createProjectFetcher(client, { retry: RETRY, scheduler: asyncScheduler }, validators);
  const outcome = await lastValueFrom(fetcher.fetch({ index, project: 'cond-demo' }));
  if (!outcome.ok) throw outcome.error as Error;
  return { page: outcome.value, requests: fetcher.requests() };
};

describe('conditional project fetches', () => {
  it('sends the stored ETag and reads a 304 as not-modified', async () => {
    const first = await fetchWith(scriptedValidators([null]));
    if (first.page === 'not-found' || first.page === 'not-modified') throw new Error(`unexpected ${first.page}`);
    const etag = first.page.validators.etag ?? null;
    expect(etag).toMatch(/^".+"$/);
    const before = server.counters.count('simple-project', 304);
    const again = await fetchWith(scriptedValidators([{ etag, lastModified: null }]));
    expect(again).toEqual({ page: 'not-modified', requests: 1 });
    expect(server.requests.at(-1)?.headers['if-none-match']).toBe(etag);
    expect(server.counters.count('simple-project', 304) - before).toBe(1);
  });

  it('asks again without validators when they are gone by the time the 304 comes', async () => {
    const first = await fetchWith(scriptedValidators([null]));
    const etag = first.page !== 'not-found' && first.page !== 'not-modified' ? (first.page.validators.etag ?? null) : null;
    const store = scriptedValidators([{ etag, lastModified: null }, null]);
    const fetched = await fetchWith(store);
    expect(fetched.requests).toBe(2);
    expect(fetched.page).toMatchObject({ project: 'cond-demo', releases: [{ version: '1.0' }] });
    expect(server.requests.at(-2)?.headers['if-none-match']).toBe(etag);
    expect(server.requests.at(-1)?.headers['if-none-match']).toBeUndefined();
  });
});
