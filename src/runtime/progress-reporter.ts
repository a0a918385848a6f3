/**
 * How a long pass shows its progress: one log line per report (rows due at the start, done,
 * rate, ETA) and, when the stream (stderr) is a terminal, a bar redrawn in place.
 */
import type { Logger } from './logger.js';

export interface PassProgress {
  readonly pipeline: string;
  /** Rows due when the pass started; null when they could not be counted. */
  readonly due: number | null;
  readonly done: number;
  readonly elapsedSeconds: number;
  /** Rows per second since the start of the pass. */
  readonly ratePerSecond: number;
  /** Seconds left at that rate; null when unknown (nothing done yet, or no due count). */
  readonly etaSeconds: number | null;
  /** The pass is over: the last report. */
  readonly final: boolean;
}

/** Rate and ETA from the pass's counts. */
export function progressOf(pipeline: string, due: number | null, done: number, elapsedSeconds: number, final = false): PassProgress {
  const ratePerSecond = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const left = due === null ? null : Math.max(0, due - done);
  const etaSeconds = left === null ? null : left === 0 ? 0 : ratePerSecond > 0 ? left / ratePerSecond : null;
  return { pipeline, due, done, elapsedSeconds, ratePerSecond, etaSeconds, final };
}

interface Terminal {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

const duration = (seconds: number): string => {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};

/** `update [#####.....]  50.0%  1000/2000 rows  12.3 rows/s  ETA 1m 21s` */
export function progressBar(progress: PassProgress, width = 30): string {
  const { pipeline, due, done, ratePerSecond, etaSeconds } = progress;
  const fraction = due ? Math.min(1, done / due) : progress.final ? 1 : 0;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const eta = etaSeconds === null ? 'ETA ?' : `ETA ${duration(etaSeconds)}`;
  return `${pipeline} ${bar} ${(fraction * 100).toFixed(1).padStart(5)}%  ${done}/${due ?? '?'} rows  ${ratePerSecond.toFixed(1)} rows/s  ${eta}`;
}

export function createProgressReporter(options: { readonly logger: Logger; readonly terminal?: Terminal }): (progress: PassProgress) => void {
  const { logger, terminal } = options;
  return (progress) => {
    if (!progress.final) {
      const { pipeline, due, done, ratePerSecond, etaSeconds } = progress;
      logger.info({ pipeline, due, done, ratePerSecond: Number(ratePerSecond.toFixed(2)), etaSeconds: etaSeconds === null ? null : Math.round(etaSeconds) }, `${pipeline} pass progress`);
    }
    if (terminal?.isTTY) terminal.write(`\r${progressBar(progress)}${progress.final ? '\n' : ''}`);
  };
}
