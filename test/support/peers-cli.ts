/**
 * `npm run peers -- <index|kafka|kube> [--port N] [--log]`: starts one local peer for a
 * benchmark or a demo, prints exactly one JSON line with its address on stdout, and serves
 * until SIGTERM or SIGINT. `--log` writes each request and protocol error to stderr.
 * kube: the line adds `kubeconfig` (a file with its URL and token, for kubectl and
 * client-node as is); `--job-controller MS` has it finish each Job MS milliseconds after
 * creation. kafka: `--sasl-user name:password` (repeatable: SASL PLAIN and SCRAM required)
 * and `--tls-cert/--tls-key FILE`. The npm script `exec`s tsx, so a signal to npm reaches
 * the peer.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startIndexServer } from './index-server/index.js';
import { startKafkaBroker } from './kafka-broker/index.js';
import { startKubeApi } from './kube-api/index.js';

type Started = { address: Record<string, string>; stop: () => Promise<void> };
interface PeerArgs {
  readonly port: number | undefined;
  readonly log: ((line: string) => void) | undefined;
  readonly jobControllerMs: number | undefined;
  readonly saslUsers: readonly string[] | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
}

/** `name:password` pairs; the password may itself contain ':'. */
function saslUsers(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf(':')), pair.slice(pair.indexOf(':') + 1)]));
}

const PEERS: Record<string, (args: PeerArgs) => Promise<Started>> = {
  index: async ({ port }) => {
    const server = await startIndexServer({ port });
    return { address: { url: server.url }, stop: () => server.stop() };
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
    },
    allowPositionals: true,
  });
  const start = PEERS[positionals[0] ?? ''];
  const port = values.port === undefined ? undefined : Number(values.port);
  const jobControllerMs = values['job-controller'] === undefined ? undefined : Number(values['job-controller']);
  if (!start || positionals.length !== 1 || !isCount(port, 65_535) || !isCount(jobControllerMs, 86_400_000)) {
    process.stderr.write(
      `usage: npm run peers -- <${Object.keys(PEERS).join('|')}> [--port N] [--log] [--job-controller MS (kube)] [--sasl-user NAME:PASSWORD] [--tls-cert FILE --tls-key FILE (kafka)]\n`,
    );
    process.exit(2);
  }
  const log = values.log ? (line: string) => void process.stderr.write(`${line}\n`) : undefined;
  const peer = await start({ port, log, jobControllerMs, saslUsers: values['sasl-user'], tlsCert: values['tls-cert'], tlsKey: values['tls-key'] });
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
