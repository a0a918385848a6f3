/** Which part of the API a request addresses, and its verb as the apiserver's audit log names it. */
import type { IncomingMessage } from 'node:http';
import { resourceTypeOf, type ResourceType } from './resources.js';

export type Verb = 'create' | 'get' | 'list' | 'watch' | 'update' | 'patch' | 'delete' | 'other';

export type Route =
  | {
      readonly kind: 'resource';
      readonly resource: ResourceType;
      readonly namespace: string | null;
      readonly name: string | null;
      readonly subresource: string | null;
    }
  | { readonly kind: 'access-review' }
  | { readonly kind: 'other' };

const RESOURCE_PATH = /^\/apis\/([^/]+)\/([^/]+)\/(?:(watch)\/)?(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?\/?$/;

export interface RoutedRequest {
  readonly route: Route;
  readonly verb: Verb;
  readonly url: URL;
}

export function routeOf(req: IncomingMessage): RoutedRequest {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  if (url.pathname.replace(/\/$/, '') === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
    return { route: { kind: 'access-review' }, verb: method === 'POST' ? 'create' : 'other', url };
  }
  const match = RESOURCE_PATH.exec(url.pathname);
  if (!match) return { route: { kind: 'other' }, verb: 'other', url };
  const [, group = '', version = '', watchPrefix, ns, plural = '', name, subresource] = match;
  const resource = resourceTypeOf(group, version, plural);
  if (!resource) return { route: { kind: 'other' }, verb: 'other', url };
  const decode = (part: string | undefined) => (part === undefined ? null : decodeURIComponent(part));
  const route = { kind: 'resource' as const, resource, namespace: decode(ns), name: decode(name), subresource: decode(subresource) };
  const watching = watchPrefix !== undefined || url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
  let verb: Verb = 'other';
  if (method === 'GET') verb = route.name !== null ? 'get' : watching ? 'watch' : 'list';
  else if (method === 'POST' && route.name === null) verb = 'create';
  else if (method === 'PUT' && route.name !== null) verb = 'update';
  else if (method === 'PATCH' && route.name !== null) verb = 'patch';
  else if (method === 'DELETE') verb = 'delete';
  return { route, verb, url };
}
