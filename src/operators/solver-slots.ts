/**
 * The slot accounting behind `solverDispatch`: how many solver Jobs count as active now.
 *
 *   used = watched + calls in flight + created-but-not-yet-seen - seen-before-their-call-returned
 *
 * The Jobs watch lags the create calls, so a created Job is "expected" until the watch's
 * count rises (each rise confirms the oldest expectation first; a rise while calls are in
 * flight and nothing is expected is credited to those calls), or until its deadline passes
 * (a `409 exists` creates nothing, so its expectation must lapse). Pure: time is passed in.
 */
export class SolverSlots {
  /** The watch's active count; null until it has reported. */
  watched: number | null = null;
  private calling = 0;
  private early = 0; // watch rises credited to calls still in flight
  private readonly expected: number[] = []; // deadlines of created Jobs the watch has not shown

  constructor(private readonly confirmTimeoutMs: number) {}

  get inFlight(): number {
    return this.calling;
  }

  used(): number {
    return (this.watched ?? 0) + this.calling - this.early + this.expected.length;
  }

  /** The earliest deadline of an expectation, or Infinity. */
  nextDeadline(): number {
    return this.expected[0] ?? Infinity;
  }

  expire(now: number): void {
    while (this.expected.length > 0 && this.expected[0]! <= now) this.expected.shift();
  }

  callStarted(): void {
    this.calling += 1;
  }

  /** The call created nothing: a rise credited to it belongs to no one now. */
  callFailed(): void {
    this.calling -= 1;
    this.early = Math.min(this.early, this.calling);
  }

  /** The call answered: its Job is active, seen already or expected until `now + timeout`. */
  callCreated(now: number): void {
    this.calling -= 1;
    if (this.early > 0) this.early -= 1;
    else this.expected.push(now + this.confirmTimeoutMs);
  }

  /** A new count from the watch; true when it fell (a Job finished). */
  watch(count: number): boolean {
    const previous = this.watched;
    if (previous !== null && count > previous) {
      const confirmed = Math.min(count - previous, this.expected.length);
      this.expected.splice(0, confirmed);
      this.early = Math.min(this.calling, this.early + count - previous - confirmed);
    }
    this.watched = count;
    return previous !== null && count < previous;
  }
}
