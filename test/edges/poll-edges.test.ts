/**
 * The edges of one poll (issue 12: 21, 26): a slow project page, a refused redirect of a
 * project page, through the releases pipeline with the real undici client against the
 * local index and the real store.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { attentionFor, counted, diagnosis, recordedReleases, until, useWorlds, type World } from '../bad-input/helpers.js';

const worlds = useWorlds();

const FAST = Array.from({ length: 9 }, (_, i) => `fast-${i}`);
// The client's own deadline per request (2 attempts: 16 s before the item would give up
// without a poll deadline); the poll's deadline is what the cases test.
const REQUEST_TIMEOUT_MS = 8_000;
const DRIP = { kind: 'drip', chunkBytes: 1, intervalMs: 2_000 } as const;

async function passGauge(w: World): Promise<number> {
  const { values } = await w.metrics.lastSuccessfulPass.get();
  return values.find((value) => value.labels.pipeline === 'releases')?.value ?? 0;
}

/**
 * The world's simple API behind a front of our own, set as the index's URL: the page of
 * `target` is answered by `answerTarget`, every other request is passed through.
 */
async function frontOf(w: World, scheme: 'http' | 'https', answerTarget: (res: ServerResponse, front: string) => void): Promise<{ front: string; server: Server }> {
  let front = '';
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/simple/target/') {
      answerTarget(res, front);
      return;
    }
    void fetch(`${w.server.url}${req.url ?? '/'}`, { headers: { accept: String(req.headers.accept ?? '*/*') } }).then(async (answer) => {
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' }).end(Buffer.from(await answer.arrayBuffer()));
    });
  };
  const tls = { cert: readFileSync(new URL('../support/kube-api/tls-cert.pem', import.meta.url)), key: readFileSync(new URL('../support/kube-api/tls-key.pem', import.meta.url)) };
  const server: Server = scheme === 'https' ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await worlds.database.pool.query('UPDATE package_index SET simple_url = $1, verify_tls = false WHERE id = $2', [`${front}/simple`, w.index.id]);
  return { front, server };
}

