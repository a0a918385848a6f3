/**
 * `npm run bench`: every case (or those of --only) side by side in this one process,
 * against the local peers on loopback (test/support), with the real adapters. Progress and
 * extra figures go to stderr; the LAST line of stdout is one JSON object, one key per case.
 */
import os from 'node:os';
import { CASES, parseBenchArgs, USAGE, type CaseName } from './support/args.js';
import { databaseKind } from './support/database.js';
import { progress } from './support/util.js';
import { apiLatency } from './api-latency.js';
import { rootListing } from './root-listing.js';
import { serialSync } from './serial-sync.js';
import { dispatchCapacity } from './dispatch-capacity.js';
import { operatorOverhead } from './operator-overhead.js';
import { releaseLatency } from './release-latency.js';
import { replicaScaling } from './replica-scaling.js';
import { combinedRate } from './combined-rate.js';
import { pypiDay } from './pypi-day.js';
import { scanMemory } from './scan-memory.js';
import { updateRate } from './update-rate.js';
import { updateRequests } from './update-requests.js';
import type { BenchOptions } from './support/args.js';

interface Figures {
  readonly details: Record<string, unknown>;
}

const RUNNERS: Record<CaseName, (options: BenchOptions) => Promise<Figures> | Figures> = {
  update_requests: updateRequests,
  update_rate: updateRate,
  scan_memory: scanMemory,
  release_latency: releaseLatency,
  operator_overhead: operatorOverhead,
  dispatch_capacity: dispatchCapacity,
  api_latency: apiLatency,
  root_listing: rootListing,
  serial_sync: serialSync,
  replica_scaling: replicaScaling,
  combined_rate: combinedRate,
  pypi_day: pypiDay,
};

/** Pure CPU first, on a fresh heap; the rest in the order of the output. */
const ORDER: readonly CaseName[] = ['operator_overhead', 'update_requests', 'update_rate', 'scan_memory', 'release_latency', 'dispatch_capacity', 'api_latency', 'root_listing', 'serial_sync', 'replica_scaling', 'combined_rate', 'pypi_day'];

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  progress(
    `node ${process.version}, ${os.availableParallelism()} CPUs, ${Math.round(os.totalmem() / 2 ** 30)} GiB, database ${databaseKind()}, cases ${options.only.join(', ')}`,
  );
  const figures = new Map<CaseName, object>();
  const details: Record<string, unknown> = {};
  const started = performance.now();
  for (const name of ORDER.filter((c) => options.only.includes(c))) {
    const caseStarted = performance.now();
    const { details: extra, ...result } = await RUNNERS[name](options);
    figures.set(name, result);
    details[name] = { ...extra, case_seconds: Math.round((performance.now() - caseStarted) / 100) / 10 };
  }
  details.total_seconds = Math.round((performance.now() - started) / 100) / 10;
  details.database = databaseKind();
  progress(`details ${JSON.stringify(details)}`);
  const output: Record<string, unknown> = {};
  for (const name of CASES) if (figures.has(name)) output[name] = figures.get(name);
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().then(
  // Kafka and HTTP clients may keep handles open for a while after close: end here.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
