/**
 * Every setting with a value of the wrong type or out of range, through loadConfig: one
 * problem line naming the variable (or flag), the value and what is allowed; the good
 * settings given with it are not reported; all problems at once give one line each.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/runtime/config.js';
import { SETTINGS, flagOf, type SettingKey } from '../../src/runtime/settings.js';

interface ConfigCase {
  readonly key: SettingKey;
  readonly value: string;
  readonly reason: RegExp;
  /** Given as the CLI flag (an empty value can only be a flag: an empty variable means unset). */
  readonly asFlag?: boolean;
}

const whole = (min: number, max: number) => new RegExp(`must be a whole number from ${min} to ${max}`);
const positive = (max: number) => new RegExp(`must be a positive number up to ${max}`);

export const CONFIG_CASES: readonly ConfigCase[] = [
  { key: 'databaseUrl', value: 'mysql://root@db/pkg', reason: /must be a URL \(postgres: or postgresql:\)/ },
  { key: 'databaseUrl', value: 'not a url', reason: /must be a URL/ },
  { key: 'dataDir', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'kafkaBrokers', value: 'localhost', reason: /each broker must be host:port/ },
  { key: 'kafkaBrokers', value: 'kafka:ninety', reason: /each broker must be host:port/ },
  { key: 'kafkaBrokers', value: ' , ', reason: /must name at least one broker/ },
  { key: 'topicPrefix', value: 'bad prefix!', reason: /must be letters, digits/ },
  { key: 'topicPrefix', value: 'p'.repeat(201), reason: /must be letters, digits/ },
  { key: 'kafkaSsl', value: 'tls', reason: /must be one of 1, 0, true, false, yes, no, on, off/ },
  { key: 'kafkaSslCaFile', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'kafkaSslCertFile', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'kafkaSslKeyFile', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'kafkaSaslMechanism', value: 'gssapi', reason: /must be one of plain, scram-sha-256, scram-sha-512/ },
  { key: 'kafkaSaslMechanism', value: 'PLAIN', reason: /must be one of plain, scram-sha-256, scram-sha-512/ },
  { key: 'kafkaSaslUsername', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'kafkaSaslPasswordFile', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'kafkaGroupId', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'kubeconfig', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'namespace', value: 'Upper_Case', reason: /must be a DNS-1123 label/ },
  { key: 'namespace', value: 'n'.repeat(64), reason: /must be a DNS-1123 label/ },
  { key: 'jobTemplate', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'reverseJobTemplate', value: '', reason: /must not be empty/, asFlag: true },
  { key: 'solvers', value: 'solver-a,Bad_Solver', reason: /each solver must be a DNS-1123 label/ },
  { key: 'solvers', value: ',', reason: /must name at least one solver/ },
  { key: 'solverCapacity', value: '0', reason: /must be at least 1/ },
  { key: 'solverCapacity', value: '100001', reason: /must be at most 100000/ },
  { key: 'solverCapacity', value: 'ten', reason: whole(1, 100_000) },
  { key: 'solverCapacity', value: '2.5', reason: whole(1, 100_000) },
  { key: 'httpPort', value: '65536', reason: /must be at most 65535/ },
  { key: 'httpPort', value: '-1', reason: whole(0, 65_535) },
  { key: 'httpPort', value: 'http', reason: whole(0, 65_535) },
  { key: 'pollInterval', value: '0', reason: /must be greater than 0/ },
  { key: 'pollInterval', value: '86401', reason: /must be at most 86400/ },
  { key: 'pollInterval', value: '1e3', reason: positive(86_400) },
  { key: 'pollInterval', value: '-5', reason: positive(86_400) },
  { key: 'syncInterval', value: '0', reason: /must be greater than 0/ },
  { key: 'verifyShare', value: '0', reason: /must be greater than 0/ },
  { key: 'verifyShare', value: '1.5', reason: /must be at most 1/ },
  { key: 'verifyShare', value: 'half', reason: positive(1) },
  { key: 'syncInterval', value: '604801', reason: /must be at most 604800/ },
  { key: 'rateLimit', value: '0', reason: /must be greater than 0/ },
  { key: 'rateLimit', value: '10001', reason: /must be at most 10000/ },
  { key: 'rateLimit', value: 'fast', reason: positive(10_000) },
  { key: 'rateBurst', value: '0', reason: /must be at least 1/ },
  { key: 'rateBurst', value: '10001', reason: /must be at most 10000/ },
  { key: 'rateBurst', value: '2.5', reason: whole(1, 10_000) },
  { key: 'concurrency', value: '0', reason: /must be at least 1/ },
  { key: 'concurrency', value: '1001', reason: /must be at most 1000/ },
  { key: 'concurrency', value: 'many', reason: whole(1, 1_000) },
  { key: 'scanPageSize', value: '0', reason: /must be at least 1/ },
  { key: 'scanPageSize', value: '100001', reason: /must be at most 100000/ },
  { key: 'scanPageSize', value: "500; DROP TABLE package_version", reason: whole(1, 100_000) },
  { key: 'recheckInterval', value: '0', reason: /must be greater than 0/ },
  { key: 'recheckInterval', value: '31536001', reason: /must be at most 31536000/ },
  { key: 'recheckInterval', value: 'daily', reason: positive(31_536_000) },
  { key: 'dryRun', value: 'maybe', reason: /must be one of 1, 0, true, false, yes, no, on, off/ },
  { key: 'dryRun', value: '2', reason: /must be one of 1, 0, true, false/ },
  { key: 'pipelines', value: 'releases,bogus', reason: /each must be one of releases, update, dispatch/ },
  { key: 'pipelines', value: '<script>', reason: /each must be one of releases, update, dispatch/ },
  { key: 'leaseTtl', value: '0', reason: /must be greater than 0/ },
  { key: 'leaseTtl', value: '3601', reason: /must be at most 3600/ },
  { key: 'shutdownGrace', value: '0', reason: /must be greater than 0/ },
  { key: 'shutdownGrace', value: '3601', reason: /must be at most 3600/ },
  { key: 'shutdownGrace', value: 'forever', reason: positive(3_600) },
  { key: 'maxBackoff', value: '0', reason: /must be greater than 0/ },
  { key: 'maxBackoff', value: '86401', reason: /must be at most 86400/ },
  { key: 'eventRetention', value: '0', reason: /must be greater than 0/ },
  { key: 'eventRetention', value: '36501', reason: /must be at most 36500/ },
  { key: 'requestTimeout', value: '3601', reason: /must be at most 3600/ },
  { key: 'requestTimeout', value: 'slow', reason: positive(3_600) },
  { key: 'redirectOrigins', value: 'ftp://mirror.example', reason: /must be a URL/ },
  { key: 'progressInterval', value: '0', reason: /must be greater than 0/ },
  { key: 'adminToken', value: 'short', reason: /must be at least 16 characters/ },
  { key: 'apiAuth', value: 'none', reason: /must be writes or all/ },
  { key: 'grafanaUrl', value: 'grafana.local/d/x', reason: /must be a URL/ },
  { key: 'logLevel', value: 'loud', reason: /must be one of fatal, error, warn, info, debug, trace, silent/ },
  { key: 'logLevel', value: 'INFO', reason: /must be one of fatal, error/ },
];

