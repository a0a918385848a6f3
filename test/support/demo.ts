/**
 * `npm run demo [-- --interval S]`: pkgstream against the three local peers, in one command.
 *
 * Starts the package index (seeded with a few real-looking projects), the Kafka broker and
 * the Kubernetes API with its Job controller on (each Job completes a few seconds after it
 * is created), writes a kubeconfig, registers the index with a fresh embedded database and
 * starts `pkgstream run` (dist/cli.js) against them. Every `--interval` seconds (default 10)
 * it publishes a new release on the index's feed, and prints each event pkgstream sends to
 * Kafka as it arrives: a release becomes `package-released`, a solver Job is scheduled and
 * finishes. Ctrl-C (or SIGTERM) stops the service, then the peers, and removes the data.
 *
 * It lives in test/support beside the peers it starts in-process (no peer CLI children to
 * leave behind); the npm script `exec`s tsx, so a signal to npm reaches it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI_PATH, cliEnv } from './cli.js';
import { startIndexServer } from './index-server/index.js';
import { startKafkaBroker } from './kafka-broker/index.js';
import { startKubeApi } from './kube-api/index.js';

const TOPIC_PREFIX = 'pkgstream';
const NAMESPACE = 'default';
/** How long a solver Job of the demo runs before the Job controller completes it. */
const JOB_RUN_MS = 3_000;
const SEEDED: readonly (readonly [string, readonly string[]])[] = [
  ['requests', ['2.31.0', '2.32.3']],
  ['flask', ['3.0.3', '3.1.0']],
  ['numpy', ['2.1.3']],
  ['zope.interface', ['7.1.1']],
];
/** The projects that get a new release every interval, in turn, and their next minor version. */
const PUBLISHED: readonly (readonly [string, string])[] = [
  ['requests', '2.33'],
  ['flask', '3.2'],
  ['numpy', '2.2'],
  ['zope.interface', '7.2'],
];

const say = (line: string) => void process.stdout.write(`${line}\n`);

function parseInterval(): number {
  const { values } = parseArgs({ options: { interval: { type: 'string', default: '10' } } });
  const seconds = Number(values.interval);
  if (!(seconds > 0 && seconds <= 3_600)) {
    process.stderr.write(`usage: npm run demo [-- --interval SECONDS] (got --interval ${values.interval}: must be a number of seconds in (0, 3600])\n`);
    process.exit(2);
  }
  return seconds;
}

/** `node dist/cli.js <args>` to its end; a failure stops the demo with pkgstream's own message. */
function pkgstream(args: readonly string[], env: NodeJS.ProcessEnv): void {
  const result = spawnSync(process.execPath, [CLI_PATH, ...args], { env: cliEnv(env), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`pkgstream ${args.join(' ')} exited ${String(result.status)}: ${result.stderr.trim()}`);
}

/** Resolves with the HTTP URL the service logged once it listens; rejects if it exits first. */
function whenListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"http server listening"')) continue;
        resolve(`http://127.0.0.1:${String((JSON.parse(line) as { port: number }).port)}`);
      }
    });
    child.once('exit', (code) => reject(new Error(`pkgstream run exited (${String(code)}) before it listened`)));
  });
}

async function main(): Promise<void> {
  const intervalS = parseInterval();
  const dataDir = mkdtempSync(join(tmpdir(), 'pkgstream-demo-'));
  const [index, broker, kube] = await Promise.all([
    startIndexServer(),
    startKafkaBroker(),
    startKubeApi({ tls: true, jobController: { runMs: JOB_RUN_MS } }),
  ]);
  for (const [project, versions] of SEEDED) for (const version of versions) index.addRelease(project, version);
  const kubeconfig = kube.kubeConfigFile();
  const simple = `${index.url}/simple`;
  const env: NodeJS.ProcessEnv = {
    PKGSTREAM_DATA_DIR: join(dataDir, 'data'),
    KAFKA_BROKERS: broker.brokers,
    KUBECONFIG: kubeconfig,
    PKGSTREAM_NAMESPACE: NAMESPACE,
    PKGSTREAM_TOPIC_PREFIX: TOPIC_PREFIX,
    PKGSTREAM_POLL_INTERVAL: '2',
    PKGSTREAM_HTTP_PORT: '0',
  };
  pkgstream(['index', 'add', simple, '--warehouse', '--watch', 'all'], env);
  pkgstream(['index', 'disable', 'https://pypi.org/simple'], env);

  const logFile = join(dataDir, 'pkgstream.log');
  const service = spawn(process.execPath, [CLI_PATH, 'run'], { env: cliEnv({ ...env, LOG_LEVEL: 'info' }), stdio: ['ignore', 'ignore', 'pipe'] });
  const log = createWriteStream(logFile);
  service.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => service.once('exit', (code) => resolve(code)));

  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const timer of timers) clearInterval(timer);
    say(`pkgstream demo: ${reason}: stopping pkgstream run (pid ${String(service.pid)}), then the peers`);
    if (service.exitCode === null && service.signalCode === null) service.kill('SIGTERM');
    const code = await exited;
    await Promise.all([index.stop(), broker.stop(), kube.stop()]);
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
    say(`pkgstream demo: stopped (pkgstream run exited ${String(code)})`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('Ctrl-C'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  const base = await whenListening(service);
  say('pkgstream demo: the index, Kafka and Kubernetes peers and pkgstream run are up');
  say(`  web UI, API  ${base}/  ${base}/api/v1/events  ${base}/metrics`);
  say(`  index        ${simple}/  (its feed: ${index.url}/rss/updates.xml)`);
  say(`  Kafka        kcat -b ${broker.brokers} -C -t ${TOPIC_PREFIX}.package-released -e`);
  say(`  Kubernetes   kubectl --kubeconfig ${kubeconfig} get jobs -n ${NAMESPACE}`);
  say(`  service log  ${logFile}`);
  say(`  pid ${String(service.pid)} (pkgstream run); a new release every ${String(intervalS)} s; Ctrl-C stops everything`);

  let published = 0;
  timers.push(
    setInterval(() => {
      const [project, minor] = PUBLISHED[published % PUBLISHED.length]!;
      const version = `${minor}.${String(Math.floor(published / PUBLISHED.length))}`;
      published += 1;
      index.addRelease(project, version);
      say(`published    ${project} ${version} on the index (its feed lists it now)`);
    }, intervalS * 1000),
  );
  // By topic, partition and offset: a topic's records come partition by partition.
  const shown = new Set<string>();
  timers.push(
    setInterval(() => {
      for (const kind of ['package-released', 'solver-scheduled', 'solver-finished']) {
        for (const record of broker.records(`${TOPIC_PREFIX}.${kind}`)) {
          const key = `${record.topic}/${String(record.partition)}/${String(record.offset)}`;
          if (shown.has(key)) continue;
          shown.add(key);
          const value = JSON.parse(record.value?.toString() ?? '{}') as Record<string, unknown>;
          const job = typeof value.job_name === 'string' ? ` Job ${value.job_name}` : '';
          const outcome = typeof value.outcome === 'string' ? ` ${value.outcome}` : '';
          say(`event        ${kind} ${String(value.package_name)}==${String(value.package_version)}${outcome}${job}`);
        }
      }
    }, 500),
  );
  const code = await exited;
  if (!stopping) {
    process.stderr.write(`pkgstream demo: pkgstream run exited ${String(code)} on its own; its log: ${logFile}\n`);
    await stop('pkgstream run ended');
  }
}

await main().catch((error: unknown) => {
  process.stderr.write(`pkgstream demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
