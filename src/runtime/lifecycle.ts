/**
 * Start, drain and stop. On SIGTERM/SIGINT: readiness turns 503, the registered stoppers
 * run (sources stop taking work, in-flight work finishes) within the grace period, then
 * the closers run (producer flush, connections), then exit 0. A second signal exits at
 * once with 130; an uncaught error is logged with its stack and exits 1.
 */
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';

type Step = { readonly name: string; readonly run: () => Promise<void> };

export class Lifecycle {
  private readonly drains: Step[] = [];
  private readonly closers: Step[] = [];
  private stopping: Promise<void> | null = null;
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code once the service has stopped. */
  readonly done: Promise<number> = new Promise((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly options: { logger: Logger; readiness: Readiness; graceMs: number },
  ) {}

  /** Work to let finish on shutdown (bounded by the grace period), run in parallel. */
  onDrain(name: string, run: () => Promise<void>): void {
    this.drains.push({ name, run });
  }

  /** Resources to close after the drain, run in reverse order of registration. */
  onClose(name: string, run: () => Promise<void>): void {
    this.closers.push({ name, run });
  }

  installSignalHandlers(processRef: NodeJS.Process = process): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopping) {
        this.options.logger.warn({ signal }, 'second signal: exiting now');
        processRef.exit(130);
      }
      void this.stop(`signal ${signal}`);
    };
    processRef.on('SIGTERM', onSignal);
    processRef.on('SIGINT', onSignal);
    processRef.on('uncaughtException', (error) => this.crash(error));
    processRef.on('unhandledRejection', (reason) => this.crash(reason));
  }

  stop(reason: string): Promise<void> {
    this.stopping ??= this.runStop(reason);
    return this.stopping;
  }

  private crash(error: unknown): void {
    this.options.logger.fatal({ err: error }, 'uncaught error');
    this.resolveDone(1);
  }

  private async runStop(reason: string): Promise<void> {
    const { logger, readiness, graceMs } = this.options;
    logger.info({ reason, graceMs }, 'shutting down');
    readiness.beginShutdown();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    const drained = Promise.allSettled(this.drains.map((step) => this.runStep(step)));
    const outcome = await Promise.race([drained.then(() => 'drained' as const), graceOver]);
    clearTimeout(timer);
    if (outcome === 'timeout') logger.warn({ graceMs }, 'grace period over: closing with work in flight');
    for (const step of [...this.closers].reverse()) await this.runStep(step);
    logger.info('stopped');
    this.resolveDone(0);
  }

  private async runStep(step: Step): Promise<void> {
    try {
      await step.run();
    } catch (error) {
      this.options.logger.error({ err: error, step: step.name }, 'shutdown step failed');
    }
  }
}
