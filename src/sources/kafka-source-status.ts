/**
 * What the Kafka source shows of its group member (`status$`, `isHealthy()`): the named
 * transitions of its state, with the rebalances counted and the last error kept. The
 * current status is replayed to each new subscriber.
 */
import { BehaviorSubject, type Observable } from 'rxjs';

export type KafkaSourceState = 'idle' | 'connecting' | 'running' | 'rebalancing' | 'crashed' | 'stopped';

export interface KafkaSourceStatus {
  readonly state: KafkaSourceState;
  /** topic → partitions this member owns since the last rebalance. */
  readonly assignment: Readonly<Record<string, readonly number[]>>;
  readonly paused: boolean;
  readonly inFlight: number;
  readonly rebalances: number;
  readonly lastError: string | null;
}

export class KafkaSourceStatusBook {
  private readonly status = new BehaviorSubject<KafkaSourceStatus>({
    state: 'idle',
    assignment: {},
    paused: false,
    inFlight: 0,
    rebalances: 0,
    lastError: null,
  });

  readonly changes: Observable<KafkaSourceStatus> = this.status.asObservable();

  get current(): KafkaSourceStatus {
    return this.status.value;
  }

  /** True while the member is in a group (running or rebalancing). */
  isHealthy(): boolean {
    return this.current.state === 'running' || this.current.state === 'rebalancing';
  }

  /** A new member starts: nothing owned, nothing in flight. */
  connecting(): void {
    this.set({ state: 'connecting', paused: false, inFlight: 0, assignment: {} });
  }

  /** The member joined its group (again): one more rebalance; the last error is over. */
  joined(assignment: KafkaSourceStatus['assignment']): void {
    this.set({ state: 'running', assignment, rebalances: this.current.rebalances + 1, lastError: null });
  }

  rebalancing(): void {
    this.set({ state: 'rebalancing' });
  }

  crashed(lastError: string): void {
    this.set({ state: 'crashed', lastError });
  }

  backpressure(paused: boolean, inFlight: number): void {
    this.set({ paused, inFlight });
  }

  inFlight(inFlight: number): void {
    this.set({ inFlight });
  }

  stopped(): void {
    this.set({ state: 'stopped', paused: false, assignment: {} });
  }

  private set(change: Partial<KafkaSourceStatus>): void {
    this.status.next({ ...this.current, ...change });
  }
}
