/**
 * Legacy (unaggregated) discovery as the apiserver serves it: /api, /apis and one
 * APIResourceList per group version, plus /version. Content-Type is plain
 * application/json, so kubectl's request for aggregated discovery falls back to these.
 */
import { RESOURCE_TYPES, apiVersionOf, type ResourceType } from './resources.js';

export const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-pkgstream-test', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64' };

interface GroupVersion {
  readonly group: string;
  readonly version: string;
  readonly resources: readonly Record<string, unknown>[];
}

const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function resourceEntries(type: ResourceType): Record<string, unknown>[] {
  const main = {
    name: type.plural,
    singularName: type.singular,
    namespaced: true,
    kind: type.kind,
    verbs: RESOURCE_VERBS,
    ...(type.shortNames.length > 0 ? { shortNames: type.shortNames } : {}),
    ...(type.categories.length > 0 ? { categories: type.categories } : {}),
  };
  if (!type.statusSubresource) return [main];
  return [main, { name: `${type.plural}/status`, singularName: '', namespaced: true, kind: type.kind, verbs: ['get', 'patch', 'update'] }];
}

const GROUP_VERSIONS: readonly GroupVersion[] = [
  ...RESOURCE_TYPES.map((type) => ({ group: type.group, version: type.version, resources: resourceEntries(type) })),
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    resources: [{ name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] }],
  },
];

/** The discovery document at `path`, or null when the path is not a discovery path. */
export function discoveryDocument(path: string, serverAddress: string): unknown {
  const trimmed = path.replace(/\/+$/, '');
  // No core (v1) resources are served: an empty version list, not an empty v1 (which kubectl reports as broken).
  if (trimmed === '/api') return { kind: 'APIVersions', versions: [], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  if (trimmed === '/apis') {
    const groups = [...new Set(GROUP_VERSIONS.map((gv) => gv.group))].map((name) => {
      const versions = GROUP_VERSIONS.filter((gv) => gv.group === name).map((gv) => ({ groupVersion: `${name}/${gv.version}`, version: gv.version }));
      return { name, versions, preferredVersion: versions[0] };
    });
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }
  const match = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(trimmed);
  if (!match) return null;
  const [, group = '', version] = match;
  const versions = GROUP_VERSIONS.filter((gv) => gv.group === group);
  if (versions.length === 0) return null;
  if (version === undefined) {
    const list = versions.map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
    return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: list, preferredVersion: list[0] };
  }
  const gv = versions.find((entry) => entry.version === version);
  return gv ? { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(gv), resources: gv.resources } : null;
}
