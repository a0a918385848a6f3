/**
 * Kafka over SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and TLS, as a user sets it up: the
 * built CLI with the KAFKA_SSL* and KAFKA_SASL* settings and the password in a file, against
 * the local broker; kcat with the same credentials reads the events back. A wrong password
 * is one line without the password, `pkgstream_dependency_up{dependency="kafka"} 0`, and the
 * service keeps running.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addProject, setIndexEnabled } from '../../src/db/index.js';
import { until } from '../faults/helpers.js';
import { CLI_TEST_TIMEOUT_MS, runCli, startCli, waitForLog } from '../support/cli.js';
import { createCliDatabase, type CliDatabase } from '../support/cli-database.js';
import { startIndexServer, type IndexServer } from '../support/index-server/index.js';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.js';
import { kcat } from '../support/kcat.js';
import { runsWith } from '../support/tools.js';

const PASSWORD = 'pkgstream-broker-secret-7';
const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
const dir = mkdtempSync(join(tmpdir(), 'pkgstream-kafka-security-'));
const passwordFile = join(dir, 'password');
const wrongPasswordFile = join(dir, 'wrong-password');

let index: IndexServer;
let plain: KafkaTestBroker;
let tls: KafkaTestBroker;
let database: CliDatabase;
let children: ChildProcess[] = [];

beforeAll(async () => {
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  writeFileSync(wrongPasswordFile, 'not-the-password\n');
  // Before any peer listens: openssl may block this process's event loop.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const saslUsers = { alice: PASSWORD };
  [index, plain, tls] = await Promise.all([
    startIndexServer(),
    startKafkaBroker({ saslUsers }),
    startKafkaBroker({ saslUsers, tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } }),
  ]);
  database = await createCliDatabase();
  expect((await runCli(['index', 'add', `${index.url}/simple`, '--warehouse'], database.env)).code).toBe(0);
  await database.use(async (pool) => {
    await setIndexEnabled(pool, 'https://pypi.org/simple', false);
    await addProject(pool, { project: 'alpha', indexUrl: `${index.url}/simple` });
  });
}, 120_000);
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children = [];
});
afterAll(async () => {
  await Promise.all([index?.stop(), plain?.stop(), tls?.stop()]);
  await database?.close();
});

function kafkaEnv(broker: KafkaTestBroker, mechanism: string, file: string, withTls: boolean): NodeJS.ProcessEnv {
  return {
    ...database.env,
    KAFKA_BROKERS: broker.brokers,
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: 'alice',
    KAFKA_SASL_PASSWORD_FILE: file,
    PKGSTREAM_TOPIC_PREFIX: `sec-${mechanism}${withTls ? '-tls' : ''}`,
    ...(withTls ? { KAFKA_SSL: 'on', KAFKA_SSL_CA_FILE: join(dir, 'cert.pem') } : {}),
  };
}

function kcatArgs(broker: KafkaTestBroker, mechanism: string, withTls: boolean): string[] {
  return [
    '-b', broker.brokers, '-X', `security.protocol=${withTls ? 'SASL_SSL' : 'SASL_PLAINTEXT'}`, '-X', `sasl.mechanisms=${mechanism.toUpperCase()}`,
    '-X', 'sasl.username=alice', '-X', `sasl.password=${PASSWORD}`, ...(withTls ? ['-X', `ssl.ca.location=${join(dir, 'cert.pem')}`] : []),
  ];
}

describe.skipIf(!runsWith('kcat'))('Kafka with SASL and TLS', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const cases = [...MECHANISMS.map((mechanism) => ({ mechanism, withTls: false })), { mechanism: 'scram-sha-512' as const, withTls: true }];
  it.each(cases)('check with SASL $mechanism (TLS $withTls): kcat with the same credentials reads the event', async ({ mechanism, withTls }) => {
    const broker = withTls ? tls : plain;
    const version = `${String(MECHANISMS.indexOf(mechanism) + 1)}.${withTls ? '1' : '0'}`;
    index.addRelease('alpha', version);
    const env = kafkaEnv(broker, mechanism, passwordFile, withTls);
    const checked = await runCli(['check', 'alpha', version, '--index', `${index.url}/simple`], env);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout + checked.stderr).not.toContain(PASSWORD);
    const read = await kcat([...kcatArgs(broker, mechanism, withTls), '-C', '-t', `${String(env.PKGSTREAM_TOPIC_PREFIX)}.package-released`, '-o', 'beginning', '-e', '-q', '-f', '%k\n']);
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout.split('\n')).toContain(`${index.url}/simple|alpha|${version}`);
  });

  it('a wrong password: one line without it, dependency_up{kafka} 0, the service keeps running', async () => {
    const env = { ...kafkaEnv(plain, 'scram-sha-256', wrongPasswordFile, false), PKGSTREAM_HTTP_PORT: '0', PKGSTREAM_PIPELINES: 'releases', PKGSTREAM_POLL_INTERVAL: '0.5', LOG_LEVEL: 'info' };
    const child = startCli(['run'], env);
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const listening = await waitForLog(child, (line) => line.msg === 'http server listening', 60_000);
    const kafkaUp = async () => /^pkgstream_dependency_up\{dependency="kafka"\} (\d)/m.exec(await (await fetch(`http://127.0.0.1:${String(listening.port)}/metrics`)).text())?.[1];
    await until('kafka reported down', async () => (await kafkaUp()) === '0', 60_000);
    await until('the failure logged', () => /authentication failed for user alice/.test(output), 60_000);
    expect(child.exitCode).toBeNull();
    expect(output).not.toContain('not-the-password');
    expect(output).not.toContain(PASSWORD);
    const failure = output.split('\n').find((line) => line.includes('authentication failed'));
    expect(failure).not.toMatch(/"stack"|\\n\s+at /);
  });
});
