/**
 * Who waits for which dispatch item's outcome: a source's item (a released message's, a
 * scan's) is settled once it has a durable outcome, and so is every repeat of it that the
 * dedupe dropped while it was in flight. Pure: callbacks in, callbacks called.
 */
export class OutcomeWaiters {
  /** Items past the dedupe without an outcome yet, by key. */
  private readonly waiting = new Map<string, (() => void)[]>();

  /** The item of `key` went on to be dispatched: `settled` once it has its outcome. */
  hold(key: string, settled: () => void): void {
    const list = this.waiting.get(key);
    if (list) list.push(settled);
    else this.waiting.set(key, [settled]);
  }

  /** A repeat the dedupe dropped: it waits for the item in flight, or is settled now when that one is done. */
  dropped(key: string, settled: () => void): void {
    const list = this.waiting.get(key);
    if (list) list.push(settled);
    else settled();
  }

  /** The item of `key` has its outcome: everyone waiting for it is settled. */
  settle(key: string): void {
    const list = this.waiting.get(key) ?? [];
    this.waiting.delete(key);
    for (const settled of list) settled();
  }
}