/** Good values given alongside the bad one: they must load and not be reported. */
const GOOD_ENV = { PKGSTREAM_CONCURRENCY: '4', PKGSTREAM_POLL_INTERVAL: '30', LOG_LEVEL: 'debug', PKGSTREAM_SOLVERS: 'solver-a,solver-b' };

function problemsOf(env: NodeJS.ProcessEnv, flags: Partial<Record<SettingKey, string>> = {}): readonly string[] {
  try {
    loadConfig(env, flags);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config: every setting with a wrong type or range', () => {
  it.each(CONFIG_CASES)('$key = $value', (c) => {
    const { env } = SETTINGS[c.key];
    const good = Object.fromEntries(Object.entries(GOOD_ENV).filter(([name]) => name !== env));
    const problems = c.asFlag ? problemsOf(good, { [c.key]: c.value }) : problemsOf({ ...good, [env]: c.value });
    expect(problems).toHaveLength(1);
    const source = c.asFlag ? `${flagOf(c.key)} (${env})` : env;
    const shown = 'secret' in SETTINGS[c.key] ? '(hidden)' : JSON.stringify(c.value);
    expect(problems[0]?.startsWith(`${source}=${shown}: `), problems[0]).toBe(true);
    expect(problems[0]).toMatch(c.reason);
    // The same good settings alone load.
    expect(() => loadConfig(good)).not.toThrow();
  });

  it('names a wrong credential without echoing it', () => {
    const problems = problemsOf({ PKGSTREAM_ADMIN_TOKEN: 'hunter2-short' });
    expect(problems).toEqual(['PKGSTREAM_ADMIN_TOKEN=(hidden): must be at least 16 characters']);
  });

  it('a flag wins over a good variable and is named as the flag', () => {
    const problems = problemsOf({ PKGSTREAM_HTTP_PORT: '8080' }, { httpPort: '99999' });
    expect(problems).toEqual(['--http-port (PKGSTREAM_HTTP_PORT)="99999": must be at most 65535']);
  });

  it('every setting covered, and all bad at once give one line per setting', () => {
    const keys = new Set(CONFIG_CASES.map((c) => c.key));
    // releaseTriggers takes any comma list: it has no wrong value to test.
    expect([...Object.keys(SETTINGS)].filter((key) => !keys.has(key as SettingKey))).toEqual(['releaseTriggers']);
    const firstOfEach = [...keys].map((key) => CONFIG_CASES.find((c) => c.key === key)!);
    const env = Object.fromEntries(firstOfEach.filter((c) => !c.asFlag).map((c) => [SETTINGS[c.key].env, c.value]));
    const flags = Object.fromEntries(firstOfEach.filter((c) => c.asFlag).map((c) => [c.key, c.value]));
    const problems = problemsOf(env, flags);
    expect(problems).toHaveLength(keys.size);
    // By the exact name: KAFKA_SSL is a prefix of KAFKA_SSL_CA_FILE.
    const names = (env: string) => (line: string) => line.startsWith(`${env}=`) || line.includes(`(${env})=`);
    for (const c of firstOfEach) expect(problems.filter(names(SETTINGS[c.key].env))).toHaveLength(1);
  });
});

