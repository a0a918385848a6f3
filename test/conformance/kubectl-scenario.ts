/**
 * The Kubernetes scenario both clients run against the same local API server: kubectl
 * (kubectl.test.ts) and @kubernetes/client-node (kubectl-client-node.test.ts). One peer
 * per file, over TLS (client-go sends tokens only over TLS), with the built-in Job
 * controller on, an admin token and a read-only `viewer` token.
 */
import { stringify } from 'yaml';
import { startKubeApi, type KubeApi, type KubeUser } from '../support/kube-api/index.js';

export const NAMESPACE = 'conformance';
export const VIEWER_TOKEN = 'viewer-token';
/** How long a Job runs under the peer's controller: long enough to see it Running first. */
export const JOB_RUN_MS = 1500;

const USERS: readonly KubeUser[] = [
  { name: 'conformance-admin', token: 'admin-token', rules: [{ verbs: ['*'], resources: ['*'] }] },
  { name: 'viewer', token: VIEWER_TOKEN, rules: [{ verbs: ['get', 'list', 'watch'], resources: ['jobs'], apiGroups: ['batch'] }] },
];

export function startConformancePeer(): Promise<KubeApi> {
  return startKubeApi({ tls: true, namespace: NAMESPACE, users: USERS, jobController: { runMs: JOB_RUN_MS } });
}

export interface JobManifest {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: { name: string; labels: Record<string, string> };
  spec: { backoffLimit?: number; template: { spec: { restartPolicy: 'Never'; containers: { name: string; image: string; command: string[] }[] } } };
}

/** A Job as a user writes it: no namespace, no selector, no defaults. */
export function jobManifest(name: string, labels: Record<string, string> = { app: 'conformance' }, image = 'busybox:1.36'): JobManifest {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image, command: ['true'] }] } } },
  };
}

export const toYaml = (manifest: unknown): string => stringify(manifest);

/** What the server stored for a created Job: the defaults a real API server fills in. */
export function storedDefaults(api: KubeApi, name: string): Record<string, unknown> {
  const job = api.job(NAMESPACE, name);
  if (!job) throw new Error(`Job ${name} is not stored`);
  const template = job.spec.template as { metadata: { labels: Record<string, string> } };
  return {
    uid: /^[0-9a-f-]{36}$/.test(job.metadata.uid),
    generation: job.metadata.generation,
    backoffLimit: job.spec.backoffLimit,
    completions: job.spec.completions,
    parallelism: job.spec.parallelism,
    completionMode: job.spec.completionMode,
    suspend: job.spec.suspend,
    selector: job.spec.selector,
    jobNameLabel: template.metadata.labels['batch.kubernetes.io/job-name'],
    controllerUid: template.metadata.labels['batch.kubernetes.io/controller-uid'] === job.metadata.uid,
  };
}

export function expectedDefaults(api: KubeApi, name: string): Record<string, unknown> {
  const uid = api.job(NAMESPACE, name)?.metadata.uid;
  return {
    uid: true,
    generation: 1,
    backoffLimit: 6,
    completions: 1,
    parallelism: 1,
    completionMode: 'NonIndexed',
    suspend: false,
    selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
    jobNameLabel: name,
    controllerUid: true,
  };
}
