/**
 * The shape of one `pkgstream` command: its words, its own flags and what it does with
 * the parsed configuration. `cli.ts` finds the command, parses, and runs it.
 */
import { PkgstreamError } from '../domain/errors.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';

export interface CommandOption {
  readonly type: 'string' | 'boolean';
  readonly help: string;
}

export interface CommandContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  /** Where command output (tables, events) goes; logs go to stderr. */
  readonly out: NodeJS.WritableStream;
  /** Aborts on SIGTERM/SIGINT: a command that runs for long drains and returns. */
  readonly signal: AbortSignal;
}

export interface Command {
  /** The words that name it, e.g. `['index', 'add']`. */
  readonly words: readonly string[];
  /** Its positional arguments, as shown in usage, e.g. `<simple-url>`. */
  readonly args: string;
  readonly summary: string;
  readonly options?: Readonly<Record<string, CommandOption>>;
  /** Least and most positional arguments. */
  readonly arity: readonly [number, number];
  /** Resolves with the exit code. */
  run(context: CommandContext): Promise<number>;
}

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends PkgstreamError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'UsageError';
  }
}
