/**
 * The consumer lag of each partition: messages between its committed offset and the high
 * watermark of the last batch fetched from it. Both arrive separately (a fetch, a commit);
 * the lag is known once both have. Pure.
 */
export class ConsumerLag {
  private readonly highWatermarks = new Map<string, bigint>();

  /** A batch of `topic`/`partition` was fetched; the partition's end was then `highWatermark`. */
  fetched(topic: string, partition: number, highWatermark: string): void {
    this.highWatermarks.set(`${topic}\u0000${partition}`, BigInt(highWatermark));
  }

  /** The lag at `committed` (the next offset to read), or null before both are known. */
  lag(topic: string, partition: number, committed: bigint | null): number | null {
    const highWatermark = this.highWatermarks.get(`${topic}\u0000${partition}`);
    if (highWatermark === undefined || committed === null) return null;
    return Number(highWatermark - committed);
  }
}
