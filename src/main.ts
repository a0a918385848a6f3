/**
 * The `pkgstream` command (loaded by cli.ts once the SIGTERM handler is in): finds the command named by the leading words, parses its flags
 * and the settings' flags, loads the configuration and runs it. Usage errors and bad
 * settings exit 2 with one line per problem.
 */
import { shutdownSignal } from './process-signals.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type Command, type CommandOption } from './commands/command.js';
import { attentionCommands } from './commands/attention-commands.js';
import { catalogCommands } from './commands/catalog-commands.js';
import { checkCommand } from './commands/check-command.js';
import { indexCommands } from './commands/index-commands.js';
import { onceCommand } from './commands/once-command.js';
import { migrateCommand } from './commands/migrate-command.js';
import { packageCommands } from './commands/package-commands.js';
import { runCommand } from './commands/run-command.js';
import { hasCode, errorMessage } from './domain/errors.js';
import { ConfigError, loadConfig } from './runtime/config.js';
import { createLogger, type Logger } from './runtime/logger.js';
import { redactText } from './runtime/redact.js';
import { packageVersion } from './runtime/version.js';
import { SETTINGS, flagOf, type SettingKey } from './runtime/settings.js';

const COMMANDS: readonly Command[] = [runCommand, onceCommand, checkCommand, migrateCommand, ...indexCommands, ...packageCommands, ...catalogCommands, ...attentionCommands];

function usageOf(command: Command): string {
  return `pkgstream ${command.words.join(' ')}${command.args ? ` ${command.args}` : ''}`;
}

function settingsHelp(): string {
  const rows = (Object.keys(SETTINGS) as SettingKey[]).map((key) => {
    const setting = SETTINGS[key];
    const shown = setting.default === undefined ? '(unset)' : JSON.stringify(setting.default);
    return `  ${flagOf(key).padEnd(24)} ${setting.env.padEnd(32)} default ${shown}\n      ${setting.help}`;
  });
  return `Settings (flag, environment variable, default):\n${rows.join('\n')}\n`;
}

function optionsHelp(options: Readonly<Record<string, CommandOption>> = {}): string {
  const rows = Object.entries(options).map(([name, option]) => `  --${name}${option.type === 'string' ? ' <value>' : ''}\n      ${option.help}`);
  return rows.length === 0 ? '' : `Options:\n${rows.join('\n')}\n`;
}

function generalHelp(): string {
  const commands = COMMANDS.map((command) => `  ${usageOf(command).padEnd(48)} ${command.summary}`).join('\n');
  return `pkgstream ${packageVersion()}: keeps a package knowledge base in sync with Python package indexes.\n\nUsage: pkgstream <command> [options]\n\nCommands:\n${commands}\n\n${settingsHelp()}`;
}

function findCommand(words: readonly string[]): Command | undefined {
  return COMMANDS.find((command) => command.words.every((word, i) => words[i] === word));
}

const SETTING_FLAGS = Object.fromEntries(
  (Object.keys(SETTINGS) as SettingKey[]).map((key) => [flagOf(key).slice(2), { type: 'string' as const }]),
);

function flagsOf(commands: readonly Command[]): ParseArgsConfig['options'] {
  const options: NonNullable<ParseArgsConfig['options']> = { ...SETTING_FLAGS };
  for (const command of commands) {
    for (const [name, option] of Object.entries(command.options ?? {})) options[name] = { type: option.type };
  }
  return options;
}

async function main(argv: readonly string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  // A first, lenient pass only to find the command's words among the flags and their values.
  const leading = parseArgs({ args: [...argv], options: flagsOf(COMMANDS), allowPositionals: true, strict: false }).positionals;
  if (argv.includes('--version')) {
    out.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = findCommand(leading);
  if (!command) {
    if (leading.length === 0 || argv.includes('--help') || argv.includes('-h')) {
      out.write(generalHelp());
      return leading.length === 0 && !argv.includes('--help') && !argv.includes('-h') ? 2 : 0;
    }
    process.stderr.write(`pkgstream: unknown command: ${leading.join(' ')}\nRun 'pkgstream --help' for the commands.\n`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    out.write(`Usage: ${usageOf(command)} [options]\n\n${command.summary}\n\n${optionsHelp(command.options)}${settingsHelp()}`);
    return 0;
  }

  const parseConfig: ParseArgsConfig = { args: [...argv], options: flagsOf([command]), allowPositionals: true, strict: true };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(parseConfig);
  } catch (error) {
    process.stderr.write(`pkgstream: ${(error as Error).message}\nUsage: ${usageOf(command)} [options]\n`);
    return 2;
  }
  const positionals = parsed.positionals.slice(command.words.length);
  const [least, most] = command.arity;
  if (positionals.length < least || positionals.length > most) {
    process.stderr.write(`pkgstream: ${command.words.join(' ')} takes ${least === most ? least : `${least} to ${most}`} argument(s)\nUsage: ${usageOf(command)} [options]\n`);
    return 2;
  }

  const flags: Partial<Record<SettingKey, string>> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const value = parsed.values[flagOf(key).slice(2)];
    if (typeof value === 'string') flags[key] = value;
  }
  let config;
  try {
    config = loadConfig(process.env, flags);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`pkgstream: invalid configuration\n${error.problems.map((line) => `  ${line}`).join('\n')}\n`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  try {
    // No option is declared `multiple`, so no value is an array.
    const options = parsed.values as Record<string, string | boolean | undefined>;
    return await command.run({ config, logger, positionals, options, out, signal: shutdownSignal });
  } catch (error) {
    return failed(command, error, logger);
  } finally {
    logger.flush();
  }
}

/** A command's failure as its exit code: 2 for what the user gave (one line), 1 for the rest (the reason, redacted). */
function failed(command: Command, error: unknown, logger: Logger): number {
  if (error instanceof UsageError) {
    process.stderr.write(`pkgstream: ${error.message}\nUsage: ${usageOf(command)} [options]\n`);
    return 2;
  }
  if (hasCode(error, 'DATA_DIR_LOCKED')) {
    // Another process holds the embedded data directory: one line naming it, no stack.
    process.stderr.write(`pkgstream: ${errorMessage(error)}\n`);
    return 2;
  }
  if (error instanceof ConfigError) {
    // Found only once running (e.g. the database refuses the role): one line per problem, exit 2.
    logger.error({ command: command.words.join(' '), problems: error.problems }, error.problems.join('; '));
    process.stderr.write(`pkgstream: invalid configuration\n${error.problems.map((line) => `  ${line}`).join('\n')}\n`);
    return 2;
  }
  // One line with the reason; the stack only at debug level (the logger's err serializer).
  logger.error({ err: error, command: command.words.join(' ') }, `${command.words.join(' ')} failed: ${errorMessage(error)}`);
  process.stderr.write(`pkgstream: ${command.words.join(' ')} failed: ${redactText(errorMessage(error))}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Open handles (a keep-alive socket, a timer in a client library) must not keep a finished command alive.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`pkgstream: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
