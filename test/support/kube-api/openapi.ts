/**
 * OpenAPI v3 as the apiserver publishes it: /openapi/v3 lists one document per group
 * version, each with the resource's paths and schemas. kubectl reads the PATCH operation's
 * `fieldValidation` parameter to decide that the server validates fields (so it sends
 * `fieldValidation=Strict` instead of validating from OpenAPI v2 itself).
 */
import { createHash } from 'node:crypto';
import { RESOURCE_TYPES, apiVersionOf, type ResourceType } from './resources.js';
import { SCHEMAS, type FieldSchema } from './schemas.js';

const param = (name: string, description: string) => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });
const WRITE_PARAMS = [
  param('dryRun', 'When present, indicates that modifications should not be persisted.'),
  param('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  param('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields: Ignore, Warn or Strict.'),
];
const LIST_PARAMS = ['allowWatchBookmarks', 'continue', 'fieldSelector', 'labelSelector', 'limit', 'resourceVersion', 'resourceVersionMatch', 'sendInitialEvents', 'timeoutSeconds', 'watch'].map((name) => param(name, name));

function schemaOf(node: FieldSchema): Record<string, unknown> {
  if (node === true) return {};
  return { type: 'object', properties: Object.fromEntries(Object.entries(node).map(([key, child]) => [key, schemaOf(child)])) };
}

const schemaName = (type: ResourceType) => `io.k8s.api.${type.group.split('.')[0]}.${type.version}.${type.kind}`;

function documentOf(type: ResourceType): Record<string, unknown> {
  const gvk = { group: type.group, version: type.version, kind: type.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(type)}` };
  const json = { 'application/json': { schema: ref }, 'application/yaml': { schema: ref } };
  const ok = { 200: { description: 'OK', content: json } };
  const op = (action: string, extra: Record<string, unknown>) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, responses: ok, ...extra });
  const base = `/apis/${apiVersionOf(type)}/namespaces/{namespace}/${type.plural}`;
  const patchBody = { content: Object.fromEntries(['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'].map((media) => [media, { schema: { type: 'object' } }])), required: true };
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: {
      [base]: {
        get: op('list', { parameters: LIST_PARAMS }),
        post: op('post', { parameters: WRITE_PARAMS, requestBody: { content: json, required: true } }),
      },
      [`${base}/{name}`]: {
        get: op('get', {}),
        put: op('put', { parameters: WRITE_PARAMS, requestBody: { content: json, required: true } }),
        patch: op('patch', { parameters: [...WRITE_PARAMS, param('force', 'Force is going to "force" Apply requests.')], requestBody: patchBody }),
        delete: op('delete', { parameters: [param('dryRun', 'dry run'), param('propagationPolicy', 'Orphan, Background or Foreground')] }),
      },
    },
    components: { schemas: { [schemaName(type)]: { ...schemaOf(SCHEMAS[type.kind] ?? true), 'x-kubernetes-group-version-kind': [gvk] } } },
  };
}

const DOCUMENTS = new Map(RESOURCE_TYPES.map((type) => [`apis/${apiVersionOf(type)}`, JSON.stringify(documentOf(type))]));
const hashOf = (text: string) => createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase();

/** The OpenAPI v3 answer for `path` (`/openapi/v3` or `/openapi/v3/apis/<g>/<v>`), or null. */
export function openApiDocument(path: string): string | null {
  if (path === '/openapi/v3' || path === '/openapi/v3/') {
    const paths = Object.fromEntries([...DOCUMENTS].map(([key, text]) => [key, { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(text)}` }]));
    return JSON.stringify({ paths });
  }
  const key = path.replace(/^\/openapi\/v3\//, '');
  return path.startsWith('/openapi/v3/') ? (DOCUMENTS.get(key) ?? null) : null;
}
