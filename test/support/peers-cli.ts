/**
 * `npm run peers -- <index|kafka|kube> [--port N] [--log]`: starts one local peer for a
 * benchmark or a demo, prints exactly one JSON line with its address on stdout, and serves
 * until SIGTERM or SIGINT. `--log` writes each request and protocol error to stderr.
 * index: `--seed FILE` adds a seed document's projects (index-server/seed.ts), `--projects N
 * --versions M` N generated projects of M releases each (both may be given: the file first);
 * the line adds the index's `serial` and how many `projects` and `releases` were seeded.
 * kube: the line adds `kubeconfig` (a file with its URL and token, for kubectl and
 * client-node as is); `--job-controller MS` has it finish each Job MS milliseconds after
 * creation. kafka: `--sasl-user name:password` (repeatable: SASL PLAIN and SCRAM required)
 * and `--tls-cert/--tls-key FILE`. The npm script `exec`s tsx, so a signal to npm reaches
 * the peer.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateSeed, startIndexServer, type SeedDocument } from './index-server/index.js';
import { startKafkaBroker } from './kafka-broker/index.js';
import { startKubeApi } from './kube-api/index.js';

type Started = { address: Record<string, string | number>; stop: () => Promise<void> };
interface PeerArgs {
  readonly port: number | undefined;
  readonly log: ((line: string) => void) | undefined;
  readonly jobControllerMs: number | undefined;
  readonly saslUsers: readonly string[] | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly seedFile: string | undefined;
  readonly projects: number | undefined;
  readonly versions: number | undefined;
}

/** A seed file's document; a file that cannot be read or parsed is one line naming it. */
function readSeedFile(path: string): SeedDocument {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SeedDocument;
  } catch (error) {
    throw new Error(`--seed ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** `name:password` pairs; the password may itself contain ':'. */
function saslUsers(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf(':')), pair.slice(pair.indexOf(':') + 1)]));
}

const PEERS: Record<string, (args: PeerArgs) => Promise<Started>> = {
  index: async ({ port, log, seedFile, projects, versions }) => {
    const documents = [
      ...(seedFile === undefined ? [] : [{ document: readSeedFile(seedFile), source: seedFile }]),
      ...(projects === undefined ? [] : [{ document: generateSeed(projects, versions ?? 3), source: '--projects' }]),
    ];
    const server = await startIndexServer({ port, ...(log ? { onRequest: ({ method, path, status }) => log(`index: ${method} ${path} ${status}`) } : {}) });
    const seeded = { projects: 0, releases: 0 };
    try {
      for (const { document, source } of documents) {
        const added = server.seed(document, source);
        seeded.projects += added.projects;
        seeded.releases += added.releases;
      }
    } catch (error) {
      await server.stop();
      throw error;
    }
    return { address: { url: server.url, serial: server.model.serial, ...seeded }, stop: () => server.stop() };
  },
  kafka: async ({ port, log, saslUsers: users, tlsCert, tlsKey }) => {
    if (users?.some((pair) => !/^[^:]+:./.test(pair))) throw new Error('--sasl-user takes name:password');
    const broker = await startKafkaBroker({
      port,
      ...(log ? { log: (message: string) => log(`kafka: ${message}`) } : {}),
      ...(users ? { saslUsers: saslUsers(users) } : {}),
      ...(tlsCert && tlsKey ? { tls: { cert: readFileSync(tlsCert), key: readFileSync(tlsKey) } } : {}),
    });
    return { address: { brokers: broker.brokers }, stop: () => broker.stop() };
  },
  kube: async ({ port, log, jobControllerMs }) => {
    const api = await startKubeApi({ port, tls: true, ...(log ? { log } : {}), ...(jobControllerMs === undefined ? {} : { jobController: { runMs: jobControllerMs } }) });
    return { address: { url: api.url, kubeconfig: api.kubeConfigFile() }, stop: () => api.stop() };
  },
};

const isCount = (value: number | undefined, max: number) => value === undefined || (Number.isInteger(value) && value >= 0 && value <= max);

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    options: {
      port: { type: 'string' },
      log: { type: 'boolean' },
      'job-controller': { type: 'string' },
      'sasl-user': { type: 'string', multiple: true },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      seed: { type: 'string' },
      projects: { type: 'string' },
      versions: { type: 'string' },
    },
    allowPositionals: true,
  });
  const start = PEERS[positionals[0] ?? ''];
  const port = values.port === undefined ? undefined : Number(values.port);
  const jobControllerMs = values['job-controller'] === undefined ? undefined : Number(values['job-controller']);
  const projects = values.projects === undefined ? undefined : Number(values.projects);
  const versions = values.versions === undefined ? undefined : Number(values.versions);
  const indexOnly = values.seed !== undefined || projects !== undefined || versions !== undefined;
  const counts = isCount(port, 65_535) && isCount(jobControllerMs, 86_400_000) && isCount(projects, 100_000) && isCount(versions, 1_000);
  if (!start || positionals.length !== 1 || !counts || (indexOnly && positionals[0] !== 'index') || (versions !== undefined && projects === undefined)) {
    process.stderr.write(
      `usage: npm run peers -- <${Object.keys(PEERS).join('|')}> [--port N] [--log] [--seed FILE] [--projects N [--versions M]] (index) [--job-controller MS (kube)] [--sasl-user NAME:PASSWORD] [--tls-cert FILE --tls-key FILE (kafka)]\n`,
    );
    process.exit(2);
  }
  const log = values.log ? (line: string) => void process.stderr.write(`${line}\n`) : undefined;
  const peer = await start({
    port,
    log,
    jobControllerMs,
    saslUsers: values['sasl-user'],
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
    seedFile: values.seed,
    projects,
    versions,
  }).catch((error: unknown) => {
    process.stderr.write(`peers ${positionals[0] ?? ''}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
  process.stdout.write(`${JSON.stringify(peer.address)}\n`);
  const stop = () => {
    peer.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

await main();
