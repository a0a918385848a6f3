/**
 * kcat against the Kafka peer exactly as a user starts it (`npm run peers -- kafka --log`):
 * the peer prints its one JSON line, kcat produces and group-consumes through it, `--log`
 * writes the protocol errors kcat's requests met to stderr, and SIGTERM stops it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kcat } from '../support/kcat.js';
import { startPeerProcess, type PeerProcess } from '../support/peers-process.js';
import { runsWith } from '../support/tools.js';

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

describe.skipIf(!runsWith('kcat'))('npm run peers -- kafka --log, driven by kcat', () => {
  let peer: PeerProcess;
  let brokers: string;

  beforeAll(async () => {
    peer = await startPeerProcess(['kafka', '--log']);
    brokers = String(peer.address.brokers);
  }, 120_000);

  afterAll(async () => {
    await peer?.stop();
  });

  it('prints its address as one JSON line', () => {
    expect(brokers).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('kcat produces and group-consumes; --log shows the protocol errors on stderr', async () => {
    const produced = await kcat(['-b', brokers, '-P', '-t', 'logged', '-p', '0'], 'l1\nl2\n');
    expect(produced.status).toBe(0);
    const consumed = await kcat(['-b', brokers, '-X', 'auto.offset.reset=earliest', '-q', '-e', '-G', 'logged-group', 'logged']);
    expect(lines(consumed.stdout)).toEqual(['l1', 'l2']);
    // A dynamic member's first JoinGroup is answered MEMBER_ID_REQUIRED (KIP-394): logged with its peer and API.
    expect(await peer.untilStderr(/^kafka: 127\.0\.0\.1:\d+: JoinGroup v\d+: MEMBER_ID_REQUIRED \(79\)$/)).toBeTruthy();
  });

  it('stops on SIGTERM with exit 0', async () => {
    expect(await peer.stop()).toBe(0);
    const after = await kcat(['-b', brokers, '-L', '-m', '2']);
    expect(after.status).not.toBe(0);
  });
});