describe('config: Kafka TLS and SASL settings that do not go together', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pkgstream-kafka-config-'));
  const secret = join(dir, 'password');
  writeFileSync(secret, 'hunter2-secret\n');
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');
  const missing = join(dir, 'missing.pem');
  const sasl = { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD_FILE: secret };

  it.each([
    { name: 'SASL without a user name', env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD_FILE: secret }, line: 'KAFKA_SASL_USERNAME: must be set with KAFKA_SASL_MECHANISM=plain' },
    { name: 'SASL without a password file', env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'alice' }, line: 'KAFKA_SASL_PASSWORD_FILE: must be set with KAFKA_SASL_MECHANISM=plain' },
    { name: 'a password file that is missing', env: { ...sasl, KAFKA_SASL_PASSWORD_FILE: missing }, line: `KAFKA_SASL_PASSWORD_FILE=${JSON.stringify(missing)}: cannot be read: ENOENT` },
    { name: 'a password file that is empty', env: { ...sasl, KAFKA_SASL_PASSWORD_FILE: empty }, line: `KAFKA_SASL_PASSWORD_FILE=${JSON.stringify(empty)}: is empty` },
    { name: 'a user name without a mechanism', env: { KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD_FILE: secret }, line: 'KAFKA_SASL_MECHANISM: must be set with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE' },
    { name: 'a CA file that is missing', env: { KAFKA_SSL: 'on', KAFKA_SSL_CA_FILE: missing }, line: `KAFKA_SSL_CA_FILE=${JSON.stringify(missing)}: cannot be read: ENOENT` },
    { name: 'a client certificate without its key', env: { KAFKA_SSL: 'on', KAFKA_SSL_CERT_FILE: secret }, line: 'KAFKA_SSL_KEY_FILE: must be set with KAFKA_SSL_CERT_FILE' },
    { name: 'TLS files with KAFKA_SSL off', env: { KAFKA_SSL_CA_FILE: secret }, line: 'KAFKA_SSL=off: KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE need KAFKA_SSL=on' },
  ])('$name: one line naming the setting, never the password', ({ env, line }) => {
    const problems = problemsOf({ KAFKA_BROKERS: 'kafka:9093', ...env });
    expect(problems).toEqual([line]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('good TLS and SASL settings load', () => {
    expect(() => loadConfig({ KAFKA_BROKERS: 'kafka:9093', KAFKA_SSL: 'on', KAFKA_SSL_CA_FILE: secret, ...sasl })).not.toThrow();
  });
});
