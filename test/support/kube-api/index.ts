/**
 * A local Kubernetes API server for tests: batch/v1 Jobs over real HTTP, enough of the
 * apiserver's behaviour (Status bodies, resourceVersions, label selectors, chunked watch
 * streams, 410 Gone after compaction, quota) that @kubernetes/client-node talks to it as to
 * a cluster. Controls play the Job controller (start, succeed, fail) and inject faults.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { parseLabelSelector, type LabelSelector } from './label-selector.js';
import { failure, success, type StatusBody } from './status.js';
import { validateJob } from './validation.js';

export { parseLabelSelector } from './label-selector.js';
export type { StatusBody } from './status.js';

export type Verb = 'create' | 'get' | 'list' | 'watch' | 'delete' | 'other';

export interface JobCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime: string;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface StoredJob {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    generation: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec: Record<string, unknown>;
  status: {
    active?: number;
    ready?: number;
    succeeded?: number;
    failed?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: JobCondition[];
  };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEvent {
  readonly rv: number;
  readonly type: WatchEventType;
  readonly object: StoredJob;
}

interface Watcher {
  readonly namespace: string | null;
  readonly selector: LabelSelector;
  readonly bookmarks: boolean;
  readonly res: ServerResponse;
  readonly timer: NodeJS.Timeout | null;
}

export interface InjectedFailure {
  /** HTTP status to answer with; 500 by default. */
  readonly status?: number;
  /** Sent as `Retry-After` and `details.retryAfterSeconds`. */
  readonly retryAfterSeconds?: number;
  /** Only requests of these verbs fail (and count down); all verbs by default. */
  readonly verbs?: readonly Verb[];
}

export interface KubeApiOptions {
  readonly port?: number;
  /** Namespace written into kubeConfig()'s context. */
  readonly namespace?: string;
  /** Most active (not Complete/Failed) Jobs per namespace; more is 403 exceeded quota. */
  readonly quota?: Readonly<Record<string, number>>;
  /** Keep only the last N watch events; older resourceVersions answer 410. Unbounded by default. */
  readonly historyLimit?: number;
  /** How a too-old watch is refused: an ERROR event in a 200 stream (as the apiserver does) or HTTP 410. */
  readonly goneMode?: 'event' | 'http';
}

export interface KubeApi {
  readonly url: string;
  stop(): Promise<void>;
  /** A KubeConfig whose current cluster is this server (plain http, TLS verification off). */
  kubeConfig(): KubeConfig;
  /** kubeConfig() written to a temp file (removed on stop), for a child's KUBECONFIG. */
  kubeConfigFile(): string;

  /** Jobs stored, optionally of one namespace, in creation order. */
  jobs(namespace?: string): StoredJob[];
  job(namespace: string, name: string): StoredJob | undefined;
  /** Stores a Job without an HTTP request (no quota, no validation); emits ADDED. */
  seedJob(namespace: string, job: { metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> }): StoredJob;
  /** Controller: the Job's pod started (startTime, active=1). */
  startJob(namespace: string, name: string): StoredJob;
  /** Controller: Complete=True, succeeded=1, active=0, completionTime. */
  succeedJob(namespace: string, name: string): StoredJob;
  /** Controller: Failed=True (BackoffLimitExceeded by default), failed=backoffLimit+1, active=0. */
  failJob(namespace: string, name: string, options?: { reason?: string; message?: string }): StoredJob;
  /** Removes a Job as the TTL controller or a user would; emits DELETED. */
  deleteJob(namespace: string, name: string): boolean;

  /** The current (latest) resourceVersion. */
  resourceVersion(): number;
  /** Forgets every watch event up to now: a watch from an older resourceVersion gets 410. */
  compact(): void;
  setGoneMode(mode: 'event' | 'http'): void;
  /** Sends a BOOKMARK with the current resourceVersion to watches that allow them. */
  bookmark(): void;
  /** Ends every open watch stream: gracefully (end of chunked body) or by destroying the socket. */
  closeWatches(options?: { abrupt?: boolean }): number;
  /** Open watch streams. */
  watchCount(): number;

