import { pino, stdSerializers, type Logger, type LevelWithSilent } from 'pino';
import { redactText } from './redact.js';

export type { Logger };

type SerializedError = ReturnType<typeof stdSerializers.err>;

/**
 * An error as a log field: its type, code and message (credentials redacted); its stack
 * only when the logger shows debug lines, so that an expected failure is one line at info.
 */
function errorSerializer(withStack: boolean): (error: unknown) => unknown {
  return (error) => {
    if (!(error instanceof Error)) return typeof error === 'string' ? redactText(error) : error;
    const serialized: Partial<SerializedError> = stdSerializers.err(error);
    serialized.message = redactText(serialized.message ?? '');
    if (withStack && serialized.stack) serialized.stack = redactText(serialized.stack);
    else delete serialized.stack;
    return serialized;
  };
}

/** Top-level string fields (a URL, a reason) with their credentials redacted. */
function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = typeof value === 'string' ? redactText(value) : value;
  return out;
}

/** JSON logs on stderr: stdout is kept for data (events as JSON lines, command output). */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'pkgstream' },
      serializers: { err: errorSerializer(level === 'debug' || level === 'trace') },
      formatters: { log: redactFields },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
