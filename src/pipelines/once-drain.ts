/**
 * When `dispatchOnce` is done: its scan pass has ended and no finish handler or re-run of a
 * failed Job is under way. Pure: `done` is called once, when both hold.
 */
export class OnceDrain {
  private busy = 0;
  private scanDone = false;
  private finished = false;

  constructor(private readonly done: () => void) {}

  /** A finish handler or a re-run started. */
  started(): void {
    this.busy += 1;
  }

  ended(): void {
    this.busy -= 1;
    this.check();
  }

  scanEnded(): void {
    this.scanDone = true;
    this.check();
  }

  private check(): void {
    if (this.finished || !this.scanDone || this.busy > 0) return;
    this.finished = true;
    this.done();
  }
}
