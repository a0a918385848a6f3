/**
 * A PackageStore for dry runs: reads go to the real database, every write is logged with
 * what it would have written and not made. The events a write would put in the outbox are
 * logged too, and handed to `printed` (check --dry-run) as the records they would be.
 */
import { newAttentionItem } from '../domain/attention.js';
import { eventEnvelope, eventKey } from '../domain/event-record.js';
import type { AppliedCheck, EventSink, PackageStore, ReleaseCheck } from '../domain/ports.js';
import type { PackageEvent, StoredRelease } from '../domain/types.js';
import type { Logger } from '../runtime/logger.js';
import { packageVersion } from '../runtime/version.js';

interface DryRun {
  readonly store: PackageStore;
  /** Logs what a write would have done. */
  readonly would: (what: string, details: object) => void;
  /** Logs (and prints, for check --dry-run) the events a write would have put in the outbox. */
  readonly wouldAnnounce: (events: readonly PackageEvent[]) => Promise<void>;
}

export function dryRunStore(store: PackageStore, logger: Logger, printed?: EventSink): PackageStore {
  const log = logger.child({ component: 'store', dryRun: true });
  const would = (what: string, details: object) => log.info(details, `dry run: would ${what}`);
  const wouldAnnounce = async (events: readonly PackageEvent[]): Promise<void> => {
    if (events.length === 0) return;
    for (const event of events) would(`publish ${event.kind}`, { event });
    const createdAt = new Date();
    await printed?.publish(events.map((event) => ({ id: 0, kind: event.kind, key: eventKey(event), record: eventEnvelope(event, packageVersion(), createdAt) })));
  };
  const dryRun: DryRun = { store, would, wouldAnnounce };
  // Reads (every method not named in the parts below) go to the real store.
  return { ...store, ...releaseWrites(dryRun), ...checkWrites(dryRun), ...otherWrites(dryRun) };
}

function releaseWrites({ would, wouldAnnounce }: DryRun) {
  return {
    async recordRelease(index, project, release, options) {
      would('record release', { index: index.simpleUrl, project, version: release.version, files: release.files.length });
      await wouldAnnounce(options?.announce?.(release.version) ?? []);
      return { id: 0, version: release.version, created: true };
    },
    async recordReleases(index, project, releases, options) {
      would('record releases', { index: index.simpleUrl, project, versions: releases.map((release) => release.version) });
      await wouldAnnounce(releases.flatMap((release) => options?.announce?.(release.version) ?? []));
      return releases.map((release) => ({ id: 0, version: release.version, created: true }));
    },
  } satisfies Partial<PackageStore>;
}

function checkWrites({ store, would, wouldAnnounce }: DryRun) {
  const wouldApply = (release: StoredRelease | number, check: ReleaseCheck): AppliedCheck => {
    const stored = typeof release === 'number' ? null : release;
    would('record check', { release: stored ? `${stored.project}==${stored.version}` : release, changes: check.changes.map((change) => change.kind) });
    const changed = (check.events?.length ?? 0) > 0;
    return { state: stored?.state ?? 'present', changed, nextDueAt: check.nextDueAt ?? check.checkedAt };
  };
  return {
    async applyCheck(release, check) {
      await wouldAnnounce(check.events ?? []);
      return wouldApply(release, check);
    },
    async applyChecks(checks) {
      await wouldAnnounce(checks.flatMap(({ check }) => check.events ?? []));
      return checks.map(({ release, check }) => wouldApply(release, check));
    },
    async deferCheck(releaseId, until) {
      would('defer check', { releaseId, until });
    },
    // What would change is known from the stored status, read; without it, nothing is recorded.
    recordProjectStatus: store.loadProjectStatus
      ? async (index, project, status, { announce }) => {
          const previous = (await store.loadProjectStatus?.(index.id, project)) ?? null;
          const changed = previous !== null && previous.status !== status.status;
          if (previous !== null && (changed || previous.reason !== status.reason)) would('record project status', { index: index.simpleUrl, project, ...status });
          if (changed) await wouldAnnounce(announce(previous));
          return { previous, changed };
        }
      : undefined,
  } satisfies Partial<PackageStore>;
}

/** Checkpoints, attention and solver runs. */
function otherWrites({ would, wouldAnnounce }: DryRun) {
  return {
    async saveCheckpoint(checkpoint) {
      would('save feed checkpoint', { indexId: checkpoint.indexId, feed: checkpoint.feed, newest: checkpoint.newestPublishedAt });
    },
    async recordAttention(failure) {
      would('record attention', { ...failure });
      return newAttentionItem(0, failure);
    },
    async resolveAttention(ref) {
      would('resolve attention', { ref });
      return true;
    },
    async requestRetry(ref) {
      would('request retry', { ref });
      return true;
    },
    async recordScheduled({ event, ...run }) {
      would('record solver run', { ...run });
      await wouldAnnounce(event ? [event] : []);
      return { attempts: 1 };
    },
    async recordFinished({ event, ...run }) {
      would('record solver finish', { ...run });
      await wouldAnnounce(event ? [event] : []);
      return true;
    },
  } satisfies Partial<PackageStore>;
}
