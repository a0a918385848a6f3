/**
 * Every setting of pkgstream: its environment variable, its CLI flag, its default and what
 * it accepts. The one table `--help`, the README and the config parser all read.
 */
import { z } from 'zod';
import { isValidProjectName } from '../domain/pep503.js';
import { SASL_MECHANISMS } from '../kafka/sasl-mechanisms.js';

export const PIPELINE_NAMES = ['releases', 'update', 'dispatch'] as const;
export type PipelineName = (typeof PIPELINE_NAMES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const text = z.string().min(1, 'must not be empty');
const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
const positiveNumber = (max: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, `must be a positive number up to ${max}`)
    .transform(Number)
    .pipe(z.number().positive('must be greater than 0').max(max, `must be at most ${max}`));
const bool = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], 'must be one of 1, 0, true, false, yes, no, on, off'))
  .transform((value) => ['1', 'true', 'yes', 'on'].includes(value));
const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));
const url = (protocols: readonly string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL (${protocols.join(' or ')})`);
const solverName = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const kafkaBroker = /^[A-Za-z0-9.-]+:\d{1,5}$/;

interface Setting<T, D extends string | undefined> {
  readonly env: string;
  readonly default: D;
  readonly help: string;
  readonly schema: z.ZodType<T, string>;
  /** A credential: a wrong value is named, never echoed. */
  readonly secret?: true;
}

function setting<T, D extends string | undefined>(env: string, defaultValue: D, help: string, schema: z.ZodType<T, string>): Setting<T, D> {
  return { env, default: defaultValue, help, schema };
}

const secret = <T, D extends string | undefined>(of: Setting<T, D>): Setting<T, D> => ({ ...of, secret: true });

export const SETTINGS = {
  databaseUrl: setting('DATABASE_URL', undefined, 'PostgreSQL URL; unset = embedded PGlite in the data dir', url(['postgres:', 'postgresql:'])),
  dataDir: setting('PKGSTREAM_DATA_DIR', './.pkgstream', 'Folder for the embedded database', text),
  kafkaBrokers: setting('KAFKA_BROKERS', undefined, 'Comma list of host:port; unset = events as JSON lines on stdout', list.pipe(z.array(z.string().regex(kafkaBroker, 'each broker must be host:port')).min(1, 'must name at least one broker'))),
  topicPrefix: setting('PKGSTREAM_TOPIC_PREFIX', 'pkgstream', 'Kafka topic prefix: topics are <prefix>.<kind>', z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be letters, digits, ".", "_" or "-"')),
  kafkaSsl: setting('KAFKA_SSL', 'false', 'TLS to the Kafka brokers (system CAs unless KAFKA_SSL_CA_FILE)', bool),
  kafkaSslCaFile: setting('KAFKA_SSL_CA_FILE', undefined, 'PEM file of the CAs the Kafka brokers are checked against', text),
  kafkaSslCertFile: setting('KAFKA_SSL_CERT_FILE', undefined, 'PEM file of the client certificate for Kafka (with KAFKA_SSL_KEY_FILE)', text),
  kafkaSslKeyFile: setting('KAFKA_SSL_KEY_FILE', undefined, 'PEM file of the client key for Kafka (with KAFKA_SSL_CERT_FILE)', text),
  kafkaSaslMechanism: setting('KAFKA_SASL_MECHANISM', undefined, `SASL to the Kafka brokers: ${SASL_MECHANISMS.join(', ')}; unset = none`, z.enum(SASL_MECHANISMS, `must be one of ${SASL_MECHANISMS.join(', ')}`)),
  kafkaSaslUsername: setting('KAFKA_SASL_USERNAME', undefined, 'SASL user name for Kafka', text),
  kafkaSaslPasswordFile: setting('KAFKA_SASL_PASSWORD_FILE', undefined, 'File holding the SASL password for Kafka (a password is never taken from a flag or a variable)', text),
  kafkaGroupId: setting('PKGSTREAM_KAFKA_GROUP', 'pkgstream-dispatch', 'Kafka consumer group of the dispatch pipeline', text),
  kubeconfig: setting('KUBECONFIG', undefined, 'Kubeconfig path; unset = in-cluster config when in a pod, else dispatch only logs Jobs', text),
  namespace: setting('PKGSTREAM_NAMESPACE', 'pkgstream', 'Namespace of the solver Jobs', z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label')),
  jobTemplate: setting('PKGSTREAM_JOB_TEMPLATE', undefined, 'Path of the solver Job template (YAML); unset = built-in template', text),
  reverseJobTemplate: setting('PKGSTREAM_REVERSE_JOB_TEMPLATE', undefined, 'Path of a reverse-solver Job template; unset = no reverse solving', text),
  solvers: setting('PKGSTREAM_SOLVERS', 'solver-default', 'Comma list of solver names (DNS-1123 labels)', list.pipe(z.array(z.string().regex(solverName, 'each solver must be a DNS-1123 label')).min(1, 'must name at least one solver'))),
  solverCapacity: setting('PKGSTREAM_SOLVER_CAPACITY', '10', 'Most solver Jobs active at once', intIn(1, 100_000)),
  httpPort: setting('PKGSTREAM_HTTP_PORT', '9464', 'Port of /metrics, /livez, /readyz, /api/v1 and the web UI (0 = any free port)', intIn(0, 65_535)),
  pollInterval: setting('PKGSTREAM_POLL_INTERVAL', '60', 'Seconds between feed polls', positiveNumber(86_400)),
  syncInterval: setting('PKGSTREAM_SYNC_INTERVAL', '3600', 'Seconds between serial syncs of each enabled index (its root listing, then the projects whose serial rose; PyPI\'s listing is tens of MB)', positiveNumber(7 * 86_400)),
  rateLimit: setting('PKGSTREAM_RATE_LIMIT', '5', 'Requests per second per index', positiveNumber(10_000)),
  rateBurst: setting('PKGSTREAM_RATE_BURST', '5', 'Requests an index may get at once above the rate', intIn(1, 10_000)),
  maxBackoff: setting('PKGSTREAM_MAX_BACKOFF', '900', 'Longest wait in seconds a Retry-After or a backoff may impose on an index', positiveNumber(86_400)),
  requestTimeout: setting('PKGSTREAM_REQUEST_TIMEOUT', '60', 'Seconds an index request may take, its whole body included', positiveNumber(3_600)),
  redirectOrigins: setting('PKGSTREAM_REDIRECT_ORIGINS', '', 'Comma list of origins (https://host:port) an index may redirect to besides its own', list.pipe(z.array(url(['https:', 'http:'])))),
  concurrency: setting('PKGSTREAM_CONCURRENCY', '8', 'Items in flight per pipeline stage', intIn(1, 1_000)),
  scanPageSize: setting('PKGSTREAM_SCAN_PAGE_SIZE', '500', 'Rows read per database page', intIn(1, 100_000)),
  progressInterval: setting('PKGSTREAM_PROGRESS_INTERVAL', '10', 'Seconds between progress reports of an update pass (log line, rate and ETA gauges, a bar when stderr is a terminal), and between the lines of a waiting `once` saying what it waits for (at most 60)', positiveNumber(86_400)),
  verifyShare: setting('PKGSTREAM_VERIFY_SHARE', '0.2', 'Fraction of PKGSTREAM_RATE_LIMIT the update pipeline\'s re-checks may use under `run` (verification); the rest stays free for the feeds and serial syncs', positiveNumber(1)),
  recheckInterval: setting('PKGSTREAM_RECHECK_INTERVAL', '86400', 'Seconds within which every known release is re-checked', positiveNumber(31_536_000)),
  releaseTriggers: setting('PKGSTREAM_RELEASE_TRIGGERS', '', 'Comma list of projects whose releases also go to <prefix>.release-trigger', list.pipe(z.array(z.string().refine(isValidProjectName, 'each must be a valid project name (PEP 508)')))),
  dryRun: setting('PKGSTREAM_DRY_RUN', 'false', 'Log every effect instead of having it', bool),
  pipelines: setting('PKGSTREAM_PIPELINES', PIPELINE_NAMES.join(','), 'Comma list of pipelines `run` starts', list.pipe(z.array(z.enum(PIPELINE_NAMES, `each must be one of ${PIPELINE_NAMES.join(', ')}`)))),
  eventRetention: setting('PKGSTREAM_EVENT_RETENTION', '90', 'Days sent events are kept in the event table (history, outbox)', positiveNumber(36_500)),
  leaseTtl: setting('PKGSTREAM_LEASE_TTL', '30', 'Seconds after its last heartbeat a replica counts as gone: its leases (feeds, dispatch) and project claims pass to another', positiveNumber(3_600)),
  shutdownGrace: setting('PKGSTREAM_SHUTDOWN_GRACE', '25', 'Seconds in-flight work may take to finish on SIGTERM', positiveNumber(3_600)),
  adminToken: secret(setting('PKGSTREAM_ADMIN_TOKEN', undefined, 'Bearer token the API and UI writes need; unset = every write answers 403', z.string().min(16, 'must be at least 16 characters'))),
  apiAuth: setting('PKGSTREAM_API_AUTH', 'writes', 'Which API requests need the admin token: writes, or all', z.enum(['writes', 'all'], 'must be writes or all')),
  grafanaUrl: setting('PKGSTREAM_GRAFANA_URL', undefined, 'Grafana dashboard URL the web UI links to; unset = no links', url(['http:', 'https:'])),
  logLevel: setting('LOG_LEVEL', 'info', `Log level: ${LOG_LEVELS.join(', ')}`, z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`)),
};

export type SettingKey = keyof typeof SETTINGS;

/** `PKGSTREAM_HTTP_PORT` → `--http-port`; `DATABASE_URL` → `--database-url`. */
export function flagOf(key: SettingKey): string {
  return `--${SETTINGS[key].env.replace(/^PKGSTREAM_/, '').toLowerCase().replace(/_/g, '-')}`;
}