describe('poll edges', () => {
  it('12.21: one dripping page of 10 does not hold the poll: 9 recorded, the slow one in attention, the next poll runs', async () => {
    const w = await worlds.create({ watchMode: 'seen', known: ['slow', ...FAST], requestTimeoutMs: REQUEST_TIMEOUT_MS });
    w.server.addRelease('slow', '1.0');
    for (const name of FAST) w.server.addRelease(name, '1.0');
    w.server.inject(DRIP, { routes: ['simple-project'], projects: ['slow'], times: Infinity });
    const started = Date.now();
    await w.run({ pageDeadlineMs: 2_000 });
    await until('the 9 others recorded and announced', async () => (await recordedReleases(w)).length === 9 && w.sink.released().length === 9, 10_000, () => diagnosis(w));
    const othersMs = Date.now() - started;
    await until('the slow one in attention', async () => (await attentionFor(w)).some((row) => row.itemKey.endsWith('|slow')), 6_000, () => diagnosis(w));
    const row = (await attentionFor(w)).find((r) => r.itemKey.endsWith('|slow'));
    expect(row?.errorCode).toBe('INDEX_TIMEOUT');
    expect(row?.errorMessage).toContain('project slow: no page within 2 s');
    // The checkpoint moved past the poll: a release published now is found by the next poll.
    w.server.addRelease('fast-0', '1.1');
    await until('the next poll recorded', async () => (await recordedReleases(w)).includes('fast-0==1.1'), 10_000, () => diagnosis(w));
    const checkpoint = await worlds.database.pool.query('SELECT 1 FROM feed_checkpoint WHERE index_id = $1 AND feed = $2', [w.index.id, 'updates']);
    expect(checkpoint.rowCount).toBe(1);
    console.log(`12.21: 9 others recorded after ${othersMs} ms, the slow one in attention, the next poll recorded after ${Date.now() - started} ms`);
  });

  it('12.21: the pass gauge waits for the stuck updates feed, whatever the packages feed answers', async () => {
    const w = await worlds.create({ watchMode: 'all', known: ['slow', ...FAST], requestTimeoutMs: REQUEST_TIMEOUT_MS });
    w.server.addRelease('slow', '1.0');
    for (const name of FAST) w.server.addRelease(name, '1.0');
    // The packages feed has seen every project already: its polls are passes at once (then 304s).
    await worlds.database.pool.query(
      `INSERT INTO feed_checkpoint (index_id, feed, newest_items, newest_published_at) VALUES ($1, 'packages', '[]'::jsonb, now())`,
      [w.index.id],
    );
    w.server.inject(DRIP, { routes: ['simple-project'], projects: ['slow'], times: Infinity });
    await w.run({ pageDeadlineMs: 4_000 });
    const packagesPolls = () => w.outcomes.filter((o) => o.type === 'poll' && o.feed === 'packages').length;
    await until('the packages feed polled 3 times', () => packagesPolls() >= 3, 10_000, () => diagnosis(w));
    const slowDone = (await attentionFor(w)).some((row) => row.itemKey.endsWith('|slow'));
    expect(slowDone).toBe(false);
    const whileStuck = await passGauge(w);
    await until('the updates feed completed its pass', async () => (await passGauge(w)) > 0, 8_000, () => diagnosis(w));
    console.log(`12.21: pass gauge while the updates feed was stuck (${packagesPolls()} packages polls): ${whileStuck}; after: ${await passGauge(w)}`);
    expect(whileStuck).toBe(0);
  });

  it.each(['http', 'https'] as const)('12.26: a project page redirected away (%s index) is refused, counted as bad input, never followed', async (scheme) => {
    const w = await worlds.create({ watchMode: 'seen', known: ['target', 'good'] });
    w.server.addRelease('target', '1.0');
    w.server.addRelease('good', '1.0');
    // The target's page redirects (to the local index, another origin; or from https down
    // to http on the same host:port).
    const away = (front: string) => (scheme === 'http' ? `${w.server.url}/simple/target/` : `${front.replace('https:', 'http:')}/simple/target/`);
    const { front, server } = await frontOf(w, scheme, (res, origin) => res.writeHead(302, { location: away(origin) }).end());
    try {
      await w.run({ concurrency: 1 });
      await until('good recorded', async () => (await recordedReleases(w)).includes('good==1.0'), 10_000, () => diagnosis(w));
      await until('the refused redirect counted', async () => (await counted(w.metrics.badInput, { code: 'INDEX_REDIRECT_REFUSED' })) >= 1, 10_000, () => diagnosis(w));
      const reason = scheme === 'http' ? 'to another origin' : 'from https to http';
      expect(w.logs.some((line) => line.includes(`redirect refused (${reason}): ${front}/simple/target/ -> ${away(front)}`))).toBe(true);
      expect(w.paths).not.toContain('/simple/target/');
      expect(await recordedReleases(w)).toEqual(['good==1.0']);
      console.log(`12.26 (${scheme}): refused redirects counted ${await counted(w.metrics.badInput, { code: 'INDEX_REDIRECT_REFUSED' })}, target pages asked of the local index: ${w.paths.filter((p) => p === '/simple/target/').length}`);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
  it('12.31: a project page whose headers overflow the client limit is bad input: named, counted, the others recorded', async () => {
    const w = await worlds.create({ watchMode: 'seen', known: ['target', 'good'] });
    w.server.addRelease('target', '1.0');
    w.server.addRelease('good', '1.0');
    // 64 KiB of headers: over undici's 16 KiB limit.
    const { front, server } = await frontOf(w, 'http', (res) => res.writeHead(200, { 'content-type': 'text/html', 'x-padding': 'p'.repeat(64 * 1024) }).end('<html></html>'));
    try {
      await w.run({ concurrency: 1 });
      await until('good recorded', async () => (await recordedReleases(w)).includes('good==1.0'), 10_000, () => diagnosis(w));
      await until('the overflow counted', async () => (await counted(w.metrics.badInput, { code: 'INDEX_BAD_HEADERS' })) >= 1, 10_000, () => diagnosis(w));
      expect(w.logs.some((line) => line.includes(`${front}/simple/target/: response headers over the size limit`))).toBe(true);
      expect(await recordedReleases(w)).toEqual(['good==1.0']);
      console.log(`12.31: header overflow counted ${await counted(w.metrics.badInput, { code: 'INDEX_BAD_HEADERS' })} as bad input, good recorded`);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
