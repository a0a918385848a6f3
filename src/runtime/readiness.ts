/**
 * What `/readyz` reports: a set of named checks (the database, each started pipeline), and
 * a shutdown flag that makes every answer 503 from the moment the drain begins.
 */
export type ReadinessCheck = () => Promise<string | null> | string | null;

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;

  /** A check resolves to null when ready, or to why it is not. */
  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  unregister(name: string): void {
    this.checks.delete(name);
  }

  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** The checks that are not ready, by name; empty when ready. */
  async notReady(): Promise<Record<string, string>> {
    const failures: Record<string, string> = {};
    if (this.shuttingDown) failures.shutdown = 'shutting down';
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          const problem = await check();
          if (problem !== null) failures[name] = problem;
        } catch (error) {
          failures[name] = error instanceof Error ? error.message : String(error);
        }
      }),
    );
    return failures;
  }
}
