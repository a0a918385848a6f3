/** Whether `stop` has emitted, read where a pass decides to take the next row or start the next pass. */
import type { Observable, Subscription } from 'rxjs';

export class StopSignal {
  stopped = false;
  private readonly watch: Subscription | undefined;

  constructor(stop: Observable<unknown> | undefined) {
    this.watch = stop?.subscribe(() => (this.stopped = true));
  }

  close(): void {
    this.watch?.unsubscribe();
  }
}
