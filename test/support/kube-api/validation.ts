/** The subset of the API server's object validation that a Job creation goes through. */
import type { StatusCause } from './status.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? null : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== null && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

export function isDns1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkStringMap(value: unknown, field: string, causes: StatusCause[], checkValue?: (v: string) => boolean): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    causes.push({ reason: 'FieldValueInvalid', message: 'must be a map of strings', field });
    return;
  }
  for (const [key, entry] of Object.entries(value)) {
    if (!isQualifiedName(key)) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.'`, field: `${field}` });
    }
    if (typeof entry !== 'string') {
      causes.push({ reason: 'FieldValueTypeInvalid', message: 'must be a string', field: `${field}[${key}]` });
    } else if (checkValue && !checkValue(entry)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(entry)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters`,
        field: `${field}[${key}]`,
      });
    }
  }
}

/** Causes of a 422 for a Job body (empty when valid). `name` is the effective name. */
export function validateJob(job: Record<string, unknown>, name: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!isDns1123Label(name)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc'), at most 63 characters`,
      field: 'metadata.name',
    });
  }
  const metadata = isRecord(job.metadata) ? job.metadata : {};
  checkStringMap(metadata.labels, 'metadata.labels', causes, isLabelValue);
  checkStringMap(metadata.annotations, 'metadata.annotations', causes);
  if (isRecord(metadata.annotations) && JSON.stringify(metadata.annotations).length > ANNOTATIONS_MAX_BYTES) {
    causes.push({ reason: 'FieldValueTooLong', message: 'Too long: must have at most 262144 bytes', field: 'metadata.annotations' });
  }
  const spec = isRecord(job.spec) ? job.spec : null;
  const template = spec && isRecord(spec.template) ? spec.template : null;
  const podSpec = template && isRecord(template.spec) ? template.spec : null;
  if (!podSpec) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec' });
    return causes;
  }
  const containers = Array.isArray(podSpec.containers) ? (podSpec.containers as unknown[]) : [];
  if (containers.length === 0) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers' });
  }
  containers.forEach((container, i) => {
    const c = isRecord(container) ? container : {};
    if (typeof c.name !== 'string' || !isDns1123Label(c.name)) {
      causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: container name', field: `spec.template.spec.containers[${i}].name` });
    }
    if (typeof c.image !== 'string' || c.image.trim() === '') {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.template.spec.containers[${i}].image` });
    }
    if (c.env !== undefined) {
      const env = Array.isArray(c.env) ? (c.env as unknown[]) : [];
      env.forEach((entry, j) => {
        const e = isRecord(entry) ? entry : {};
        if (typeof e.name !== 'string' || e.name === '') {
          causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.template.spec.containers[${i}].env[${j}].name` });
        }
        if (e.value !== undefined && typeof e.value !== 'string') {
          causes.push({ reason: 'FieldValueTypeInvalid', message: 'must be a string', field: `spec.template.spec.containers[${i}].env[${j}].value` });
        }
      });
    }
  });
  const restartPolicy = podSpec.restartPolicy;
  if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') {
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(restartPolicy ?? 'Always')}: supported values: "OnFailure", "Never"`,
      field: 'spec.template.spec.restartPolicy',
    });
  }
  for (const field of ['backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished'] as const) {
    const value = spec?.[field];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
      causes.push({ reason: 'FieldValueInvalid', message: 'must be a non-negative integer', field: `spec.${field}` });
    }
  }
  return causes;
}
