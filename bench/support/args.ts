/**
 * The benchmark's command line (node:util parseArgs): every size and setting of every
 * case, with defaults that let the whole run finish in a few minutes on a 2-core machine.
 */
import { parseArgs } from 'node:util';

export const CASES = ['update_requests', 'update_rate', 'scan_memory', 'release_latency', 'operator_overhead', 'dispatch_capacity', 'api_latency', 'root_listing', 'serial_sync', 'replica_scaling', 'combined_rate', 'pypi_day'] as const;
export type CaseName = (typeof CASES)[number];

export interface BenchOptions {
  readonly only: readonly CaseName[];
  /** update_requests */
  readonly versions: number;
  readonly projects: number;
  /** update_rate */
  readonly rateProjects: number;
  readonly versionsPerProject: number;
  readonly latency: number;
  readonly limit: number;
  readonly burst: number;
  readonly concurrency: number;
  readonly sequentialSample: number;
  /** scan_memory */
  readonly rowsSmall: number;
  readonly rowsLarge: number;
  readonly scanConcurrency: number;
  readonly scanPageSize: number;
  readonly scanVersionsPerProject: number;
  /** release_latency */
  readonly releases: number;
  readonly pollInterval: number;
  readonly releaseGap: number;
  /** operator_overhead */
  readonly events: number;
  /** dispatch_capacity */
  readonly dispatches: number;
  readonly capacity: number;
  readonly jobMs: number;
  readonly dispatchConcurrency: number;
  /** api_latency */
  readonly apiReleases: number;
  readonly apiSamples: number;
  /** root_listing */
  readonly listingProjects: number;
  readonly listingChanged: number;
  /** serial_sync */
  readonly syncProjects: number;
  /** replica_scaling (and --latency, --burst) */
  readonly replicaProjects: number;
  readonly replicaLimit: number;
  readonly replicaConcurrency: number;
  readonly replicas: number;
  /** combined_rate (and --burst) */
  readonly combinedProjects: number;
  readonly combinedLimit: number;
  readonly combinedFeedRate: number;
  readonly combinedSeconds: number;
  readonly combinedShares: readonly number[];
  /** pypi_day */
  readonly dayProjects: number;
  readonly dayChanges: number;
  readonly dayLimit: number;
  readonly dayCompression: number;
  readonly help: boolean;
}

