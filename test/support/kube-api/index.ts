/**
 * A local Kubernetes API server for tests and demos: batch/v1 Jobs and
 * coordination.k8s.io/v1 Leases over real HTTP, with enough of the apiserver's behaviour
 * (discovery, OpenAPI v3, health, tokens and RBAC, Status bodies, resourceVersions,
 * selectors, paging, watch with bookmarks and 410 Gone, PUT/PATCH/server-side apply,
 * dry-run, Tables) that both @kubernetes/client-node and kubectl talk to it as to a cluster.
 * Controls play the Job controller (start, succeed, fail) and inject faults; an optional
 * built-in controller finishes Jobs by itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { activeJobs } from './admission.js';
import { DEFAULT_USERS, type KubeUser } from './auth.js';
import { sendStatus } from './http.js';
import { startJobController, type JobControllerOptions } from './job-controller.js';
import { tallyJobs } from './job-tally.js';
import { failJob, startJob, succeedJob } from './job-status.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { clone, type KubeObject, type StoredJob } from './objects.js';
import { JOBS, LEASES } from './resources.js';
import type { Verb } from './route.js';
import { createHandler, type InjectedFailure } from './router.js';
import { failure } from './status.js';
import { createStore } from './store.js';
import { TLS_CERT, TLS_KEY } from './tls.js';
import type { OpenWatch } from './watch.js';
import { createObject } from './writes.js';

export { parseLabelSelector } from './label-selector.js';
export type { StatusBody } from './status.js';
export type { JobCondition, KubeObject, StoredJob } from './objects.js';
export type { WatchEventType } from './store.js';
export type { KubeUser, RbacRule } from './auth.js';
export type { InjectedFailure } from './router.js';
export type { Verb } from './route.js';
export { OUTCOME_ANNOTATION } from './job-controller.js';

export interface KubeApiOptions {
  readonly port?: number;
  /** Serve https with the fixture certificate (kubectl sends tokens only over TLS); plain http by default. */
  readonly tls?: boolean;
  /** Namespace written into kubeConfig()'s context. */
  readonly namespace?: string;
  /** Most active (not Complete/Failed) Jobs per namespace; more is 403 exceeded quota. */
  readonly quota?: Readonly<Record<string, number>>;
  /** Keep only the last N watch events; older resourceVersions answer 410. Unbounded by default. */
  readonly historyLimit?: number;
  /** How a too-old watch is refused: an ERROR event in a 200 stream (as the apiserver does) or HTTP 410. */
  readonly goneMode?: 'event' | 'http';
  /** Tokens and their RBAC rules; default one user `pkgstream-test` (token `test-token`) allowed everything. */
  readonly users?: readonly KubeUser[];
  /** Finish Jobs by themselves after `runMs` (off by default: tests drive Jobs). */
  readonly jobController?: JobControllerOptions;
  /** Period of BOOKMARK events on watches that allow them; default 60 s, as the apiserver. */
  readonly bookmarkIntervalMs?: number;
  /** Called with one line per request (method, path, status, and a Status's message). */
  readonly log?: (line: string) => void;
}

export interface KubeApi {
  readonly url: string;
  stop(): Promise<void>;
  /** A KubeConfig whose current cluster is this server (its CA over https; over http, TLS verification off). */
  kubeConfig(): KubeConfig;
  /** A kubeconfig file (removed on stop), for a child's KUBECONFIG or kubectl's --kubeconfig. */
  kubeConfigFile(options?: { token?: string; insecureSkipTlsVerify?: boolean }): string;

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
  /** Leases stored (of one namespace, if given). */
  leases(namespace?: string): KubeObject[];

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
  /** The most Jobs of the namespace active (not Complete or Failed) at once since the server started. */
  maxActiveJobs(namespace: string): number;
  /** Successful creates per Job name of the namespace since the server started (a 409 is none). */
  jobCreates(namespace: string): Map<string, number>;

  /** Requests served (including failed and injected-failure ones) by verb. */
  requestCount(verb?: Verb): number;
  requestCounts(): Readonly<Record<Verb, number>>;
  resetCounts(): void;
}

