/**
 * In-order commits for at-least-once consumption: a partition's offset is committed only up
 * to the contiguous prefix of acknowledged messages (offset + 1 of its last one), so an ack
 * of a later offset waits until every earlier one is acked. Commits are coalesced and run
 * one at a time. A rebalance starts a new epoch: acks of messages delivered before it commit
 * nothing (the partition is re-read from its committed offset by whoever owns it now).
 */
export interface CommitRequest {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read: last acked offset + 1. */
  readonly offset: bigint;
}

export interface TrackedMessage {
  readonly epoch: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

interface Entry {
  readonly offset: bigint;
  acked: boolean;
  readonly done: Promise<void>;
  readonly settle: () => void;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly entries: Entry[];
  head: number;
  readonly byOffset: Map<bigint, Entry>;
  /** The highest offset tracked in this epoch. */
  last: bigint | null;
  /** The last offset committed for this partition in this epoch (next offset to read). */
  committed: bigint | null;
}

interface PendingCommit {
  readonly topic: string;
  readonly partition: number;
  offset: bigint;
  readonly waiters: (() => void)[];
}

function newEntry(offset: bigint): Entry {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  return { offset, acked: false, done, settle: () => settle() };
}

export class OffsetTracker {
  private epoch = 0;
  private readonly partitions = new Map<string, PartitionState>();
  private dirty = new Map<string, PendingCommit>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly commit: (requests: readonly CommitRequest[]) => Promise<void>,
    private readonly onCommitError: (error: unknown, requests: readonly CommitRequest[]) => void,
    private readonly onCommitted: (requests: readonly CommitRequest[]) => void = () => undefined,
  ) {}

  /**
   * Registers a delivered message. `isNew` is false when the same offset is already being
   * tracked in this epoch (a redelivery after a failed handler): it must not be counted twice.
   */
  track(topic: string, partition: number, offset: string): { message: TrackedMessage; isNew: boolean } {
    const key = `${topic}\u0000${partition}`;
    let state = this.partitions.get(key);
    if (!state) {
      state = { topic, partition, entries: [], head: 0, byOffset: new Map(), last: null, committed: null };
      this.partitions.set(key, state);
    }
    const value = BigInt(offset);
    const message = { epoch: this.epoch, topic, partition, offset: value };
    if (state.byOffset.has(value)) return { message, isNew: false };
    if (state.last !== null && value <= state.last) {
      // Behind what this epoch already passed (a seek back): nothing to commit for it.
      return { message: { ...message, epoch: -1 }, isNew: true };
    }
    const entry = newEntry(value);
    state.entries.push(entry);
    state.byOffset.set(value, entry);
    state.last = value;
    return { message, isNew: true };
  }

  /** Resolves once the commit covering this message is done (at once for a stale message). */
  ack(message: TrackedMessage): Promise<void> {
    if (message.epoch !== this.epoch) return Promise.resolve();
    const key = `${message.topic}\u0000${message.partition}`;
    const state = this.partitions.get(key);
    const entry = state?.byOffset.get(message.offset);
    if (!state || !entry) return Promise.resolve();
    if (entry.acked) return entry.done;
    entry.acked = true;
    let advanced: bigint | null = null;
    const waiters: (() => void)[] = [];
    while (state.head < state.entries.length && state.entries[state.head]!.acked) {
      const passed = state.entries[state.head]!;
      advanced = passed.offset;
      waiters.push(passed.settle);
      state.byOffset.delete(passed.offset);
      state.head += 1;
    }
    if (state.head > 1024 && state.head * 2 > state.entries.length) {
      state.entries.splice(0, state.head);
      state.head = 0;
    }
    if (advanced !== null) {
      const pending = this.dirty.get(key) ?? { topic: state.topic, partition: state.partition, offset: 0n, waiters: [] };
      pending.offset = advanced + 1n;
      pending.waiters.push(...waiters);
      this.dirty.set(key, pending);
      this.chain = this.chain.then(() => this.drain());
    }
    return entry.done;
  }

  /** Messages delivered and not yet covered by a commit, over every partition. */
  get outstanding(): number {
    let count = 0;
    for (const state of this.partitions.values()) count += state.entries.length - state.head;
    return count;
  }

  committed(topic: string, partition: number): bigint | null {
    return this.partitions.get(`${topic}\u0000${partition}`)?.committed ?? null;
  }

  /** A rebalance: forget every partition; waiting acks resolve without a commit. */
  newEpoch(): void {
    this.epoch += 1;
    for (const state of this.partitions.values()) {
      for (let i = state.head; i < state.entries.length; i++) state.entries[i]!.settle();
    }
    this.partitions.clear();
    for (const pending of this.dirty.values()) for (const waiter of pending.waiters) waiter();
    this.dirty = new Map();
  }

  /** Waits for commits already requested. */
  flush(): Promise<void> {
    return this.chain;
  }

  private async drain(): Promise<void> {
    if (this.dirty.size === 0) return;
    const batch = [...this.dirty.values()];
    this.dirty = new Map();
    const requests = batch.map(({ topic, partition, offset }) => ({ topic, partition, offset }));
    try {
      await this.commit(requests);
      for (const request of requests) {
        const state = this.partitions.get(`${request.topic}\u0000${request.partition}`);
        if (state) state.committed = request.offset;
      }
      this.onCommitted(requests);
    } catch (error) {
      this.onCommitError(error, requests);
    }
    for (const pending of batch) for (const waiter of pending.waiters) waiter();
  }
}
