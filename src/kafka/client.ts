/**
 * The kafkajs client every Kafka adapter starts from, with kafkajs's logs going to pino.
 * kafkajs is imported only in this folder (no longer maintained): moving to another client
 * library replaces src/kafka and nothing else.
 */
import { Kafka, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import { PkgstreamError } from '../domain/errors.js';
import type { Logger } from '../runtime/logger.js';
import { registerCompressionCodecs } from './codecs.js';
import type { SASL_MECHANISMS } from './sasl-mechanisms.js';

export interface KafkaClientOptions {
  readonly brokers: string | readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  /** kafkajs retries of one request (default 5, ~10 s with the default back-off). */
  readonly retries?: number;
  /** TLS to the brokers: true for the system CAs, or PEM contents. */
  readonly ssl?: boolean | KafkaTls;
  readonly sasl?: KafkaSasl;
}

export interface KafkaTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}


export interface KafkaSasl {
  readonly mechanism: (typeof SASL_MECHANISMS)[number];
  readonly username: string;
  readonly password: string;
}

/**
 * kafkajs's SASL failure as one line naming the brokers, the mechanism and the user (never
 * the password); any other error as it is.
 */
export function describeConnectError(error: unknown, options: KafkaClientOptions): unknown {
  const name = (error as { name?: unknown } | null)?.name;
  if (name !== 'KafkaJSSASLAuthenticationError' || !options.sasl) return error;
  const { mechanism, username } = options.sasl;
  return new PkgstreamError('KAFKA_AUTH_FAILED', `Kafka broker ${brokerList(options.brokers).join(',')}: SASL ${mechanism.toUpperCase()} authentication failed for user ${username}`);
}


export function brokerList(brokers: string | readonly string[]): string[] {
  const list = typeof brokers === 'string' ? brokers.split(',') : [...brokers];
  return list.map((b) => b.trim()).filter((b) => b !== '');
}

/** kafkajs's level from the logger's, so that kafkajs does not build messages pino drops. */
function kafkaLogLevel(logger: Logger): logLevel {
  switch (logger.level) {
    case 'silent':
      return logLevel.NOTHING;
    case 'fatal':
    case 'error':
      return logLevel.ERROR;
    case 'warn':
      return logLevel.WARN;
    case 'info':
      return logLevel.INFO;
    default:
      return logLevel.DEBUG;
  }
}

export function createKafkaClient(options: KafkaClientOptions): Kafka {
  registerCompressionCodecs();
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: brokerList(options.brokers),
    logLevel: kafkaLogLevel(options.logger),
    retry: { retries: options.retries ?? 5 },
    ...(options.ssl ? { ssl: options.ssl === true ? true : { ...options.ssl } } : {}),
    ...(options.sasl ? { sasl: { ...options.sasl } as SASLOptions } : {}),
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const fields = { namespace, ...rest };
        if (level === logLevel.ERROR) log.error(fields, message);
        else if (level === logLevel.WARN) log.warn(fields, message);
        else if (level === logLevel.INFO) log.info(fields, message);
        else log.debug(fields, message);
      },
  });
}
