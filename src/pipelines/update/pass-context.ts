/**
 * What one update pass holds while it runs, made when it is subscribed: its figures, its
 * project ledger, its index lookup and failure recorder, its progress tracker, and its scan
 * (claimed among replicas, closed once `stop` emits).
 */
import type { ClaimedScan, Claimed } from '../claimed-scan.js';
import { passTracker, type PassTracker } from '../pass-progress.js';
import { stageMeter } from '../stage-meter.js';
import { FailureRecorder } from './failure-recorder.js';
import { IndexLookup } from './index-lookup.js';
import { UPDATE_PIPELINE as pipeline, type UpdateOptions } from './options.js';
import { PassTally } from './pass-tally.js';
import type { PassPorts } from './ports.js';
import type { ProjectCheckContext } from './project-check.js';
import { ProjectLedger } from './project-ledger.js';
import type { Rows } from './rows.js';
import { stoppable } from './rows.js';
import { claimedItems, dueItems, unclaimed, type DueItem } from './scan-items.js';
import type { StopSignal } from './stop-signal.js';

export interface PassContext {
  readonly ports: PassPorts;
  readonly options: UpdateOptions;
  readonly startedAt: Date;
  /** The work's request count at the start: the pass's requests are those made since. */
  readonly requestsBefore: number;
  readonly tally: PassTally;
  readonly ledger: ProjectLedger;
  readonly check: ProjectCheckContext;
  readonly claimed: ClaimedScan<DueItem> | null;
  readonly tracker: PassTracker;
  readonly scan: Rows<Claimed<DueItem>>;
}

export function startPass(ports: PassPorts, options: UpdateOptions, stop: StopSignal): PassContext {
  const { store, scheduler, work, claims } = ports;
  const { metrics, logger, concurrency } = options;
  const startedAt = new Date(scheduler.now());
  const all = options.all ? { all: true } : {};
  const tally = new PassTally();
  metrics?.scanRowsDone.set({ pipeline }, 0);
  const items = dueItems(store, options, startedAt);
  const claimed = claims ? claimedItems(claims, items, { concurrency, since: startedAt, scheduler, logger }) : null;
  const failures = new FailureRecorder({ store, scheduler, deferOnFailureMs: options.deferOnFailureMs, metrics, logger });
  return {
    ports,
    options,
    startedAt,
    requestsBefore: work.requests(),
    tally,
    ledger: new ProjectLedger(options.maxProjectsRemembered),
    check: { work, scheduler, indexes: new IndexLookup(() => store.listIndexes()), failures, stage: stageMeter('update', metrics, scheduler), options },
    claimed,
    // Progress counts the due rows (countDue); an unrecorded project is not one of them.
    tracker: passTracker({ pipeline, store, scheduler, metrics, logger, progress: options.progress }, { now: startedAt, ...all }, () => tally.done),
    scan: stoppable(claimed ? claimed.items : unclaimed(items), () => stop.stopped, () => tally.stoppedEarly()),
  };
}
