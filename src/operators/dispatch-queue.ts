/**
 * The items waiting for a `solverDispatch` call, in arrival order, with the attempts each
 * has used. A retriable failure puts its item back at the head while it has attempts left;
 * a refusal (the cluster is full, not the item wrong) is backpressure and uses up none. Pure.
 */
export interface DispatchAttempt<T> {
  readonly item: T;
  /** Calls counted against the item (refusals are not). */
  readonly attempts: number;
}

export class DispatchQueue<T> {
  private readonly waiting: DispatchAttempt<T>[] = [];

  constructor(private readonly maxAttempts: number) {}

  get length(): number {
    return this.waiting.length;
  }

  push(item: T): void {
    this.waiting.push({ item, attempts: 0 });
  }

  /** The head item, taken out for a call: the call counts as an attempt. */
  startCall(): DispatchAttempt<T> | undefined {
    const head = this.waiting.shift();
    return head && { item: head.item, attempts: head.attempts + 1 };
  }

  /** The call failed: back at the head for another call (`retried`), or failed for good after `attempts`. */
  callFailed(call: DispatchAttempt<T>, retriable: boolean, refusal: boolean): DispatchAttempt<T> & { readonly retried: boolean } {
    const counted = { item: call.item, attempts: refusal ? call.attempts - 1 : call.attempts };
    const retried = retriable && counted.attempts < this.maxAttempts;
    if (retried) this.waiting.unshift(counted);
    return { ...counted, retried };
  }
}
