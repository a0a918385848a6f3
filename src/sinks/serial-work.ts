/**
 * One piece of work at a time, in the order asked: the relay's batches and its retention
 * deletes never overlap (a delete must not race the mark of the rows it would remove, and
 * batches stay in id order). A failed piece does not stop the ones queued after it; its
 * caller gets the failure.
 */
export class SerialWork {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
