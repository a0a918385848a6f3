/**
 * The demand accounting behind `pullMap`: a pull may start only while fewer than
 * `concurrency` items are in flight and no other pull is outstanding. An outstanding pull
 * counts as in flight: the slot it holds becomes its item's, or is freed when the source
 * turns out exhausted. So `pulled <= finished + concurrency` at every instant. Pure.
 */
export class PullDemand {
  private count = 0; // items started and not finished, plus an outstanding pull
  private pulling = false;
  private ended = false; // exhausted, failed or stopped: no pull again
  private started = 0;

  constructor(private readonly concurrency: number) {}

  get inflight(): number {
    return this.count;
  }

  canPull(): boolean {
    return !this.ended && !this.pulling && this.count < this.concurrency;
  }

  /** True when the source is exhausted and every item has finished. */
  isDone(): boolean {
    return this.ended && this.count === 0;
  }

  pullStarted(): void {
    this.pulling = true;
    this.count += 1;
  }

  /** The pull answered an item, which takes the pull's slot; returns the item's index. */
  pulledItem(): number {
    this.pulling = false;
    return this.started++;
  }

  /** The pull found the source exhausted: its slot is freed. */
  pulledEnd(): void {
    this.pulling = false;
    this.ended = true;
    this.count -= 1;
  }

  /** The pull failed: no pull again (and the failed source is not stopped). */
  pullFailed(): void {
    this.pulling = false;
    this.ended = true;
  }

  itemFinished(): void {
    this.count -= 1;
  }

  /** No pull again; true when the source was still open (it must be told to stop). */
  stop(): boolean {
    const open = !this.ended;
    this.ended = true;
    return open;
  }
}