  /** The next `count` requests (of `verbs`, if given) fail with `status` (500 by default). */
  failNext(count: number, failure?: InjectedFailure): void;
  /** Injected failures not yet used. */
  pendingFailures(): number;
  /** Sets (or with null removes) the active-Job quota of a namespace. */
  setQuota(namespace: string, maxActiveJobs: number | null): void;
  activeJobs(namespace: string): number;

  /** Requests served (including failed and injected-failure ones) by verb. */
  requestCount(verb?: Verb): number;
  requestCounts(): Readonly<Record<Verb, number>>;
  resetCounts(): void;
}

const JOBS_PATH = /^\/apis\/batch\/v1\/(?:namespaces\/([^/]+)\/)?jobs(?:\/([^/]+))?(?:\/(status))?\/?$/;

function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function isFinished(job: StoredJob): boolean {
  return (job.status.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendStatus(res: ServerResponse, status: StatusBody, headers: Record<string, string> = {}): void {
  sendJson(res, status.code, status, headers);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startKubeApi(options: KubeApiOptions = {}): Promise<KubeApi> {
  const jobs = new Map<string, StoredJob>(); // key: `${namespace}/${name}`
  const history: HistoryEvent[] = [];
  const watchers = new Set<Watcher>();
  const quota = new Map<string, number>(Object.entries(options.quota ?? {}));
  const failures: { remaining: number; failure: InjectedFailure }[] = [];
  const counts: Record<Verb, number> = { create: 0, get: 0, list: 0, watch: 0, delete: 0, other: 0 };
  let rv = 1;
  /** Watches from a resourceVersion below this answer 410. */
  let compactedRv = 0;
  let goneMode = options.goneMode ?? 'event';

  const key = (namespace: string, name: string) => `${namespace}/${name}`;

  function activeJobs(namespace: string): number {
    let count = 0;
    for (const job of jobs.values()) if (job.metadata.namespace === namespace && !isFinished(job)) count += 1;
    return count;
  }

  function writeEvent(watcher: Watcher, type: string, object: unknown): void {
    if (!watcher.res.writableEnded && !watcher.res.destroyed) watcher.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  function record(type: WatchEventType, job: StoredJob): void {
    rv += 1;
    job.metadata.resourceVersion = String(rv);
    const object = clone(job);
    history.push({ rv, type, object });
    if (options.historyLimit !== undefined && history.length > options.historyLimit) {
      const dropped = history.splice(0, history.length - options.historyLimit);
      const last = dropped.at(-1);
      if (last) compactedRv = Math.max(compactedRv, last.rv);
    }
    for (const watcher of watchers) {
      if (watcher.namespace !== null && watcher.namespace !== object.metadata.namespace) continue;
      if (!watcher.selector(object.metadata.labels)) continue;
      writeEvent(watcher, type, object);
    }
  }

  function storeNew(namespace: string, body: Record<string, unknown>, name: string): StoredJob {
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    const spec = isRecord(body.spec) ? clone(body.spec) : {};
    const uid = randomUUID();
    const selectorLabels = { 'batch.kubernetes.io/controller-uid': uid };
    const template = isRecord(spec.template) ? spec.template : {};
    const templateMetadata = isRecord(template.metadata) ? template.metadata : {};
    const templateLabels = isRecord(templateMetadata.labels) ? templateMetadata.labels : {};
    spec.template = {
      ...template,
      metadata: {
        ...templateMetadata,
        labels: { ...templateLabels, ...selectorLabels, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name },
      },
    };
    spec.selector ??= { matchLabels: selectorLabels };
    spec.backoffLimit ??= 6;
    spec.completions ??= 1;
    spec.parallelism ??= 1;
    spec.completionMode ??= 'NonIndexed';
    spec.suspend ??= false;
    const job: StoredJob = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        ...clone(metadata),
        name,
        namespace,
        uid,
        resourceVersion: '',
        creationTimestamp: timestamp(),
        generation: 1,
      },
      spec,
      status: {},
    };
    delete job.metadata.generateName;
    jobs.set(key(namespace, name), job);
    record('ADDED', job);
    return job;
  }

  function mustGet(namespace: string, name: string): StoredJob {
    const job = jobs.get(key(namespace, name));
    if (!job) throw new Error(`no Job ${namespace}/${name}`);
    return job;
  }

  function condition(type: string, reason: string, message: string): JobCondition {
    const now = timestamp();
    return { type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message };
  }

  function takeFailure(verb: Verb): InjectedFailure | null {
    const entry = failures.find((f) => f.failure.verbs === undefined || f.failure.verbs.includes(verb));
    if (!entry) return null;
    entry.remaining -= 1;
    if (entry.remaining <= 0) failures.splice(failures.indexOf(entry), 1);
    return entry.failure;
  }

  function listBody(namespace: string | null, selector: LabelSelector) {
    const items = [...jobs.values()]
      .filter((job) => (namespace === null || job.metadata.namespace === namespace) && selector(job.metadata.labels))
      .map(clone);
    return { apiVersion: 'batch/v1', kind: 'JobList', metadata: { resourceVersion: String(rv) }, items };
  }

  function startWatch(res: ServerResponse, namespace: string | null, selector: LabelSelector, params: URLSearchParams): void {
    const fromParam = params.get('resourceVersion');
    const from = fromParam === null || fromParam === '' || fromParam === '0' ? null : Number(fromParam);
    if (from !== null && !Number.isFinite(from)) {
      sendStatus(res, failure(400, `invalid resourceVersion: ${JSON.stringify(fromParam)}`));
      return;
    }
    const gone = from !== null && from < compactedRv;
    const goneStatus = failure(410, `too old resource version: ${from} (${compactedRv})`, { reason: 'Expired' });
    if (gone && goneMode === 'http') {
      sendStatus(res, goneStatus);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    if (gone) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus })}\n`);
      return;
    }
    const timeoutSeconds = Number(params.get('timeoutSeconds') ?? '0');
    const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : null;
    const watcher: Watcher = { namespace, selector, bookmarks: params.get('allowWatchBookmarks') === 'true', res, timer };
    const forget = () => {
      if (watcher.timer) clearTimeout(watcher.timer);
      watchers.delete(watcher);
    };
    // Not req 'close': an IncomingMessage closes once its (empty) body has been read.
    res.on('close', forget);
    const visible = (job: StoredJob) => (namespace === null || job.metadata.namespace === namespace) && selector(job.metadata.labels);
    if (from === null) {
      for (const job of jobs.values()) if (visible(job)) writeEvent(watcher, 'ADDED', clone(job));
    } else {
      for (const event of history) if (event.rv > from && visible(event.object)) writeEvent(watcher, event.type, event.object);
    }
    watchers.add(watcher);
  }

  async function createJob(req: IncomingMessage, res: ServerResponse, namespace: string, params: URLSearchParams): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      sendStatus(res, failure(400, 'the request body is not valid JSON'));
      return;
    }
    if (!isRecord(body) || body.kind !== 'Job' || body.apiVersion !== 'batch/v1') {
      sendStatus(res, failure(400, 'the object is not a batch/v1 Job'));
      return;
    }
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    if (typeof metadata.namespace === 'string' && metadata.namespace !== namespace) {
      sendStatus(res, failure(400, 'the namespace of the provided object does not match the namespace sent on the request'));
      return;
    }
    let name = typeof metadata.name === 'string' ? metadata.name : '';
    if (name === '' && typeof metadata.generateName === 'string') {
      name = `${metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
    }
    if (name === '') {
      sendStatus(res, failure(422, 'Job.batch "" is invalid: metadata.name: Required value: name or generateName is required', {
        details: { group: 'batch', kind: 'Job', causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }] },
      }));
      return;
    }
    const causes = validateJob(body, name);
    if (causes.length > 0) {
      const summary = causes.map((c) => `${c.field ?? ''}: ${c.message}`).join(', ');
      sendStatus(res, failure(422, `Job.batch ${JSON.stringify(name)} is invalid: ${summary}`, { details: { name, group: 'batch', kind: 'Job', causes } }));
      return;
    }
    if (jobs.has(key(namespace, name))) {
      sendStatus(res, failure(409, `jobs.batch ${JSON.stringify(name)} already exists`, { details: { name, group: 'batch', kind: 'jobs' } }));
      return;
    }
    const limit = quota.get(namespace);
    const used = limit === undefined ? 0 : activeJobs(namespace); // a walk of every Job: only when it matters
    if (limit !== undefined && used >= limit) {
      sendStatus(res, failure(403, `jobs.batch ${JSON.stringify(name)} is forbidden: exceeded quota: pkgstream-jobs, requested: count/jobs.batch=1, used: count/jobs.batch=${used}, limited: count/jobs.batch=${limit}`, {
        details: { name, group: 'batch', kind: 'jobs' },
      }));
      return;
    }
    if (params.get('dryRun') === 'All') {
      sendJson(res, 201, { ...body, metadata: { ...metadata, name, namespace, uid: randomUUID() } });
      return;
    }
    sendJson(res, 201, clone(storeNew(namespace, body, name)));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const params = url.searchParams;
    const match = JOBS_PATH.exec(url.pathname);
    const method = req.method ?? 'GET';
    const watching = params.get('watch') === 'true' || params.get('watch') === '1';
    const namespace = match?.[1] === undefined ? null : decodeURIComponent(match[1]);
    const name = match?.[2] === undefined ? null : decodeURIComponent(match[2]);
    let verb: Verb = 'other';
    if (match && method === 'POST' && name === null && namespace !== null) verb = 'create';
    else if (match && method === 'GET' && name !== null) verb = 'get';
    else if (match && method === 'GET') verb = watching ? 'watch' : 'list';
    else if (match && method === 'DELETE' && name !== null && namespace !== null) verb = 'delete';
    counts[verb] += 1;

    const injected = takeFailure(verb);
    if (injected) {
      req.resume();
      const status = injected.status ?? 500;
      const retryAfter = injected.retryAfterSeconds;
      const message = status === 429 ? 'Too many requests, please try again later.' : `injected failure (${status})`;
      sendStatus(res, failure(status, message, retryAfter === undefined ? {} : { details: { retryAfterSeconds: retryAfter } }), retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
      return;
    }
    if (verb === 'other') {
      req.resume();
      if (url.pathname === '/version') {
        sendJson(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-pkgstream-test' });
        return;
      }
      sendStatus(res, match ? failure(405, `the server does not allow this method on the requested resource`) : failure(404, 'the server could not find the requested resource'));
      return;
    }
    let selector: LabelSelector;
    try {
      selector = parseLabelSelector(params.get('labelSelector'));
    } catch (error) {
      req.resume();
      sendStatus(res, failure(400, `unable to parse requirement: ${(error as Error).message}`));
      return;
    }
    switch (verb) {
      case 'create':
        await createJob(req, res, namespace ?? 'default', params);
        return;
      case 'get': {
        req.resume();
        const job = jobs.get(key(namespace ?? '', name ?? ''));
        if (!job || namespace === null) sendStatus(res, failure(404, `jobs.batch ${JSON.stringify(name)} not found`, { details: { name: name ?? '', group: 'batch', kind: 'jobs' } }));
        else sendJson(res, 200, clone(job));
        return;
      }
      case 'list':
        req.resume();
        sendJson(res, 200, listBody(namespace, selector));
        return;
      case 'watch':
        req.resume();
        startWatch(res, namespace, selector, params);
        return;
      case 'delete': {
        req.resume();
        const job = jobs.get(key(namespace ?? '', name ?? ''));
        if (!job) {
          sendStatus(res, failure(404, `jobs.batch ${JSON.stringify(name)} not found`, { details: { name: name ?? '', group: 'batch', kind: 'jobs' } }));
          return;
        }
        removeJob(job);
        sendJson(res, 200, success({ name: job.metadata.name, group: 'batch', kind: 'jobs', uid: job.metadata.uid }));
        return;
      }
    }
  }

  function removeJob(job: StoredJob): void {
    jobs.delete(key(job.metadata.namespace, job.metadata.name));
    record('DELETED', job);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendStatus(res, failure(500, `internal error: ${(error as Error).message}`));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  function closeWatches(closeOptions: { abrupt?: boolean } = {}): number {
    const count = watchers.size;
    for (const watcher of [...watchers]) {
      if (watcher.timer) clearTimeout(watcher.timer);
      watchers.delete(watcher);
      if (closeOptions.abrupt) watcher.res.socket?.destroy();
      else watcher.res.end();
    }
    return count;
  }

  const kubeConfig = (): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'pkgstream-test', server: url, skipTLSVerify: true }],
      users: [{ name: 'pkgstream-test', token: 'test-token' }],
      contexts: [{ name: 'pkgstream-test', cluster: 'pkgstream-test', user: 'pkgstream-test', namespace: options.namespace ?? 'default' }],
      currentContext: 'pkgstream-test',
    });
    return kc;
  };
  const tempDirs: string[] = [];
  return {
    url,
    async stop() {
      closeWatches({ abrupt: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    },
    kubeConfig,
    kubeConfigFile() {
      const dir = mkdtempSync(join(tmpdir(), 'pkgstream-kubeconfig-'));
      tempDirs.push(dir);
      const file = join(dir, 'kubeconfig.json');
      writeFileSync(file, kubeConfig().exportConfig());
      return file;
    },
    jobs(namespace) {
      return [...jobs.values()].filter((job) => namespace === undefined || job.metadata.namespace === namespace).map(clone);
    },
    job(namespace, name) {
      const job = jobs.get(key(namespace, name));
      return job ? clone(job) : undefined;
    },
    seedJob(namespace, body) {
      const full = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: body.metadata,
        spec: body.spec ?? { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } },
      };
      return clone(storeNew(namespace, full, body.metadata.name));
    },
    startJob(namespace, name) {
      const job = mustGet(namespace, name);
      job.status.startTime ??= timestamp();
      job.status.active = 1;
      job.status.ready = 0;
      record('MODIFIED', job);
      return clone(job);
    },
    succeedJob(namespace, name) {
      const job = mustGet(namespace, name);
      const now = timestamp();
      job.status.startTime ??= now;
      job.status.active = 0;
      job.status.ready = 0;
      job.status.succeeded = 1;
      job.status.completionTime = now;
      job.status.conditions = [
        ...(job.status.conditions ?? []),
        condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        condition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
      ];
      record('MODIFIED', job);
      return clone(job);
    },
    failJob(namespace, name, failOptions = {}) {
      const job = mustGet(namespace, name);
      job.status.startTime ??= timestamp();
      job.status.active = 0;
      job.status.ready = 0;
      const backoffLimit = typeof job.spec.backoffLimit === 'number' ? job.spec.backoffLimit : 6;
      job.status.failed = backoffLimit + 1;
      const reason = failOptions.reason ?? 'BackoffLimitExceeded';
      const message = failOptions.message ?? 'Job has reached the specified backoff limit';
      job.status.conditions = [...(job.status.conditions ?? []), condition('FailureTarget', reason, message), condition('Failed', reason, message)];
      record('MODIFIED', job);
      return clone(job);
    },
    deleteJob(namespace, name) {
      const job = jobs.get(key(namespace, name));
      if (!job) return false;
      removeJob(job);
      return true;
    },
    resourceVersion: () => rv,
    compact() {
      compactedRv = rv;
      history.length = 0;
    },
    setGoneMode(mode) {
      goneMode = mode;
    },
    bookmark() {
      for (const watcher of watchers) {
        if (watcher.bookmarks) writeEvent(watcher, 'BOOKMARK', { apiVersion: 'batch/v1', kind: 'Job', metadata: { resourceVersion: String(rv) } });
      }
    },
    closeWatches,
    watchCount: () => watchers.size,
    failNext(count, injected = {}) {
      if (count > 0) failures.push({ remaining: count, failure: injected });
    },
    pendingFailures: () => failures.reduce((sum, f) => sum + f.remaining, 0),
    setQuota(namespace, maxActiveJobs) {
      if (maxActiveJobs === null) quota.delete(namespace);
      else quota.set(namespace, maxActiveJobs);
    },
    activeJobs,
    requestCount(verb) {
      return verb === undefined ? Object.values(counts).reduce((a, b) => a + b, 0) : counts[verb];
    },
    requestCounts: () => ({ ...counts }),
    resetCounts() {
      for (const verb of Object.keys(counts) as Verb[]) counts[verb] = 0;
    },
  };
}
