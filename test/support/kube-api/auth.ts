/**
 * Authentication by bearer token and a small RBAC list: a request without a known token is
 * 401, one whose user no rule allows is 403, each as a Status. Health and /version are
 * public, as the apiserver's system:public-info-viewer role makes them; discovery and
 * OpenAPI need any authenticated user (system:discovery).
 */
import type { IncomingMessage } from 'node:http';
import { failure, type StatusBody } from './status.js';

export interface RbacRule {
  /** `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection` or `*`. */
  readonly verbs: readonly string[];
  /** `jobs`, `jobs/status`, `leases` … or `*`. */
  readonly resources: readonly string[];
  /** Default `*`. */
  readonly apiGroups?: readonly string[];
  /** Default every namespace. */
  readonly namespaces?: readonly string[];
}

export interface KubeUser {
  readonly name: string;
  readonly token: string;
  readonly rules: readonly RbacRule[];
}

export interface ResourceAttributes {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
}

export const DEFAULT_USERS: readonly KubeUser[] = [
  { name: 'pkgstream-test', token: 'test-token', rules: [{ verbs: ['*'], resources: ['*'] }] },
];

const PUBLIC_PATHS = /^\/(healthz|livez|readyz|version)(\/.*)?$/;

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.test(path);
}

/** The user a request authenticates as, or the 401 Status. */
export function authenticate(req: IncomingMessage, users: readonly KubeUser[]): KubeUser | StatusBody {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const user = match ? users.find((u) => u.token === match[1]) : undefined;
  return user ?? failure(401, 'Unauthorized');
}

const matches = (list: readonly string[] | undefined, value: string) => list === undefined || list.includes('*') || list.includes(value);

export function allows(user: KubeUser, attributes: ResourceAttributes): boolean {
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  return user.rules.some(
    (rule) =>
      matches(rule.verbs, attributes.verb) &&
      matches(rule.resources, resource) &&
      matches(rule.apiGroups, attributes.group) &&
      (rule.namespaces === undefined || (attributes.namespace !== undefined && rule.namespaces.includes(attributes.namespace))),
  );
}

/** The 403 the apiserver writes when RBAC denies a request. */
export function forbidden(user: KubeUser, attributes: ResourceAttributes, name: string | null): StatusBody {
  const qualified = attributes.group === '' ? attributes.resource : `${attributes.resource}.${attributes.group}`;
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const scope = attributes.namespace === undefined ? 'at the cluster scope' : `in the namespace "${attributes.namespace}"`;
  return failure(403, `${qualified}${name === null ? '' : ` "${name}"`} is forbidden: User "${user.name}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.group}" ${scope}`, {
    details: { ...(name === null ? {} : { name }), group: attributes.group, kind: attributes.resource },
  });
}

/** The answer to a SelfSubjectAccessReview body (authorization.k8s.io/v1). */
export function selfSubjectAccessReview(user: KubeUser, body: Record<string, unknown>): Record<string, unknown> {
  const spec = (body.spec ?? {}) as { resourceAttributes?: Partial<ResourceAttributes>; nonResourceAttributes?: { path?: string; verb?: string } };
  const attributes = spec.resourceAttributes;
  let allowed: boolean;
  if (attributes) {
    allowed = allows(user, {
      verb: attributes.verb ?? '',
      group: attributes.group ?? '',
      resource: attributes.resource ?? '',
      ...(attributes.subresource ? { subresource: attributes.subresource } : {}),
      ...(attributes.namespace ? { namespace: attributes.namespace } : {}),
    });
  } else {
    allowed = spec.nonResourceAttributes?.verb === 'get';
  }
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status: allowed ? { allowed: true, reason: `RBAC: allowed by the peer's rules for user "${user.name}"` } : { allowed: false },
  };
}
