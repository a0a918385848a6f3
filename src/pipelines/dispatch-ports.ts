/**
 * The dispatch pipeline's ports, options and outcomes. The ports are the few calls dispatch
 * makes; each may answer with a Promise (the adapters) or an Observable (a marble spec
 * driving them in virtual time): the pipeline only ever calls them through `defer`.
 */
import type { Observable, ObservableInput, SchedulerLike } from 'rxjs';
import type { AttentionFailure, JobsWatchEvent, SolverFinished, SolverScheduled, UnsolvedItem } from '../domain/ports.js';
import type { JobOutcome, PackageIndex, SolverJobRequest, StoredRelease } from '../domain/types.js';
import type { Logger, Metrics } from '../runtime/index.js';
import type { DispatchItem } from './dispatch-items.js';

/** A `package-released` message as the Kafka source yields it. */
export interface ReleasedMessage {
  readonly value: { readonly index_url: string; readonly package_name: string; readonly package_version: string };
  ack(): ObservableInput<void>;
}

/** What dispatch needs of the store (`PackageStore` is one). */
export interface DispatchStore {
  listIndexes(): ObservableInput<readonly PackageIndex[]>;
  loadRelease(indexId: number, project: string, version: string): ObservableInput<StoredRelease | null>;
  scanUnsolved(options: { readonly solvers: readonly string[]; readonly pageSize: number }): AsyncIterable<UnsolvedItem> | Iterable<UnsolvedItem>;
  recordScheduled(run: SolverScheduled): ObservableInput<{ readonly attempts: number }>;
  recordFinished(run: SolverFinished): ObservableInput<boolean>;
  recordAttention(failure: AttentionFailure): ObservableInput<unknown>;
}

/** What dispatch needs of the Job sink (`JobScheduler` is one). */
export interface DispatchJobs {
  schedule(request: SolverJobRequest): ObservableInput<{ readonly jobName: string; readonly outcome: JobOutcome }>;
  watch(): Observable<JobsWatchEvent>;
}

export interface DispatchPorts {
  readonly store: DispatchStore;
  readonly jobs: DispatchJobs;
  readonly released?: Observable<ReleasedMessage>;
  readonly scheduler: SchedulerLike;
}

export type DispatchMetrics = Pick<
  Metrics,
  'jobsCapacity' | 'stageInflight' | 'stageItems' | 'stageDuration' | 'events' | 'attentionRecorded' | 'lastSuccessfulPass' | 'dedupeDropped'
>;

export interface DispatchOptions {
  /** Solver names (e.g. `solver-fedora-38-py311`). */
  readonly solvers: readonly string[];
  /** Most solver Jobs active at once. */
  readonly capacity: number;
  readonly scanIntervalMs: number;
  /** Rows per page of the unsolved scan; also the most scan items waiting for an outcome. */
  readonly pageSize: number;
  /** Most create calls at once, and most store writes at once per stage. */
  readonly concurrency: number;
  /** Jobs per (release, solver) in all: a failed Job is re-run until this many failed. */
  readonly maxJobAttempts: number;
  /** Also one reverse-solver Job per release (template `reverse`, solver `reverse`). */
  readonly reverse: boolean;
  /** Keys the dedupe remembers. */
  readonly dedupeMax: number;
  /** Create calls of one Job refused with a retriable error (quota, 429) before attention. Default 10. */
  readonly scheduleMaxAttempts?: number;
  /** Attempts of a store write before it counts as failed. Default 5. */
  readonly storeMaxAttempts?: number;
  readonly metrics?: DispatchMetrics;
  readonly logger?: Logger;
  /** In [0, 1), for the backoff jitter (default Math.random). */
  readonly random?: () => number;
}

export type DispatchPipelineOutcome =
  /** A Job was created (or already existed) and its solver run is recorded. */
  | {
      readonly type: 'scheduled';
      readonly item: DispatchItem;
      readonly jobName: string;
      readonly outcome: 'created' | 'exists';
      /** Jobs the store counts for the pair, this one included. */
      readonly runAttempts: number;
    }
  | { readonly type: 'dry-run'; readonly item: DispatchItem; readonly jobName: string }
  /** The item could not be scheduled or recorded and is in the attention table. */
  | {
      readonly type: 'failed';
      readonly item: DispatchItem;
      readonly errorCode: string;
      readonly error: unknown;
      readonly attempts: number;
      readonly jobName?: string;
    }
  /** A Job finished; `next` says what came of it. */
  | {
      readonly type: 'finished';
      readonly jobName: string;
      readonly phase: 'succeeded' | 'failed';
      readonly item: DispatchItem | null;
      /** False when no solver run has this Job's name (a stale Job): nothing else was done. */
      readonly recorded: boolean;
      readonly next: 'none' | 'retry' | 'attention';
    }
  /** A released message was handled and acked; `items` 0 when its release is not stored. */
  | { readonly type: 'released'; readonly message: ReleasedMessage['value']; readonly items: number }
  /** A pass of the unsolved scan ended (with `error` when it broke off). */
  | { readonly type: 'scan'; readonly items: number; readonly error?: unknown };
