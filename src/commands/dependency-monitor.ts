/**
 * Keeps readiness and `pkgstream_dependency_up` true to what `run` depends on. The
 * database, Kafka and Kubernetes (each only when configured) are checked at once and every
 * `CHECK_EVERY_MS`, each check bounded by `CHECK_TIMEOUT_MS`. An index host is judged by
 * the requests the pipelines make to it (a connection failure, timeout or 5xx is down; any
 * other answer is up), and by one TCP connect at start so that it is known before the
 * first poll. Every change of state is logged once, in one line.
 */
import { readKafkaSecurity } from '../kafka/security.js';
import { connect } from 'node:net';
import { probeDatabase } from '../db/probe.js';
import { hasCode, PkgstreamError } from '../domain/errors.js';
import { indexHost } from '../domain/index-host.js';
import type { IndexClient } from '../domain/ports.js';
import type { PackageIndex } from '../domain/types.js';
import { createKafkaProbe } from '../kafka/probe.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/logger.js';
import type { Readiness } from '../runtime/readiness.js';
import { createKubeProbe } from '../sinks/kube-probe.js';
import type { IndexErrorCode } from '../sources/index-client/errors.js';
import { describeDatabase } from './database-start.js';
import { loadKubeConfig } from './kube-config.js';

const CHECK_EVERY_MS = 10_000;
const CHECK_TIMEOUT_MS = 5_000;
/** Index client error codes that say the host is not serving (any other error is an answer). */
const INDEX_DOWN_CODES: readonly IndexErrorCode[] = ['INDEX_CONNECTION', 'INDEX_TIMEOUT', 'INDEX_HTTP_5XX'];

interface Check {
  readonly name: string;
  readonly run: () => Promise<void>;
  readonly close?: () => Promise<void>;
}

export interface DependencyMonitor {
  /** The index client whose outcomes update `index:<host>`. */
  watchIndex(client: IndexClient): IndexClient;
  /** Runs every check once (resolves when they are all known), then keeps checking. */
  start(indexes: readonly PackageIndex[]): Promise<void>;
  close(): Promise<void>;
}

/** The first line of an error's message, short enough for a log field and the readiness body. */
export function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message || (typeof code === 'string' ? code : error.name) : String(error);
  const line = message.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function withTimeout(work: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new PkgstreamError('DEPENDENCY_TIMEOUT', `${what}: no answer in ${ms} ms`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function indexDependency(index: Pick<PackageIndex, 'simpleUrl'>): string {
  return `index:${indexHost(index)}`;
}

function tcpConnect(simpleUrl: string): Promise<void> {
  const url = new URL(simpleUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}

function isIndex(value: unknown): value is PackageIndex {
  return typeof value === 'object' && value !== null && typeof (value as PackageIndex).simpleUrl === 'string';
}

type Report = (name: string, up: boolean, detail?: string) => void;

/** Sets a dependency's state, logging each change (up once, down once with its reason). */
function reporter(readiness: Readiness, logger: Logger): Report {
  return (name, up, detail) => {
    const before = readiness.dependencyState(name)?.state;
    readiness.setDependency(name, up, detail);
    if (up && before !== 'up') logger.info({ dependency: name }, `dependency ${name} up`);
    if (!up && before !== 'down') logger.warn({ dependency: name, reason: detail }, `dependency ${name} down: ${detail ?? 'no answer'}`);
  };
}

/** The configured dependencies' checks: the database server, Kafka, Kubernetes. */
function dependencyChecks(config: Config, logger: Logger): Check[] {
  const checks: Check[] = [];
  if (config.databaseUrl) {
    const databaseUrl = config.databaseUrl;
    // Named in every message (host, port, name, user; never the password), as at start.
    const database = describeDatabase(config);
    checks.push({
      name: 'database',
      run: () =>
        probeDatabase(databaseUrl, CHECK_TIMEOUT_MS).catch((error: unknown) => {
          throw new PkgstreamError('DB_UNAVAILABLE', `${database}: ${reasonOf(error)}`, { cause: error });
        }),
    });
  }
  if (config.kafkaBrokers) {
    const probe = createKafkaProbe({ ...readKafkaSecurity(config).security, brokers: config.kafkaBrokers, clientId: 'pkgstream-probe', logger: logger.child({}, { level: 'silent' }) });
    checks.push({ name: 'kafka', run: () => probe.check(), close: () => probe.close() });
  }
  const kubeConfig = loadKubeConfig(config, logger.child({}, { level: 'silent' }));
  if (kubeConfig) {
    const probe = createKubeProbe(kubeConfig, config.namespace);
    checks.push({ name: 'kubernetes', run: () => probe.check() });
  }
  return checks;
}

/** The client, each of its requests to an index also telling whether that host is up. */
function observedIndexClient(client: IndexClient, report: Report): IndexClient {
  const observe = (index: PackageIndex, result: Promise<unknown>) =>
    result.then(
      (value) => {
        report(indexDependency(index), true);
        return value;
      },
      (error: unknown) => {
        report(indexDependency(index), !hasCode(error, ...INDEX_DOWN_CODES), reasonOf(error));
        throw error;
      },
    );
  // Every method that takes an index first is observed, whatever methods the client grows.
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        return isIndex(args[0]) && result instanceof Promise ? observe(args[0], result) : result;
      };
    },
  });
}

/** Each index host's first state, from a TCP connect, unless a real request's outcome came meanwhile. */
function firstIndexStates(indexes: readonly PackageIndex[], readiness: Readiness, report: Report): Promise<unknown>[] {
  const hosts = new Map(indexes.map((index) => [indexDependency(index), index.simpleUrl]));
  for (const name of hosts.keys()) readiness.declareDependency(name, { required: false, detail: 'not checked yet' });
  const unknown = (name: string) => readiness.dependencyState(name)?.state === 'unknown';
  return [...hosts].map(([name, simpleUrl]) =>
    withTimeout(tcpConnect(simpleUrl), CHECK_TIMEOUT_MS, name).then(
      () => unknown(name) && report(name, true, 'TCP connect at start'),
      (error: unknown) => unknown(name) && report(name, false, reasonOf(error)),
    ),
  );
}

export function monitorDependencies(options: { config: Config; readiness: Readiness; logger: Logger }): DependencyMonitor {
  const { config, readiness } = options;
  const logger = options.logger.child({ component: 'dependencies' });
  const report = reporter(readiness, logger);
  const checks = dependencyChecks(config, logger);
  readiness.declareDependency('database', { required: true, detail: config.databaseUrl ? 'not checked yet' : 'embedded PGlite, in this process' });
  for (const check of checks) readiness.declareDependency(check.name, { required: true, detail: 'not checked yet' });

  const runCheck = async (check: Check) => {
    try {
      await withTimeout(check.run(), CHECK_TIMEOUT_MS, check.name);
      report(check.name, true);
    } catch (error) {
      report(check.name, false, reasonOf(error));
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  return {
    watchIndex: (client) => observedIndexClient(client, report),
    async start(indexes) {
      if (!config.databaseUrl) report('database', true, 'embedded PGlite, in this process');
      await Promise.all([...checks.map(runCheck), ...firstIndexStates(indexes, readiness, report)]);
      timer = setInterval(() => void (running = Promise.all(checks.map(runCheck))), CHECK_EVERY_MS);
      timer.unref();
    },
    async close() {
      clearInterval(timer);
      await running;
      await Promise.all(checks.map((check) => check.close?.() ?? Promise.resolve()));
    },
  };
}