export async function startKubeApi(options: KubeApiOptions = {}): Promise<KubeApi> {
  const store = createStore(options.historyLimit);
  const tally = tallyJobs(store);
  const quota = new Map<string, number>(Object.entries(options.quota ?? {}));
  const failures: { remaining: number; failure: InjectedFailure }[] = [];
  const counts: Record<Verb, number> = { create: 0, get: 0, list: 0, watch: 0, update: 0, patch: 0, delete: 0, other: 0 };
  const watches = new Set<OpenWatch>();
  const users = options.users ?? DEFAULT_USERS;
  const namespace = options.namespace ?? 'default';
  let goneMode = options.goneMode ?? 'event';
  let url = '';

  const handle = createHandler({
    write: { store, quota },
    users,
    watches,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    log: options.log ?? null,
    goneMode: () => goneMode,
    serverAddress: () => new URL(url).host,
    count: (verb) => void (counts[verb] += 1),
    takeFailure(verb) {
      const entry = failures.find((f) => f.failure.verbs === undefined || f.failure.verbs.includes(verb));
      if (!entry) return null;
      entry.remaining -= 1;
      if (entry.remaining <= 0) failures.splice(failures.indexOf(entry), 1);
      return entry.failure;
    },
  });
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      options.log?.(`internal error on ${req.method} ${req.url}: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) sendStatus(res, failure(500, `internal error: ${(error as Error).message}`));
      else res.destroy();
    });
  };
  const server = options.tls ? createTlsServer({ cert: TLS_CERT, key: TLS_KEY }, listener) : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stopController = options.jobController ? startJobController(store, options.jobController) : () => {};

  function closeWatches(closeOptions: { abrupt?: boolean } = {}): number {
    const count = watches.size;
    for (const watch of [...watches]) {
      watches.delete(watch);
      watch.close(closeOptions.abrupt ?? false);
    }
    return count;
  }

  const token = users[0]?.token ?? 'test-token';
  const kubeConfig = (): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml({ server: url, token, namespace }));
    return kc;
  };
  const tempDirs: string[] = [];
  const asJob = (object: KubeObject | undefined) => (object ? (clone(object) as StoredJob) : undefined);
  return {
    url,
    async stop() {
      stopController();
      closeWatches({ abrupt: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    },
    kubeConfig,
    kubeConfigFile(fileOptions = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'pkgstream-kubeconfig-'));
      tempDirs.push(dir);
      const file = join(dir, 'kubeconfig.yaml');
      writeFileSync(file, kubeconfigYaml({ server: url, token: fileOptions.token ?? token, namespace, ...fileOptions }), { mode: 0o600 });
      return file;
    },
    jobs: (ns) => store.created(JOBS, ns ?? null).map((job) => clone(job) as StoredJob),
    job: (ns, name) => asJob(store.get(JOBS, ns, name)),
    seedJob(ns, body) {
      const spec = body.spec ?? { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } };
      const created = createObject({ store, quota: new Map() }, { resource: JOBS, namespace: ns, name: null, subresource: null }, { metadata: body.metadata, spec }, { params: new URLSearchParams({ fieldValidation: 'Ignore' }), manager: 'seed' });
      if (created.code !== 201) throw new Error(`seedJob ${ns}/${body.metadata.name}: ${JSON.stringify(created.body)}`);
      return clone(created.body) as StoredJob;
    },
    startJob: (ns, name) => startJob(store, ns, name),
    succeedJob: (ns, name) => succeedJob(store, ns, name),
    failJob: (ns, name, failOptions) => failJob(store, ns, name, failOptions),
    deleteJob: (ns, name) => store.remove(JOBS, ns, name) !== undefined,
    leases: (ns) => store.created(LEASES, ns ?? null).map(clone),
    resourceVersion: () => store.resourceVersion(),
    compact: () => store.compact(),
    setGoneMode(mode) {
      goneMode = mode;
    },
    bookmark() {
      for (const watch of watches) watch.bookmark();
    },
    closeWatches,
    watchCount: () => watches.size,
    failNext(count, injected = {}) {
      if (count > 0) failures.push({ remaining: count, failure: injected });
    },
    pendingFailures: () => failures.reduce((sum, f) => sum + f.remaining, 0),
    setQuota(ns, maxActiveJobs) {
      if (maxActiveJobs === null) quota.delete(ns);
      else quota.set(ns, maxActiveJobs);
    },
    activeJobs: (ns) => activeJobs(store, ns),
    maxActiveJobs: (ns) => tally.maxActive(ns),
    jobCreates: (ns) => tally.creates(ns),
    requestCount: (verb) => (verb === undefined ? Object.values(counts).reduce((a, b) => a + b, 0) : counts[verb]),
    requestCounts: () => ({ ...counts }),
    resetCounts() {
      for (const verb of Object.keys(counts) as Verb[]) counts[verb] = 0;
    },
  };
}
