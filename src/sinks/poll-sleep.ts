/**
 * The relay's wait between looks at the outbox: `sleep(ms)` ends after `ms`, or at once on
 * `wake()` (events were written) or `close()`. A wake-up that comes while nobody sleeps is
 * kept for the next sleep, so events written during a publish are not left for the poll.
 * After `close()` every sleep ends at once.
 */
export class PollSleep {
  private woken = false;
  private closedNow = false;
  private endSleep: (() => void) | null = null;

  get closed(): boolean {
    return this.closedNow;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.woken || this.closedNow) {
        this.woken = false;
        resolve();
        return;
      }
      const timer = setTimeout(() => end(), ms);
      const end = () => {
        clearTimeout(timer);
        this.endSleep = null;
        this.woken = false;
        resolve();
      };
      this.endSleep = end;
    });
  }

  wake(): void {
    this.woken = true;
    this.endSleep?.();
  }

  close(): void {
    this.closedNow = true;
    this.endSleep?.();
  }
}
