/**
 * The edges of the feed path (issue 12: 20, 25, 26, 30), through the releases pipeline with
 * the real undici client against the local index and the real store.
 */
import { describe, expect, it } from 'vitest';
import { counted, diagnosis, recordedReleases, until, useWorlds, type World } from '../bad-input/helpers.js';

const worlds = useWorlds();

const polls = (w: World) => w.outcomes.filter((o) => o.type === 'poll' && o.status === 'items').length;

describe('feed edges', () => {
  it('12.20: an item dated 2099 is bad input, read by its content, never the checkpoint', async () => {
    const w = await worlds.create({ watchMode: 'seen', known: ['alpha', 'beta'] });
    w.server.addRelease('alpha', '1.0');
    w.server.addRelease('beta', '9.0', undefined, { uploadTime: new Date('2099-01-01T00:00:00Z') });
    await w.run();
    await until('both recorded', async () => (await recordedReleases(w)).length === 2, 30_000, () => diagnosis(w));
    w.server.addRelease('alpha', '1.1');
    await until('a later release recorded', async () => (await recordedReleases(w)).includes('alpha==1.1'), 30_000, () => diagnosis(w));
    const checkpoint = await worlds.database.pool.query<{ newest_published_at: Date }>('SELECT newest_published_at FROM feed_checkpoint WHERE index_id = $1', [w.index.id]);
    expect(checkpoint.rows[0]?.newest_published_at.getFullYear()).toBeLessThan(2099);
    expect(await counted(w.metrics.badInput, { source: 'feed', code: 'FUTURE_PUBDATE' })).toBe(1);
    expect(w.logs.filter((line) => line.includes('FUTURE_PUBDATE') && line.includes('beta 9.0'))).toHaveLength(1);
  });

  it('12.20: a database holding a checkpoint dated 2099 recovers', async () => {
    const w = await worlds.create({ watchMode: 'seen', known: ['alpha'] });
    await worlds.database.pool.query(
      `INSERT INTO feed_checkpoint (index_id, feed, newest_items, newest_published_at) VALUES ($1, 'updates', '[]'::jsonb, '2099-01-01T00:00:00Z')`,
      [w.index.id],
    );
    w.server.addRelease('alpha', '1.0');
    await w.run();
    await until('recorded', async () => (await recordedReleases(w)).includes('alpha==1.0'), 30_000, () => diagnosis(w));
  });

  it('12.30: the same bad items over 5 polls are counted and named once each', async () => {
    const w = await worlds.create({ watchMode: 'seen', known: ['alpha'] });
    w.server.addRelease('victim', 'banana');
    w.server.addRelease('other', 'not-pep-440!');
    await w.run();
    for (let i = 0; i < 5; i += 1) {
      const before = polls(w);
      w.server.addRelease('alpha', `1.${i}`);
      await until(`poll ${i}`, () => polls(w) > before, 30_000, () => diagnosis(w));
    }
    await until('recorded', async () => (await recordedReleases(w)).includes('alpha==1.4'), 30_000, () => diagnosis(w));
    expect(await counted(w.metrics.badInput, { source: 'feed', code: 'BAD_FEED_ITEM' })).toBe(2);
    expect(w.logs.filter((line) => line.includes('BAD_FEED_ITEM'))).toHaveLength(2);
  });

  it('12.26: a feed redirecting to another port is refused, counted, not followed', async () => {
    const w = await worlds.create({ watchMode: 'seen', known: ['alpha'] });
    const { createServer } = await import('node:http');
    let followed = 0;
    const other = createServer((_req, res) => {
      followed += 1;
      res.end('<rss><channel></channel></rss>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as { port: number }).port;
    // The local index has no redirect fault: serve the redirect from the rss base itself.
    await worlds.database.pool.query('UPDATE package_index SET rss_url = $1 WHERE id = $2', [`http://127.0.0.1:${port}/rss`, w.index.id]);
    other.removeAllListeners('request');
    other.on('request', (req, res) => {
      if (req.url?.startsWith('/rss/')) {
        res.writeHead(302, { location: `${w.server.url}${req.url}` });
        res.end();
      } else {
        followed += 1;
        res.end();
      }
    });
    try {
      await w.run();
      await until('a refused redirect counted', async () => (await counted(w.metrics.badInput, { code: 'INDEX_REDIRECT_REFUSED' })) >= 1, 30_000, () => diagnosis(w));
      expect(w.logs.some((line) => line.includes('redirect refused (to another origin)') && line.includes(`127.0.0.1:${port}/rss/updates.xml -> ${w.server.url}/rss/updates.xml`))).toBe(true);
      expect(w.paths.filter((path) => path.startsWith('/rss/'))).toEqual([]);
      expect(followed).toBe(0);
    } finally {
      other.close();
      other.closeAllConnections();
    }
  });
});
