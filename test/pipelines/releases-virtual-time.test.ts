/**
 * The releases pipeline definition in virtual time, with its ports as in-memory fakes
 * (ports, not client libraries): when releases appear on a feed over virtual minutes,
 * their events go out at the first poll after them; a feed gap is answered by a backfill.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { AppliedCheck, CheckpointItem, FeedCheckpoint, IndexClient, PackageStore, RecordedRelease, RecordReleaseOptions } from '../../src/domain/ports.js';
import type { FeedItem, FeedResult, IndexRelease, PackageEvent, PackageIndex, ProjectListing, ProjectPage } from '../../src/domain/types.js';
import { releasesPipeline, type ReleasesOutcome } from '../../src/pipelines/releases.js';
import { drive } from '../support/virtual-time.js';
import { storedRelease } from '../support/stored-release.js';

const INDEX: PackageIndex = { id: 1, simpleUrl: 'https://idx.example/simple', jsonApiUrl: 'https://idx.example/pypi', rssUrl: 'https://idx.example/rss', verifyTls: true, enabled: true, watchMode: 'seen' };
const MINUTE = 60_000;
const FEED_SIZE = 100;

interface Published {
  readonly project: string;
  readonly version: string;
  readonly at: number;
}

/** An index whose updates feed lists the newest 100 releases published up to `now`. */
class FakeIndex implements IndexClient {
  readonly published: Published[] = [];
  constructor(private readonly scheduler: VirtualTimeScheduler) {}

  publish(project: string, version: string, at: number): void {
    this.published.push({ project, version, at });
  }

  async fetchFeed(): Promise<FeedResult> {
    const now = this.scheduler.now();
    const items: FeedItem[] = this.published
      .filter((release) => release.at <= now)
      .sort((a, b) => b.at - a.at)
      .slice(0, FEED_SIZE)
      .map((release) => ({ project: release.project, version: release.version, publishedAt: new Date(release.at), link: null }));
    return { notModified: false, items, badItems: [], validators: {} };
  }

  async fetchProject(_index: PackageIndex, project: string): Promise<ProjectPage> {
    const now = this.scheduler.now();
    const releases: IndexRelease[] = this.published
      .filter((release) => release.project === project && release.at <= now)
      .map((release) => ({ version: release.version, files: [{ filename: `${project}-${release.version}.tar.gz`, sha256: 'a'.repeat(64), yanked: false, yankedReason: null, uploadTime: null, size: null }] }));
    return { project, releases, validators: {} };
  }

  /** The projects published up to now; no serials, as a static index. */
  async fetchProjectList(): Promise<ProjectListing> {
    const now = this.scheduler.now();
    const projects = [...new Set(this.published.filter((release) => release.at <= now).map((release) => release.project))];
    return { projects: projects.map((project) => ({ project, lastSerial: null })), listed: projects.length, lastSerial: null };
  }

  close = async (): Promise<void> => undefined;
}

/**
 * The part of the store the releases pipeline uses; the rest is never called. Like the real
 * one, it writes the events announcing the versions it created (the outbox), here with the
 * virtual time of the write.
 */
class FakeStore implements Partial<PackageStore> {
  constructor(private readonly scheduler: VirtualTimeScheduler) {}
  readonly events: { at: number; event: PackageEvent }[] = [];
  readonly seen = new Set<string>();
  readonly releases = new Map<string, string[]>();
  checkpoint: FeedCheckpoint | null = null;

