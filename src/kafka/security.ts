/**
 * TLS and SASL to the Kafka brokers from the KAFKA_SSL* and KAFKA_SASL* settings. Key and
 * password come from files only, so that they are never in argv, the environment or a log.
 */
import { readFileSync } from 'node:fs';
import type { KafkaClientOptions } from './client.js';
import type { SASL_MECHANISMS } from './sasl-mechanisms.js';

export interface KafkaSecuritySettings {
  readonly kafkaSsl: boolean;
  readonly kafkaSslCaFile?: string | undefined;
  readonly kafkaSslCertFile?: string | undefined;
  readonly kafkaSslKeyFile?: string | undefined;
  readonly kafkaSaslMechanism?: (typeof SASL_MECHANISMS)[number] | undefined;
  readonly kafkaSaslUsername?: string | undefined;
  readonly kafkaSaslPasswordFile?: string | undefined;
}

export type KafkaSecurity = Pick<KafkaClientOptions, 'ssl' | 'sasl'>;

/** The client options, or one problem line per setting that is wrong (naming it, never a secret). */
export function readKafkaSecurity(settings: KafkaSecuritySettings): { security: KafkaSecurity; problems: string[] } {
  const problems: string[] = [];
  const read = (env: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${env}=${JSON.stringify(path)}: cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return undefined;
    }
  };
  const ca = read('KAFKA_SSL_CA_FILE', settings.kafkaSslCaFile);
  const cert = read('KAFKA_SSL_CERT_FILE', settings.kafkaSslCertFile);
  const key = read('KAFKA_SSL_KEY_FILE', settings.kafkaSslKeyFile);
  const tlsFiles = [settings.kafkaSslCaFile, settings.kafkaSslCertFile, settings.kafkaSslKeyFile].some((file) => file !== undefined);
  if (tlsFiles && !settings.kafkaSsl) problems.push('KAFKA_SSL=off: KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE need KAFKA_SSL=on');
  if ((settings.kafkaSslCertFile === undefined) !== (settings.kafkaSslKeyFile === undefined)) {
    problems.push(`${settings.kafkaSslCertFile === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE'}: must be set with ${settings.kafkaSslCertFile === undefined ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE'}`);
  }
  const mechanism = settings.kafkaSaslMechanism;
  let password: string | undefined;
  if (mechanism === undefined) {
    if (settings.kafkaSaslUsername !== undefined || settings.kafkaSaslPasswordFile !== undefined) problems.push('KAFKA_SASL_MECHANISM: must be set with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE');
  } else {
    if (settings.kafkaSaslUsername === undefined) problems.push(`KAFKA_SASL_USERNAME: must be set with KAFKA_SASL_MECHANISM=${mechanism}`);
    if (settings.kafkaSaslPasswordFile === undefined) problems.push(`KAFKA_SASL_PASSWORD_FILE: must be set with KAFKA_SASL_MECHANISM=${mechanism}`);
    // One trailing newline is how files are written (echo, Kubernetes secrets edited by hand), not part of the password.
    password = read('KAFKA_SASL_PASSWORD_FILE', settings.kafkaSaslPasswordFile)?.replace(/\r?\n$/, '');
    if (password === '') problems.push(`KAFKA_SASL_PASSWORD_FILE=${JSON.stringify(settings.kafkaSaslPasswordFile)}: is empty`);
  }
  const tls = { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  const security: KafkaSecurity = {
    ...(settings.kafkaSsl ? { ssl: Object.keys(tls).length > 0 ? tls : true } : {}),
    ...(mechanism && settings.kafkaSaslUsername && password ? { sasl: { mechanism, username: settings.kafkaSaslUsername, password } } : {}),
  };
  return { security, problems };
}
