/**
 * A PackageStore for dry runs: reads go to the real database, every write is logged with
 * what it would have written and not made.
 */
import { newAttentionItem } from '../domain/attention.js';
import type { AppliedCheck, PackageStore, ReleaseCheck } from '../domain/ports.js';
import type { StoredRelease } from '../domain/types.js';
import type { Logger } from '../runtime/logger.js';

export function dryRunStore(store: PackageStore, logger: Logger): PackageStore {
  const log = logger.child({ component: 'store', dryRun: true });
  const would = (what: string, details: object) => log.info(details, `dry run: would ${what}`);
  const wouldApply = (release: StoredRelease | number, check: ReleaseCheck): AppliedCheck => {
    const stored = typeof release === 'number' ? null : release;
    would('record check', { release: stored ? `${stored.project}==${stored.version}` : release, changes: check.changes.map((change) => change.kind) });
    return { state: stored?.state ?? 'present', changed: false, nextDueAt: check.nextDueAt ?? check.checkedAt };
  };
  // Reads (every method not named below) go to the real store.
  return {
    ...store,
    async recordRelease(index, project, release) {
      would('record release', { index: index.simpleUrl, project, version: release.version, files: release.files.length });
      return { id: 0, version: release.version, created: true };
    },
    async recordReleases(index, project, releases) {
      would('record releases', { index: index.simpleUrl, project, versions: releases.map((release) => release.version) });
      return releases.map((release) => ({ id: 0, version: release.version, created: true }));
    },
    async applyCheck(release, check) {
      return wouldApply(release, check);
    },
    async applyChecks(checks) {
      return checks.map(({ release, check }) => wouldApply(release, check));
    },
    async deferCheck(releaseId, until) {
      would('defer check', { releaseId, until });
    },
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
    async recordScheduled(run) {
      would('record solver run', { ...run });
      return { attempts: 1 };
    },
    async recordFinished(run) {
      would('record solver finish', { ...run });
      return true;
    },
  };
}
