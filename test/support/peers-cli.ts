/**
 * `npm run peers -- <index|kafka|kube> [--port N]`: starts one local peer for a benchmark
 * or a demo, prints exactly one JSON line with its address on stdout, and serves until
 * SIGTERM or SIGINT. kafka also takes `--log` (protocol errors to stderr), `--sasl-user
 * name:password` (repeatable: SASL PLAIN and SCRAM required) and `--tls-cert/--tls-key FILE`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startIndexServer } from './index-server/index.js';
import { startKafkaBroker } from './kafka-broker/index.js';
import { startKubeApi } from './kube-api/index.js';

type Started = { address: Record<string, string>; stop: () => Promise<void> };
type Flags = { log?: boolean; 'sasl-user'?: string[]; 'tls-cert'?: string; 'tls-key'?: string };

/** `name:password` pairs; the password may itself contain ':'. */
function saslUsers(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf(':')), pair.slice(pair.indexOf(':') + 1)]));
}

const PEERS: Record<string, (port: number | undefined, flags: Flags) => Promise<Started>> = {
  index: async (port) => {
    const server = await startIndexServer({ port });
    return { address: { url: server.url }, stop: () => server.stop() };
  },
  kafka: async (port, flags) => {
    if (flags['sasl-user']?.some((pair) => !/^[^:]+:./.test(pair))) throw new Error('--sasl-user takes name:password');
    const broker = await startKafkaBroker({
      port,
      ...(flags.log ? { log: (message: string) => process.stderr.write(`kafka: ${message}\n`) } : {}),
      ...(flags['sasl-user'] ? { saslUsers: saslUsers(flags['sasl-user']) } : {}),
      ...(flags['tls-cert'] && flags['tls-key'] ? { tls: { cert: readFileSync(flags['tls-cert']), key: readFileSync(flags['tls-key']) } } : {}),
    });
    return { address: { brokers: broker.brokers }, stop: () => broker.stop() };
  },
  kube: async (port) => {
    const api = await startKubeApi({ port });
    return { address: { url: api.url }, stop: () => api.stop() };
  },
};

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    options: {
      port: { type: 'string' },
      log: { type: 'boolean' },
      'sasl-user': { type: 'string', multiple: true },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    allowPositionals: true,
  });
  const start = PEERS[positionals[0] ?? ''];
  const port = values.port === undefined ? undefined : Number(values.port);
  if (!start || positionals.length !== 1 || (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535))) {
    process.stderr.write(`usage: npm run peers -- <${Object.keys(PEERS).join('|')}> [--port N]\n`);
    process.exit(2);
  }
  const peer = await start(port, values);
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
