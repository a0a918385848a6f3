/**
 * The fields each served type declares, for the OpenAPI document and for `fieldValidation`
 * (an unknown field under Strict is a 400, under Warn a Warning header). A node lists its
 * fields; `true` is a field whose inside is not checked (maps, and types whose every field
 * this peer does not list), which keeps a real Job valid while catching misspelled fields
 * at the levels people write by hand.
 */
export type FieldSchema = true | { readonly [field: string]: FieldSchema; };

const fields = (names: string, nested: Record<string, FieldSchema> = {}): Record<string, FieldSchema> => ({
  ...Object.fromEntries(names.split(/\s+/).filter(Boolean).map((name) => [name, true])),
  ...nested,
});

const OBJECT_META = fields('name generateName namespace selfLink uid resourceVersion generation creationTimestamp deletionTimestamp deletionGracePeriodSeconds labels annotations ownerReferences finalizers managedFields');

const CONTAINER = fields(
  'name image command args workingDir ports envFrom env resources resizePolicy restartPolicy volumeMounts volumeDevices livenessProbe readinessProbe startupProbe lifecycle terminationMessagePath terminationMessagePolicy imagePullPolicy securityContext stdin stdinOnce tty',
  { env: true },
);

const POD_SPEC = fields(
  'volumes initContainers ephemeralContainers restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds dnsPolicy nodeSelector serviceAccountName serviceAccount automountServiceAccountToken nodeName hostNetwork hostPID hostIPC shareProcessNamespace securityContext imagePullSecrets hostname subdomain affinity schedulerName tolerations hostAliases priorityClassName priority dnsConfig readinessGates runtimeClassName enableServiceLinks preemptionPolicy overhead topologySpreadConstraints setHostnameAsFQDN os hostUsers schedulingGates resourceClaims resources',
  { containers: CONTAINER },
);

const POD_TEMPLATE = { metadata: OBJECT_META, spec: POD_SPEC };

const JOB_SPEC = fields(
  'parallelism completions activeDeadlineSeconds podFailurePolicy successPolicy backoffLimit backoffLimitPerIndex maxFailedIndexes selector manualSelector ttlSecondsAfterFinished completionMode suspend podReplacementPolicy managedBy',
  { template: POD_TEMPLATE },
);

const TOP = (spec: FieldSchema, status: FieldSchema = true): Record<string, FieldSchema> => ({ apiVersion: true, kind: true, metadata: OBJECT_META, spec, status });

export const SCHEMAS: Readonly<Record<string, FieldSchema>> = {
  Job: TOP(JOB_SPEC),
  Lease: TOP(fields('holderIdentity leaseDurationSeconds acquireTime renewTime leaseTransitions strategy preferredHolder')),
};

/** Paths (`spec.template.spec.containers[0].imagee`) of the fields `value` sets that `schema` does not declare. */
export function unknownFields(value: unknown, schema: FieldSchema, path = ''): string[] {
  if (schema === true || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownFields(item, schema, `${path}[${i}]`));
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => {
    const at = path === '' ? key : `${path}.${key}`;
    const sub = schema[key];
    return sub === undefined ? [at] : unknownFields(child, sub, at);
  });
}
