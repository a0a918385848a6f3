/**
 * The slot accounting behind `solverDispatch`: how many solver Jobs count as active now.
 *
 *   used = watched + calls in flight + created-but-not-yet-seen - seen-before-their-call-returned
 *
 * The Jobs watch lags the create calls, so a created Job is "expected" until the watch's
 * count rises (each rise confirms the oldest expectation first; a rise while calls are in
 * flight and nothing is expected is credited to those calls), or until its deadline passes
 * (a `409 exists` creates nothing, so its expectation must lapse), or until the watch
 * reports it finished: a Job created and finished while the watch was re-listing never
 * raises the count, and must not hold its slot until the deadline. A call that created
 * nothing the watch will show (a dry run, a logged Job) holds no slot. Pure: time is passed in.
 */
export class SolverSlots {
  /** The watch's active count; null until it has reported. */
  watched: number | null = null;
  private calling = 0;
  private early = 0; // watch rises credited to calls still in flight
  /** Created Jobs the watch has not shown, oldest first: name and deadline. */
  private readonly expected: { readonly name: string; readonly deadline: number }[] = [];
  /** Jobs reported finished while create calls were in flight (their call may still answer). */
  private readonly finishedEarly = new Set<string>();

  constructor(private readonly confirmTimeoutMs: number) {}

  get inFlight(): number {
    return this.calling;
  }

  used(): number {
    return (this.watched ?? 0) + this.calling - this.early + this.expected.length;
  }

  /** The earliest deadline of an expectation, or Infinity. */
  nextDeadline(): number {
    return this.expected[0]?.deadline ?? Infinity;
  }

  expire(now: number): void {
    while (this.expected.length > 0 && this.expected[0]!.deadline <= now) this.expected.shift();
  }

  callStarted(): void {
    this.calling += 1;
  }

  /** The call created nothing: a rise credited to it belongs to no one now. */
  callFailed(): void {
    this.calling -= 1;
    this.early = Math.min(this.early, this.calling);
  }

  /**
   * The call answered: its Job is active, seen already, finished already, or expected until
   * `now + timeout`. `name` null: nothing was created that the watch will show (dry run).
   */
  callCreated(now: number, name: string | null): void {
    if (name === null) return this.callFailed();
    this.calling -= 1;
    if (this.early > 0) this.early -= 1;
    else if (!this.finishedEarly.delete(name)) this.expected.push({ name, deadline: now + this.confirmTimeoutMs });
    if (this.calling === 0) this.finishedEarly.clear();
  }

  /** The watch reports the Job finished: an expectation of it that is still open is settled. */
  finished(name: string): void {
    const at = this.expected.findIndex((entry) => entry.name === name);
    if (at >= 0) this.expected.splice(at, 1);
    else if (this.calling > 0) {
      this.finishedEarly.add(name);
      // Only names of calls in flight can match: a bounded few are enough.
      if (this.finishedEarly.size > 1_000) this.finishedEarly.delete(this.finishedEarly.values().next().value!);
    }
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
