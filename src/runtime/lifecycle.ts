/**
 * Start, drain and stop. On the shutdown signal (SIGTERM/SIGINT): readiness turns 503,
 * the registered drains run (sources stop taking work, in-flight work finishes) within the
 * grace period, then the closers run (pipelines cancelled, producer flush, connections).
 * The whole stop never takes longer than grace + `closeBudgetMs`: what is still in flight
 * then is abandoned (effects are idempotent, it is retried on the next start), and the
 * process exits 0. An uncaught error is logged and exits 1.
 */
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';

type Step = { readonly name: string; readonly run: () => Promise<void> };

/** What the closers may take after the drain, so that exit comes within grace + 5 s (the CLI exits ≤ 2 s after). */
const CLOSE_BUDGET_MS = 3_000;

export class Lifecycle {
  private readonly drains: Step[] = [];
  private readonly closers: Step[] = [];
  private stopPromise: Promise<void> | null = null;
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code once the service has stopped. */
  readonly done: Promise<number> = new Promise((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly options: { logger: Logger; readiness: Readiness; graceMs: number; closeBudgetMs?: number },
  ) {}

  /** True from the moment the stop began: start-up must not start anything more. */
  get stopping(): boolean {
    return this.stopPromise !== null;
  }

  /** Work to let finish on shutdown (bounded by the grace period), run in parallel. */
  onDrain(name: string, run: () => Promise<void>): void {
    this.drains.push({ name, run });
  }

  /** Resources to close after the drain, run in reverse order of registration. */
  onClose(name: string, run: () => Promise<void>): void {
    this.closers.push({ name, run });
  }

  /** Stops when `shutdown` aborts (at once if it already has); an uncaught error resolves 1. */
  watch(shutdown: AbortSignal, processRef: NodeJS.Process = process): void {
    const onAbort = () => void this.stop(`signal ${String(shutdown.reason)}`);
    if (shutdown.aborted) onAbort();
    else shutdown.addEventListener('abort', onAbort, { once: true });
    processRef.on('uncaughtException', (error) => this.crash(error));
    processRef.on('unhandledRejection', (reason) => this.crash(reason));
  }

  stop(reason: string): Promise<void> {
    this.stopPromise ??= this.runStop(reason);
    return this.stopPromise;
  }

  private crash(error: unknown): void {
    this.options.logger.fatal({ err: error }, 'uncaught error');
    this.resolveDone(1);
  }

  private async runStop(reason: string): Promise<void> {
    const { logger, readiness, graceMs } = this.options;
    logger.info({ reason, graceMs }, 'shutting down');
    readiness.beginShutdown();
    const drained = Promise.allSettled(this.drains.map((step) => this.runStep(step)));
    if ((await within(drained, graceMs)) === 'timeout') {
      logger.warn({ graceMs }, 'grace period over: cancelling the work in flight (it is retried on the next start)');
    }
    const closeBudgetMs = this.options.closeBudgetMs ?? CLOSE_BUDGET_MS;
    const closed = (async () => {
      for (const step of [...this.closers].reverse()) await this.runStep(step);
    })();
    if ((await within(closed, closeBudgetMs)) === 'timeout') {
      logger.warn({ closeBudgetMs }, 'closing took too long: exiting with connections open');
    }
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

/** Resolves 'done' when `work` settles, or 'timeout' after `ms`, whichever comes first. */
async function within(work: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([work.then(() => 'done' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
