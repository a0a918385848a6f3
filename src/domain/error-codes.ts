/**
 * The catalogue of every error code pkgstream raises: thrown as `PkgstreamError`, counted in
 * `pkgstream_bad_input_total` / `pkgstream_kafka_dead_letters_total`, or written to the
 * attention table. `ErrorCode` is derived from it, so a code that is not listed here does
 * not typecheck; the README's error table is tested against it (test/readme.test.ts).
 *
 * `retriable` is what the error carries (the retry operator reads the error, not this
 * list); `'per-instance'` when the same code may or may not be worth retrying.
 *
 * Not listed: codes of foreign errors that `errorCode()` passes through (Postgres SQLSTATEs,
 * Node errnos, undici's `UND_ERR_*`, Kafka broker error types), and the HTTP API's
 * lowercase answer codes (`bad_request`, `not_found`...; src/http/api-error.ts).
 */

export type ErrorArea = 'index' | 'input' | 'kafka' | 'kube' | 'store' | 'sink' | 'dispatch' | 'config' | 'cli' | 'service' | 'internal';

export interface ErrorCodeEntry {
  readonly code: string;
  /** One line a user can act on. */
  readonly meaning: string;
  readonly retriable: boolean | 'per-instance';
  readonly area: ErrorArea;
}

export const ERROR_CODES = [
  // The index client (IndexError).
  { code: 'INDEX_TIMEOUT', area: 'index', retriable: true, meaning: 'The index gave no complete answer within PKGSTREAM_REQUEST_TIMEOUT: retried with backoff; raise the timeout for a slow host' },
  { code: 'INDEX_HTTP_5XX', area: 'index', retriable: true, meaning: 'The index answered 5xx: retried with backoff; the host is failing' },
  { code: 'INDEX_RATE_LIMITED', area: 'index', retriable: true, meaning: 'The index answered 429: the host is paused for its Retry-After (at most PKGSTREAM_MAX_BACKOFF); lower PKGSTREAM_RATE_LIMIT if it repeats' },
  { code: 'INDEX_CONNECTION', area: 'index', retriable: true, meaning: 'The index host could not be reached (DNS, refused, reset, TLS): retried; check the URL and the network' },
  { code: 'INDEX_CLOSED', area: 'index', retriable: true, meaning: 'A request was in flight when the index client closed on shutdown: made again on the next start, not an index fault' },
  { code: 'INDEX_STALE_PAGE', area: 'index', retriable: true, meaning: 'A project page below the serial the root listing gave it (a lagging cache): read again later, then an attention item' },
  { code: 'INDEX_NOT_FOUND', area: 'index', retriable: false, meaning: 'The index answered 404 or 410: it does not serve that project or page' },
  { code: 'INDEX_BAD_BODY', area: 'index', retriable: false, meaning: 'The index answer cannot be read (not the JSON, HTML or RSS expected, or a 304 to a request without validators)' },
  { code: 'INDEX_TOO_LARGE', area: 'index', retriable: false, meaning: 'The index answer is over the body size cap' },
  { code: 'INDEX_BAD_HEADERS', area: 'index', retriable: false, meaning: 'The index answer has response headers over the size limit' },
  { code: 'INDEX_REDIRECT_REFUSED', area: 'index', retriable: false, meaning: 'The index redirected to another origin (list it in PKGSTREAM_REDIRECT_ORIGINS if trusted) or from https to http' },
  { code: 'INDEX_HTTP_STATUS', area: 'index', retriable: false, meaning: 'The index answered another unexpected status (400, 401, 403, a redirect without Location, too many redirects)' },
  { code: 'INDEX_UNSUPPORTED', area: 'index', retriable: false, meaning: 'The index has no such endpoint (no RSS feeds, no JSON API) for what was asked' },

  // Input from outside: refused, or skipped and counted in pkgstream_bad_input_total.
  { code: 'BAD_VERSION', area: 'input', retriable: false, meaning: 'A version that is neither PEP 440 nor an acceptable legacy version: skipped with a warning' },
  { code: 'BAD_PROJECT_NAME', area: 'input', retriable: false, meaning: 'Not a valid project name (PEP 508: letters, digits and ._-, alphanumeric at each end, at most 200 characters)' },
  { code: 'BAD_INDEX_URL', area: 'input', retriable: false, meaning: 'An index URL that is not http(s) or carries credentials' },
  { code: 'BAD_WATCH_MODE', area: 'input', retriable: false, meaning: 'An index watch mode other than all or seen' },
  { code: 'BAD_SHA256', area: 'input', retriable: false, meaning: 'A file digest that is not a sha256 (64 hex digits)' },
  { code: 'BAD_FILENAME', area: 'input', retriable: false, meaning: 'A file on a project page whose name or link gives no version: that file is skipped' },
  { code: 'BAD_SERIAL', area: 'input', retriable: false, meaning: 'An X-PyPI-Last-Serial header that is not a serial: the page is read without it' },
  { code: 'BAD_SIZE', area: 'input', retriable: false, meaning: "A file's PEP 700 size that is not a non-negative integer: left unknown" },
  { code: 'BAD_UPLOAD_TIME', area: 'input', retriable: false, meaning: "A file's PEP 700 upload-time that is not an ISO 8601 UTC date-time: left unknown" },
  { code: 'BAD_PROJECT_STATUS', area: 'input', retriable: false, meaning: 'A PEP 792 project status or reason PEP 792 does not define: the stored status stands' },
  { code: 'BAD_FEED_ITEM', area: 'input', retriable: false, meaning: 'An RSS feed item without a readable project or version: skipped' },
  { code: 'FUTURE_PUBDATE', area: 'input', retriable: false, meaning: "A feed item dated in the future: read, never used as the checkpoint (check the index's clock)" },
  { code: 'FEED_TOO_MANY_ITEMS', area: 'input', retriable: false, meaning: 'A feed with more items than pkgstream reads: the excess is skipped' },
  { code: 'LISTING_SERIAL_BACKWARDS', area: 'input', retriable: false, meaning: 'A root listing whose serial is below the one stored (a stale cache): its serials are not used' },
  { code: 'RELEASE_NOT_ON_INDEX', area: 'input', retriable: false, meaning: 'A feed announced a version its project page does not list: an attention item; retry it once the index has it' },

  // Kafka.
  { code: 'KAFKA_PRODUCE_FAILED', area: 'kafka', retriable: 'per-instance', meaning: "Producing events failed (the broker's error follows): retried unless the broker refused for good; the events stay in the outbox" },
  { code: 'KAFKA_AUTH_FAILED', area: 'kafka', retriable: false, meaning: 'The Kafka brokers refused the SASL login: check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD_FILE' },
  { code: 'KAFKA_CONSUMER_FAILED', area: 'kafka', retriable: true, meaning: 'The Kafka consumer could not start: the pipeline restarts it; check KAFKA_BROKERS and the credentials' },
  { code: 'KAFKA_CONSUMER_CRASHED', area: 'kafka', retriable: true, meaning: 'The Kafka consumer crashed and did not restart itself: the pipeline restarts it' },
  { code: 'KAFKA_UNKNOWN_CODEC', area: 'kafka', retriable: false, meaning: 'A fetched batch is compressed with a codec pkgstream does not know' },
  { code: 'KAFKA_EMPTY_VALUE', area: 'kafka', retriable: false, meaning: 'A consumed message has no value: sent to the dead-letter topic' },
  { code: 'KAFKA_VALUE_TOO_LARGE', area: 'kafka', retriable: false, meaning: 'A consumed message is over the value size cap: sent to the dead-letter topic' },
  { code: 'KAFKA_BAD_JSON', area: 'kafka', retriable: false, meaning: 'A consumed message is not JSON: sent to the dead-letter topic' },
  { code: 'KAFKA_BAD_SCHEMA', area: 'kafka', retriable: false, meaning: "A consumed message does not match its event's schema: sent to the dead-letter topic" },

  // Kubernetes (solver Jobs).
  { code: 'JOB_NO_CLUSTER', area: 'kube', retriable: false, meaning: 'No Kubernetes configuration (KUBECONFIG or in-cluster) and not a dry run: configure one, or set PKGSTREAM_DRY_RUN' },
  { code: 'JOB_NO_TEMPLATE', area: 'kube', retriable: false, meaning: 'A reverse solver run was asked for with no PKGSTREAM_REVERSE_JOB_TEMPLATE configured' },
  { code: 'JOB_TEMPLATE', area: 'kube', retriable: false, meaning: 'The Job template cannot be read or is not one batch/v1 Job with known placeholders: fix PKGSTREAM_JOB_TEMPLATE' },
  { code: 'JOB_SCHEDULER_CLOSED', area: 'kube', retriable: false, meaning: 'A Job was asked for after the scheduler closed on shutdown: dispatched again on the next start' },
  { code: 'JOB_API_UNREACHABLE', area: 'kube', retriable: true, meaning: 'The Kubernetes API gave no answer (refused, reset, timeout): retried with backoff' },
  { code: 'JOB_WATCH_FAILED', area: 'kube', retriable: true, meaning: 'The solver Jobs watch went silent, sent an ERROR event or closed at once: listed and watched again with backoff' },
  { code: 'JOB_QUOTA', area: 'kube', retriable: true, meaning: "The namespace's ResourceQuota refused the Job: retried later; raise the quota or lower PKGSTREAM_SOLVER_CAPACITY" },
  { code: 'JOB_RATE_LIMITED', area: 'kube', retriable: true, meaning: 'The Kubernetes API answered 429: retried after its Retry-After' },
  { code: 'JOB_API_5XX', area: 'kube', retriable: true, meaning: 'The Kubernetes API answered 5xx: retried with backoff' },
  { code: 'JOB_CONFLICT', area: 'kube', retriable: true, meaning: 'The Kubernetes API answered 409 for another reason than an existing Job: retried' },
  { code: 'JOB_GONE', area: 'kube', retriable: true, meaning: 'The Kubernetes API answered 410 (an expired resource version): retried from a new list' },
  { code: 'JOB_FORBIDDEN', area: 'kube', retriable: false, meaning: "The Kubernetes API answered 403: grant pkgstream's service account create, list and watch on Jobs in PKGSTREAM_NAMESPACE" },
  { code: 'JOB_UNAUTHORIZED', area: 'kube', retriable: false, meaning: 'The Kubernetes API answered 401: the credentials of the kubeconfig or service account are not valid' },
  { code: 'JOB_NOT_FOUND', area: 'kube', retriable: false, meaning: 'The Kubernetes API answered 404: check PKGSTREAM_NAMESPACE' },
  { code: 'JOB_INVALID', area: 'kube', retriable: false, meaning: 'The Kubernetes API refused the Job as invalid (422): fix the Job template' },
  { code: 'JOB_REJECTED', area: 'kube', retriable: false, meaning: 'The Kubernetes API answered another 4xx: its message says why' },
  { code: 'JOB_FAILED', area: 'kube', retriable: false, meaning: 'A solver Job failed on each of its runs: an attention item; see the Job\'s logs, then retry it' },

  // The database.
  { code: 'DB_UNAVAILABLE', area: 'store', retriable: true, meaning: 'The database connection was lost or refused: retried; check DATABASE_URL and the server' },
  { code: 'DB_CONFLICT', area: 'store', retriable: true, meaning: 'A database write lost a race (serialization failure, deadlock): retried' },
  { code: 'DB_MIGRATION_FAILED', area: 'store', retriable: false, meaning: 'A schema migration failed (the SQL error follows): the schema stays at the migration before' },
  { code: 'DATA_DIR_LOCKED', area: 'store', retriable: false, meaning: 'Another pkgstream process holds the embedded data directory (PKGSTREAM_DATA_DIR): use its API, stop it, or set DATABASE_URL' },
  { code: 'INDEX_UNKNOWN', area: 'store', retriable: false, meaning: 'A project names an index that is no longer registered: an attention item' },
  { code: 'RELEASE_NOT_FOUND', area: 'store', retriable: false, meaning: 'No release with that id (deleted meanwhile)' },

  // Event sinks and the dispatch pipeline.
  { code: 'SINK_CLOSED', area: 'sink', retriable: false, meaning: 'Events were published after the event sink closed on shutdown: they stay in the outbox for the next start' },
  { code: 'STDOUT_WRITE_FAILED', area: 'sink', retriable: true, meaning: 'Writing events to stdout failed: retried; the events stay in the outbox' },
  { code: 'RELEASE_NOT_STORED', area: 'dispatch', retriable: true, meaning: 'A package-released message names a release whose write is not visible yet: retried' },
  { code: 'DISPATCH_STOPPED', area: 'dispatch', retriable: false, meaning: 'The dispatch pipeline stopped with a write in flight: done again on the next start' },

  // Configuration and the command line.
  { code: 'CONFIG_INVALID', area: 'config', retriable: false, meaning: 'A setting has an invalid value (each problem names its variable or flag): fix it; exit 2' },
  { code: 'OPTION_RANGE', area: 'config', retriable: false, meaning: 'An option out of range (a concurrency, page size, interval or water mark): fix the setting it came from' },
  { code: 'HTTP_PORT_UNAVAILABLE', area: 'config', retriable: false, meaning: 'PKGSTREAM_HTTP_PORT cannot be listened on (in use, or not allowed): choose another port' },
  { code: 'USAGE', area: 'cli', retriable: false, meaning: "A command's arguments are wrong: printed with its usage; exit 2" },

  // The service's own checks, and what has no code.
  { code: 'DEPENDENCY_TIMEOUT', area: 'service', retriable: true, meaning: 'A dependency check got no answer in time: that dependency counts as down until a check answers' },
  { code: 'UNKNOWN', area: 'internal', retriable: false, meaning: 'An error without a code (a bug, or an unclassified library error): its log line has the message and stack' },
] as const satisfies readonly ErrorCodeEntry[];

type Entry = (typeof ERROR_CODES)[number];

export type ErrorCode = Entry['code'];

/** The codes of one area, e.g. `ErrorCodeIn<'index'>` for the index client's. */
export type ErrorCodeIn<A extends ErrorArea> = Extract<Entry, { area: A }>['code'];

/** Codes whose `retriable` is the same for every error (the constructor takes it from here). */
export type FixedRetriableCode = Extract<Entry, { retriable: boolean }>['code'];

/** Codes whose errors each say whether they are retriable. */
export type PerInstanceCode = Extract<Entry, { retriable: 'per-instance' }>['code'];

const BY_CODE: ReadonlyMap<string, Entry> = new Map(ERROR_CODES.map((entry) => [entry.code, entry]));

export function errorCodeEntry(code: ErrorCode): Entry {
  // The map holds every ErrorCode by construction.
  return BY_CODE.get(code) as Entry;
}
