/**
 * Subscribes an operator's inner stream (a lookup, a projection, a call) under its
 * subscriber: unsubscription of the subscriber unsubscribes it, and it is released from the
 * subscriber when it ends, so a long-lived operator does not accumulate ended inner
 * subscriptions.
 */
import { Subscription, type Observable } from 'rxjs';

export interface InnerObserver<V> {
  readonly next: (value: V) => void;
  readonly error: (error: unknown) => void;
  readonly complete: () => void;
}

export function subscribeInner<V>(owner: Subscription, input: Observable<V>, observer: InnerObserver<V>): void {
  // A holder first: an input that ends during subscribe() has no subscription to release yet.
  const holder = new Subscription();
  owner.add(holder);
  holder.add(
    input.subscribe({
      next: observer.next,
      error: (error: unknown) => {
        owner.remove(holder);
        observer.error(error);
      },
      complete: () => {
        owner.remove(holder);
        observer.complete();
      },
    }),
  );
}