  listIndexes = async () => [INDEX];
  isKnownProject = async (project: string) => this.seen.has(project);
  async *knownProjects(): AsyncGenerator<string> {
    yield* [...this.seen].sort();
  }
  /** Stored as the fake index lists them: a check of a known release finds it unchanged. */
  loadProjectReleases = async (_indexId: number, project: string) =>
    (this.releases.get(project) ?? []).map((version, id) =>
      storedRelease(INDEX, project, version, { id, artifacts: [{ filename: `${project}-${version}.tar.gz`, sha256: 'a'.repeat(64) }] }),
    );
  recordReleases = async (_index: PackageIndex, project: string, releases: readonly IndexRelease[], options?: RecordReleaseOptions): Promise<RecordedRelease[]> => {
    this.seen.add(project);
    for (const release of releases) for (const event of options?.announce?.(release.version) ?? []) this.events.push({ at: this.scheduler.now(), event });
    this.releases.set(project, [...(this.releases.get(project) ?? []), ...releases.map((release) => release.version)]);
    return releases.map((release, id) => ({ id, version: release.version, created: true }));
  };
  /** A backfill checks its pages whole: the known releases here never change. */
  applyChecks = async (checks: readonly unknown[]): Promise<AppliedCheck[]> => checks.map(() => ({ state: 'present', changed: false, nextDueAt: new Date(this.scheduler.now()) }));
  getCheckpoint = async () => this.checkpoint;
  saveCheckpoint = async (checkpoint: FeedCheckpoint) => void (this.checkpoint = checkpoint);
  recordAttention = async (failure: unknown) => {
    throw new Error(`no attention expected: ${JSON.stringify(failure)}`);
  };
}

function setup() {
  const scheduler = new VirtualTimeScheduler();
  const index = new FakeIndex(scheduler);
  const store = new FakeStore(scheduler);
  const pipeline = releasesPipeline(
    { store: store as unknown as PackageStore, index, scheduler },
    { pollIntervalMs: MINUTE, concurrency: 4, retry: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 10_000 }, random: () => 0.5 },
  );
  return { scheduler, index, store, sink: store, pipeline };
}

const released = (sink: FakeStore) =>
  sink.events.filter(({ event }) => event.kind === 'package-released').map(({ at, event }) => `${event.project}==${event.version ?? ''} @${at / 1000}s`);

describe('releases pipeline in virtual time', () => {
  it('announces each release of a seen project at the first poll after it appears, once', async () => {
    const { scheduler, index, store, sink, pipeline } = setup();
    store.seen.add('alpha');
    index.publish('alpha', '1.0', 30_000);
    index.publish('unseen', '9.9', 40_000);
    index.publish('alpha', '1.1', 90_000);
    index.publish('alpha', '2.0', 200_000);

    const outcomes = await drive(scheduler, pipeline, { untilMs: 6 * MINUTE });

    expect(released(sink)).toEqual(['alpha==1.0 @60s', 'alpha==1.1 @120s', 'alpha==2.0 @240s']);
    expect(outcomes.filter((outcome) => outcome.type === 'poll')).toHaveLength(7); // t = 0, 1, ..., 6 min
    expect(store.checkpoint?.newestItems.map((item: CheckpointItem) => item.version)).toEqual(['2.0']);
  });

  it('answers a feed gap with a backfill of every known project, so a release that fell off the feed is still announced', async () => {
    const { scheduler, index, store, sink, pipeline } = setup();
    store.seen.add('alpha');
    store.seen.add('beta');
    index.publish('alpha', '1.0', 10_000);
    // Between the polls at 1 and 2 minutes: beta 1.0, then 150 other releases push it off the 100-item feed.
    index.publish('beta', '1.0', 61_000);
    for (let i = 0; i < 150; i += 1) index.publish(`noise-${i}`, '1.0', 62_000 + i * 100);

    const outcomes: ReleasesOutcome[] = await drive(scheduler, pipeline, { untilMs: 3 * MINUTE });

    expect(outcomes.filter((outcome) => outcome.type === 'gap')).toEqual([{ type: 'gap', indexUrl: INDEX.simpleUrl, feed: 'updates' }]);
    expect(released(sink)).toEqual(['alpha==1.0 @60s', 'beta==1.0 @120s']);
    expect(outcomes.some((outcome) => outcome.type === 'released' && outcome.backfill && outcome.project === 'beta')).toBe(true);
  });
});