const SPEC = {
  only: { type: 'string', multiple: true },
  versions: { type: 'string', default: '5000' },
  projects: { type: 'string', default: '1000' },
  'rate-projects': { type: 'string', default: '600' },
  'versions-per-project': { type: 'string', default: '5' },
  latency: { type: 'string', default: '50' },
  limit: { type: 'string', default: '100' },
  burst: { type: 'string', default: '10' },
  concurrency: { type: 'string', default: '16' },
  'sequential-sample': { type: 'string', default: '100' },
  'rows-small': { type: 'string', default: '100000' },
  'rows-large': { type: 'string', default: '1000000' },
  'scan-concurrency': { type: 'string', default: '16' },
  'scan-page-size': { type: 'string', default: '500' },
  'scan-versions-per-project': { type: 'string', default: '10' },
  releases: { type: 'string', default: '30' },
  'poll-interval': { type: 'string', default: '200' },
  'release-gap': { type: 'string', default: '250' },
  events: { type: 'string', default: '100000' },
  dispatches: { type: 'string', default: '10000' },
  capacity: { type: 'string', default: '50' },
  'job-ms': { type: 'string', default: '300' },
  'dispatch-concurrency': { type: 'string', default: '8' },
  'api-releases': { type: 'string', default: '1000000' },
  'api-samples': { type: 'string', default: '50' },
  'listing-projects': { type: 'string', default: '600000' },
  'listing-changed': { type: 'string', default: '1000' },
  'sync-projects': { type: 'string', default: '100000' },
  'replica-projects': { type: 'string', default: '20000' },
  'replica-limit': { type: 'string', default: '200' },
  'replica-concurrency': { type: 'string', default: '5' },
  replicas: { type: 'string', default: '3' },
  'combined-projects': { type: 'string', default: '5000' },
  'combined-limit': { type: 'string', default: '50' },
  'combined-feed-rate': { type: 'string', default: '60' },
  'combined-seconds': { type: 'string', default: '30' },
  'combined-shares': { type: 'string', default: '0.2,1' },
  'day-projects': { type: 'string', default: '60000' },
  'day-changes': { type: 'string', default: '5000' },
  'day-limit': { type: 'string', default: '5' },
  'day-compression': { type: 'string', default: '200' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** `--name N (default) ...` for the usage text, from SPEC. */
const flags = (...names: (keyof typeof SPEC)[]): string =>
  names.map((name) => `--${name} (${String((SPEC[name] as { default?: unknown }).default)})`).join(' ');

export const USAGE = `npm run bench -- [options]

Runs every case (or those named by --only, repeatable) and prints one JSON object as the
last line of stdout. Progress goes to stderr.

  --only <case>               ${CASES.join(', ')}
  update_requests:  ${flags('versions', 'projects')}
  update_rate:      ${flags('rate-projects', 'versions-per-project', 'latency', 'limit')}
                    ${flags('burst', 'concurrency', 'sequential-sample')}
  scan_memory:      ${flags('rows-small', 'rows-large', 'scan-concurrency')}
                    ${flags('scan-page-size', 'scan-versions-per-project')}
  release_latency:  ${flags('releases', 'poll-interval', 'release-gap')}
  operator_overhead: ${flags('events')}
  dispatch_capacity: ${flags('dispatches', 'capacity', 'job-ms', 'dispatch-concurrency')}
  api_latency:      ${flags('api-releases', 'api-samples')}
  root_listing:     ${flags('listing-projects', 'listing-changed')}
  serial_sync:      ${flags('sync-projects')} (and --concurrency)
  replica_scaling:  ${flags('replica-projects', 'replica-limit', 'replica-concurrency')}
                    ${flags('replicas')} (1 .. N replicas) and --latency, --burst; needs
                    Postgres and the built CLI (npm run build)
  combined_rate:    ${flags('combined-projects', 'combined-limit', 'combined-feed-rate')}
                    ${flags('combined-seconds', 'combined-shares')} and --burst; one run
                    per PKGSTREAM_VERIFY_SHARE of the comma list; Postgres, built CLI
  pypi_day:         ${flags('day-projects', 'day-changes', 'day-limit', 'day-compression')}
                    (a day in 86,400 / compression s, at limit x compression); Postgres,
                    built CLI

The database is the Postgres server of TEST_DATABASE_URL or DATABASE_URL (a schema of
its own, dropped at the end) when one is set, else an embedded PGlite per case.`;

function positive(name: string, text: string | undefined, integer = true): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({ args: [...argv], options: SPEC, strict: true, allowPositionals: false });
  const only = (values.only ?? []).map((name) => {
    const found = CASES.find((c) => c === name || c === name.replace(/-/g, '_'));
    if (!found) throw new Error(`--only: unknown case ${JSON.stringify(name)}; one of ${CASES.join(', ')}`);
    return found;
  });
  const options: BenchOptions = {
    only: only.length > 0 ? only : CASES,
    versions: positive('versions', values.versions),
    projects: positive('projects', values.projects),
    rateProjects: positive('rate-projects', values['rate-projects']),
    versionsPerProject: positive('versions-per-project', values['versions-per-project']),
    latency: positive('latency', values.latency, false),
    limit: positive('limit', values.limit, false),
    burst: positive('burst', values.burst),
    concurrency: positive('concurrency', values.concurrency),
    sequentialSample: positive('sequential-sample', values['sequential-sample']),
    rowsSmall: positive('rows-small', values['rows-small']),
    rowsLarge: positive('rows-large', values['rows-large']),
    scanConcurrency: positive('scan-concurrency', values['scan-concurrency']),
    scanPageSize: positive('scan-page-size', values['scan-page-size']),
    scanVersionsPerProject: positive('scan-versions-per-project', values['scan-versions-per-project']),
    releases: positive('releases', values.releases),
    pollInterval: positive('poll-interval', values['poll-interval'], false),
    releaseGap: positive('release-gap', values['release-gap'], false),
    events: positive('events', values.events),
    dispatches: positive('dispatches', values.dispatches),
    capacity: positive('capacity', values.capacity),
    jobMs: positive('job-ms', values['job-ms'], false),
    dispatchConcurrency: positive('dispatch-concurrency', values['dispatch-concurrency']),
    apiReleases: positive('api-releases', values['api-releases']),
    apiSamples: positive('api-samples', values['api-samples']),
    listingProjects: positive('listing-projects', values['listing-projects']),
    listingChanged: positive('listing-changed', values['listing-changed']),
    syncProjects: positive('sync-projects', values['sync-projects']),
    replicaProjects: positive('replica-projects', values['replica-projects']),
    replicaLimit: positive('replica-limit', values['replica-limit'], false),
    replicaConcurrency: positive('replica-concurrency', values['replica-concurrency']),
    replicas: positive('replicas', values.replicas),
    combinedProjects: positive('combined-projects', values['combined-projects']),
    combinedLimit: positive('combined-limit', values['combined-limit'], false),
    combinedFeedRate: positive('combined-feed-rate', values['combined-feed-rate'], false),
    combinedSeconds: positive('combined-seconds', values['combined-seconds'], false),
    combinedShares: values['combined-shares'].split(',').map((share) => {
      const value = positive('combined-shares', share, false);
      if (value > 1) throw new Error(`--combined-shares: each share is at most 1, got ${share}`);
      return value;
    }),
    dayProjects: positive('day-projects', values['day-projects']),
    dayChanges: positive('day-changes', values['day-changes']),
    dayLimit: positive('day-limit', values['day-limit'], false),
    dayCompression: positive('day-compression', values['day-compression'], false),
    help: values.help,
  };
  if (options.versions < options.projects) throw new Error('--versions must be at least --projects');
  if (options.dayChanges > options.dayProjects) throw new Error('--day-changes must be at most --day-projects (each change is of another project)');
  if (options.rowsLarge < options.rowsSmall) throw new Error('--rows-large must be at least --rows-small');
  return options;
}
