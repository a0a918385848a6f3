import { posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { PIPELINE_NAMES, SETTINGS } from '../../src/runtime/settings.js';
import { run, runsWith } from '../support/tools.js';

/* Just enough of the Kubernetes types to read the rendered manifests. */
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
  privileged?: boolean;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
  containers: Container[];
  volumes?: { name: string; emptyDir?: object; configMap?: { name: string } }[];
  restartPolicy?: string;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: PodSpec;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    strategy?: { type: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    maxUnavailable?: number | string;
    minAvailable?: number | string;
    template?: PodTemplate;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    jobTemplate?: { spec: { template: PodTemplate; activeDeadlineSeconds?: number } };
    concurrencyPolicy?: string;
    ports?: { name: string; port: number; targetPort: number | string }[];
    endpoints?: { port: string; path: string }[];
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
  };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

function render(dir: string): Manifest[] {
  const result = run('kubectl', ['kustomize', dir]);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as Manifest);
}

function one(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  expect(found.map((m) => m.metadata.name), `one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return found[0]!;
}

/** A setting as the container sees it: its env, then the ConfigMaps of its envFrom; undefined = the code's default. */
function settingOf(container: Container, manifests: readonly Manifest[], env: string): string | undefined {
  const direct = container.env?.find((e) => e.name === env);
  if (direct) return direct.value;
  for (const source of container.envFrom ?? []) {
    const configMap = source.configMapRef && one(manifests, 'ConfigMap', source.configMapRef.name);
    const value = configMap?.data?.[env];
    if (value !== undefined) return value;
  }
  return undefined;
}

function expectRestricted(pod: PodSpec, what: string): void {
  expect(pod.securityContext?.runAsNonRoot, `${what}: pod runAsNonRoot`).toBe(true);
  expect(pod.securityContext?.seccompProfile?.type, `${what}: pod seccomp`).toBe('RuntimeDefault');
  for (const container of pod.containers) {
    const sc = container.securityContext ?? {};
    expect(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, `${what}: runAsNonRoot`).toBe(true);
    expect(sc.readOnlyRootFilesystem, `${what}: readOnlyRootFilesystem`).toBe(true);
    expect(sc.allowPrivilegeEscalation, `${what}: allowPrivilegeEscalation`).toBe(false);
    expect(sc.privileged ?? false, `${what}: privileged`).toBe(false);
    expect(sc.capabilities?.drop, `${what}: capabilities.drop`).toEqual(['ALL']);
    expect(sc.capabilities?.add ?? [], `${what}: capabilities.add`).toEqual([]);
    expect((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, `${what}: seccomp`).toBe('RuntimeDefault');
    expect(container.resources?.requests?.cpu && container.resources.requests.memory, `${what}: requests`).toBeTruthy();
    expect(container.resources?.limits?.memory, `${what}: memory limit`).toBeTruthy();
    // A read-only root needs a writable /tmp.
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(tmp && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir, `${what}: emptyDir on /tmp`).toBeTruthy();
  }
}

/** Every ConfigMap a pod refers to (envFrom, env, volumes) is in the output: catches a name the generator's hash did not reach. */
function expectConfigMapsExist(pod: PodSpec, manifests: readonly Manifest[], what: string): void {
  const names = new Set(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => m.metadata.name));
  const refs = [
    ...pod.containers.flatMap((c) => (c.envFrom ?? []).flatMap((e) => (e.configMapRef ? [e.configMapRef.name] : []))),
    ...pod.containers.flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.configMapKeyRef ? [e.valueFrom.configMapKeyRef.name] : []))),
    ...(pod.volumes ?? []).flatMap((v) => (v.configMap ? [v.configMap.name] : [])),
  ];
  for (const ref of refs) expect(names, `${what} refers to ConfigMap ${ref}`).toContain(ref);
}

function portNumber(container: Container, port: number | string | undefined): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}

const PLACEHOLDERS = ['{{project}}', '{{version}}', '{{index_url}}', '{{solver}}'];

describe.skipIf(!runsWith('kubectl'))('kustomize', () => {
  describe.each(['deploy/overlays/example', 'deploy/overlays/cronjob'])('%s', (dir) => {
    let manifests: Manifest[];
    let deployment: Manifest;
    let pod: PodSpec;
    let container: Container;
    let namespace: string | undefined;
    beforeAll(() => {
      manifests = render(dir);
      deployment = one(manifests, 'Deployment', 'pkgstream');
      pod = deployment.spec!.template!.spec;
      container = pod.containers.find((c) => c.name === 'pkgstream')!;
      namespace = deployment.metadata.namespace;
    });

    it('mounts every file path its settings name, in every pod (the Deployment and any CronJob)', () => {
      const pods = manifests.flatMap((m) => {
        if (m.kind === 'Deployment') return [{ what: `Deployment ${m.metadata.name}`, spec: m.spec!.template!.spec }];
        if (m.kind === 'CronJob') return [{ what: `CronJob ${m.metadata.name}`, spec: m.spec!.jobTemplate!.spec.template.spec }];
        return [];
      });
      expect(pods.length).toBeGreaterThan(0);
      for (const { what, spec } of pods) {
        for (const c of spec.containers) {
          const values = [
            ...(c.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value] as const])),
            ...(c.envFrom ?? []).flatMap((source) =>
              source.configMapRef ? Object.entries(one(manifests, 'ConfigMap', source.configMapRef.name).data ?? {}) : [],
            ),
          ];
          const paths = values.filter(([, value]) => value.startsWith('/'));
          for (const [env, path] of paths) {
            const mount = (c.volumeMounts ?? []).find((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
            expect(mount, `${what}: ${env}=${path} is not under any volumeMount`).toBeDefined();
            expect(spec.volumes?.map((v) => v.name), `${what}: volume of ${env}`).toContain(mount?.name);
          }
        }
      }
    });

    it('runs `node dist/cli.js run` directly, not through npm', () => {
      expect(container).toBeDefined();
      expect([...(container.command ?? []), ...(container.args ?? [])]).toEqual(['node', 'dist/cli.js', 'run']);
      expect(container.workingDir).toBe('/app');
    });

    it('serves and probes /livez and /readyz on the port the code listens on', () => {
      const port = Number(settingOf(container, manifests, SETTINGS.httpPort.env) ?? SETTINGS.httpPort.default);
      expect(port).toBe(Number(SETTINGS.httpPort.default));
      expect(container.ports).toContainEqual({ name: 'http', containerPort: port, protocol: 'TCP' });
      expect(container.livenessProbe?.httpGet?.path).toBe('/livez');
      expect(portNumber(container, container.livenessProbe?.httpGet?.port)).toBe(port);
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(portNumber(container, container.readinessProbe?.httpGet?.port)).toBe(port);
    });

    it('gives the drain more time than PKGSTREAM_SHUTDOWN_GRACE before SIGKILL', () => {
      const grace = Number(settingOf(container, manifests, SETTINGS.shutdownGrace.env) ?? SETTINGS.shutdownGrace.default);
      expect(grace).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(grace);
    });

    it('runs restricted: non-root uid 1000, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
      expectRestricted(pod, 'Deployment');
      expect(container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser).toBe(1000);
      const dataDir = settingOf(container, manifests, SETTINGS.dataDir.env);
      expect(dataDir).toMatch(/^\//);
      const data = container.volumeMounts?.find((m) => m.mountPath === dataDir);
      expect(data && pod.volumes?.find((v) => v.name === data.name)?.emptyDir).toBeTruthy();
    });

    it('takes its settings from a ConfigMap and DATABASE_URL from a Secret', () => {
      expectConfigMapsExist(pod, manifests, 'Deployment');
      expect(container.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toMatchObject({ name: expect.any(String) as string });
      expect(settingOf(container, manifests, 'DATABASE_URL')).toBeUndefined();
      for (const env of [SETTINGS.kafkaBrokers.env, SETTINGS.solvers.env, SETTINGS.jobTemplate.env]) {
        expect(settingOf(container, manifests, env), env).toBeTruthy();
      }
      // Solver Jobs go to the pod's own namespace, the one its Role covers.
      expect(container.env?.find((e) => e.name === SETTINGS.namespace.env)?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    });

    it('mounts a batch/v1 solver Job template with the placeholders, restricted and bounded in time', () => {
      const path = settingOf(container, manifests, SETTINGS.jobTemplate.env)!;
      const mount = container.volumeMounts?.find((m) => m.mountPath === posix.dirname(path));
      const volume = pod.volumes?.find((v) => v.name === mount?.name);
      const configMap = one(manifests, 'ConfigMap', volume?.configMap?.name);
      const text = configMap.data?.[posix.basename(path)] ?? '';
      for (const placeholder of PLACEHOLDERS) expect(text).toContain(placeholder);
      const filled = text
        .replaceAll('{{project}}', 'six')
        .replaceAll('{{version}}', '1.10')
        .replaceAll('{{index_url}}', 'https://pypi.org/simple')
        .replaceAll('{{solver}}', 'solver-fedora-38-py311');
      const job = parse(filled) as Manifest;
      expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job' });
      expect(job.spec?.activeDeadlineSeconds).toBe(3000);
      expect(job.spec?.ttlSecondsAfterFinished).toBeGreaterThan(0);
      expect(job.spec?.backoffLimit).toBeGreaterThanOrEqual(0);
      const jobPod = job.spec!.template!.spec;
      expect(jobPod.restartPolicy).toBe('Never');
      expectRestricted(jobPod, 'solver Job');
      // Quoted placeholders stay strings once filled in: 1.10 is not the number 1.1.
      const env = jobPod.containers[0]!.env ?? [];
      expect(env.find((e) => e.name === 'THOTH_SOLVER_PACKAGES')?.value).toBe('six===1.10');
      expect(env.find((e) => e.name === 'THOTH_SOLVER_NAME')?.value).toBe('solver-fedora-38-py311');
    });

    it('runs three replicas on one Postgres database, replaced and evicted one pod at a time', () => {
      expect(deployment.spec?.replicas).toBe(3);
      expect(deployment.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
      // Every replica reads the one database (an embedded one would be a database per pod).
      expect(container.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef?.optional ?? false).toBe(false);
      const budget = one(manifests, 'PodDisruptionBudget');
      expect(budget.apiVersion).toBe('policy/v1');
      expect(budget.spec?.maxUnavailable).toBe(1);
      expect(budget.spec?.minAvailable).toBeUndefined();
      const selector = Object.entries(budget.spec?.selector?.matchLabels ?? {});
      expect(selector.length).toBeGreaterThan(0);
      const podLabels = deployment.spec!.template!.metadata?.labels ?? {};
      for (const [key, value] of selector) expect(podLabels[key], key).toBe(value);
      // Not the update pass's pods of a CronJob: a budget covers one workload.
      for (const cronJob of manifests.filter((m) => m.kind === 'CronJob')) {
        const labels = cronJob.spec!.jobTemplate!.spec.template.metadata?.labels ?? {};
        expect(selector.every(([key, value]) => labels[key] === value), `budget selects CronJob ${cronJob.metadata.name}`).toBe(false);
      }
    });

    // Replicas heartbeat and take their leases in Postgres: no coordination.k8s.io rule.
    it('lets the service account only create, get, list, watch and delete batch Jobs in its namespace', () => {
      const role = one(manifests, 'Role');
      expect(role.rules).toHaveLength(1);
      expect(role.rules![0]!.apiGroups).toEqual(['batch']);
      expect(role.rules![0]!.resources).toEqual(['jobs']);
      expect([...role.rules![0]!.verbs].sort()).toEqual(['create', 'delete', 'get', 'list', 'watch']);
      expect(manifests.filter((m) => m.kind === 'ClusterRole' || m.kind === 'ClusterRoleBinding')).toEqual([]);
      const binding = one(manifests, 'RoleBinding');
      expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace }]);
      expect(one(manifests, 'ServiceAccount', pod.serviceAccountName).metadata.namespace).toBe(namespace);
    });

    it('exposes /metrics through a Service and a ServiceMonitor on the http port', () => {
      const service = one(manifests, 'Service');
      expect(service.spec?.ports).toEqual([expect.objectContaining({ name: 'http', port: Number(SETTINGS.httpPort.default), targetPort: 'http' })]);
      const podLabels = deployment.spec!.template!.metadata?.labels ?? {};
      for (const [key, value] of Object.entries(service.spec?.selector ?? {})) expect(podLabels[key], key).toBe(value);
      const monitor = one(manifests, 'ServiceMonitor');
      expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(monitor.spec?.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
      for (const [key, value] of Object.entries(monitor.spec?.selector?.matchLabels ?? {})) expect(service.metadata.labels?.[key], key).toBe(value);
    });

    it('puts everything in one namespace', () => {
      expect(namespace).toBeTruthy();
      for (const m of manifests.filter((m) => m.kind !== 'Namespace')) expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).toBe(namespace);
    });
  });

  it('example overlay: its namespace, a pinned image and its own settings', () => {
    const manifests = render('deploy/overlays/example');
    const deployment = one(manifests, 'Deployment', 'pkgstream');
    expect(one(manifests, 'Namespace').metadata.name).toBe(deployment.metadata.namespace);
    expect(deployment.metadata.namespace).not.toBe('pkgstream');
    const container = deployment.spec!.template!.spec.containers[0]!;
    expect(container.image).toMatch(/^[^:]+\/pkgstream:[\w.-]+$/);
    expect(settingOf(container, manifests, SETTINGS.kafkaBrokers.env)).toContain(',');
  });

  it('base has no CronJob; the cronjob overlay runs `node dist/cli.js once update` and the Deployment the other pipelines', () => {
    expect(render('deploy/base').filter((m) => m.kind === 'CronJob')).toEqual([]);
    const manifests = render('deploy/overlays/cronjob');
    const cronJob = one(manifests, 'CronJob');
    expect(cronJob.apiVersion).toBe('batch/v1');
    expect(cronJob.spec?.concurrencyPolicy).toBe('Forbid');
    const pod = cronJob.spec!.jobTemplate!.spec.template.spec;
    const container = pod.containers[0]!;
    expect([...(container.command ?? []), ...(container.args ?? [])]).toEqual(['node', 'dist/cli.js', 'once', 'update']);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(settingOf(container, manifests, SETTINGS.shutdownGrace.env) ?? SETTINGS.shutdownGrace.default));
    expectRestricted(pod, 'CronJob');
    expectConfigMapsExist(pod, manifests, 'CronJob');
    expect(container.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toBeTruthy();
    const deployment = one(manifests, 'Deployment', 'pkgstream').spec!.template!.spec.containers[0]!;
    const pipelines = (settingOf(deployment, manifests, SETTINGS.pipelines.env) ?? '').split(',');
    expect(pipelines.sort()).toEqual(PIPELINE_NAMES.filter((name) => name !== 'update').sort());
  });
});
